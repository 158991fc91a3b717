// SPDX-License-Identifier: MIT
// The way into a runtime's loop from other OS threads: tasks posted to run on it, and wake-ups.
#pragma once

#include "sched/unique_function.hpp"

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

namespace lasio {

namespace net = boost::asio;

class runtime;

/**
 * The only part of a runtime that other OS threads may touch. Shared: the runtime holds one
 * reference and hands out more (runtime::mailbox()), which may outlive it. Once the runtime has
 * closed, every call is refused and returns false. Closing takes the same mutex as a call, so a
 * call in progress on another thread finishes before the runtime's io_context can go.
 *
 * Tasks run on the loop's thread, in the order they were posted, from a handler of the loop
 * (inside run, run_for or poll), so they may resume light threads. They must not throw. A task
 * refused is destroyed by the caller before post returns; a task accepted but never run (the
 * runtime closed first) is destroyed by the thread that closes the Lua state. Either way its
 * captures are destroyed exactly once, outside the mailbox's lock.
 *
 * Tasks accepted and not yet run are work of the runtime: run() does not return before they ran.
 */
class loop_mailbox : public std::enable_shared_from_this<loop_mailbox> {
public:
    using task = unique_function<void()>;

    /// Made by the runtime (see runtime::mailbox()); io must outlive close().
    loop_mailbox(runtime& rt, net::io_context& io) : rt_(&rt), io_(&io) {}
    loop_mailbox(const loop_mailbox&) = delete;
    loop_mailbox& operator=(const loop_mailbox&) = delete;

    /// Any thread: queues fn to run on the loop's thread; false once the runtime has closed
    /// (or no memory was left to queue it).
    bool post(task fn) { return enqueue(&fn, false); }
    /**
     * Any thread: makes the runtime's running run() or run_for() return (after the batch of
     * handlers it runs now); when none runs, the next one returns after running what is ready
     * (a wake-up is never lost between a host's check of its own input and its next wait).
     * poll() leaves it for the next wait. False once the runtime has closed.
     */
    bool wake() { return enqueue(nullptr, true); }
    /// Any thread: whether the runtime has closed (every call is refused from then on).
    bool closed() const;

    // The owning runtime's side (the loop's thread only) ---------------------------------------

    /// Whether tasks or a wake-up wait for the loop to take them.
    bool busy() const { return posted_.load(std::memory_order_acquire); }
    /// Refuses every later call and destroys the tasks never run. Before the io_context goes.
    void close();
    /// At the end of a poll that ran a batch: posts the handler for the tasks queued since.
    void repost_after_poll();
    /**
     * Around a spin-wait of the loop (runtime::spin_for_mailbox): while spinning, a post
     * queues its task without posting a handler; end_spin returns whether it did, and then the
     * loop runs the batch itself (deliver()) outside any handler.
     */
    void begin_spin() { spinning_.store(true, std::memory_order_seq_cst); }
    bool end_spin();
    /// Runs the tasks queued so far (the handler's body; also called directly after end_spin).
    void deliver();

private:
    bool enqueue(task* fn, bool wake);

    mutable std::mutex mutex_;
    runtime* rt_;                      // guarded by mutex_; null once closed
    net::io_context* io_;              // guarded by mutex_; null once closed
    std::vector<task> queued_;         // guarded by mutex_
    bool wake_ = false;                // guarded by mutex_
    std::atomic<bool> posted_{false};  // deliver is queued in the io_context (written under mutex_)
    std::atomic<bool> spinning_{false}; // the loop spin-waits for a post (written by it only)
    bool direct_ = false;              // guarded by mutex_: posted while spinning, no handler
    std::vector<task> running_;        // the loop's thread only: the batch deliver runs
};

} // namespace lasio
