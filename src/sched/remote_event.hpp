// SPDX-License-Identifier: MIT
// A wait target that other OS threads signal: a light thread parks on it, and a signal from any
// thread hands it results made on the loop's thread.
#pragma once

#include "sched/runtime.hpp"
#include "sched/unique_function.hpp"
#include "sched/wait_slot.hpp"

#include <deque>
#include <memory>

namespace lasio {

class remote_event;

namespace detail {
/// What an event shares with the threads that signal it: the way into its loop, and the event
/// while it lives (read and cleared on the loop's thread only, where signals arrive).
struct remote_link {
    std::shared_ptr<loop_mailbox> mailbox;
    remote_event* event = nullptr;
};
} // namespace detail

/**
 * The side of a remote_event that other OS threads hold. Copyable; any thread may use, copy and
 * drop it, and it may outlive the event and the event's runtime.
 */
class remote_signal {
public:
    /// Pushes the results of one wait onto the stack it is given, on the event's loop thread.
    using delivery = unique_function<void(lua_State*)>;

    remote_signal() = default;
    /**
     * Any thread: sends deliver to the event's loop. There it ends the wait of the light thread
     * parked on the event: deliver pushes what the wait returns (the values are made by the
     * loop's thread, in its Lua state) and the thread resumes. A delivery that arrives while no
     * thread waits is kept for the next wait, which returns it at once; deliveries reach waits
     * in the order they were signalled, one per wait. Returns false once the runtime has closed
     * (deliver is then destroyed here, unrun). A delivery accepted but never run (the event was
     * closed or destroyed first, or the runtime closed) is destroyed unrun on the loop's thread.
     */
    bool signal(delivery deliver) const;
    explicit operator bool() const { return link_ != nullptr; }

private:
    friend class remote_event;
    explicit remote_signal(std::shared_ptr<detail::remote_link> link) : link_(std::move(link)) {}
    std::shared_ptr<detail::remote_link> link_;
};

/**
 * The loop's side: lives and dies on its runtime's OS thread, like the light thread that waits
 * on it, and is the base for shared channels and offload (a light thread parks here while
 * another OS thread works). One light thread waits at a time. A waiting thread counts as work
 * of the runtime: run() keeps running while it waits for another thread's signal.
 */
class remote_event final : public io_object {
public:
    explicit remote_event(runtime_ptr rt);
    /// Ends a wait still going on with nil, "closed" (as close does).
    ~remote_event() override;

    /// The handle to give other OS threads.
    remote_signal signal_handle() const { return remote_signal(link_); }

    /**
     * Called by the running light thread th (coroutine L) with the event's userdata at idx:
     * returns (the number of values pushed) what the first kept delivery pushes, at once, or
     * yields until a signal delivers, up to timeout seconds (< 0: no limit; then nil,
     * "timeout"). nil, "closed" once the event is closed. Raises where L cannot yield, and when
     * another light thread waits on the event already. Return its value from the C function.
     */
    int wait(lua_State* L, int idx, light_thread& th, double timeout);
    /// Ends the wait going on (nil, "closed", resumed later in the loop), drops the deliveries
    /// kept, and makes later waits return nil, "closed" and later signals go unrun.
    void close();
    bool closed() const { return closed_; }
    /// Whether a light thread waits on the event now.
    bool waited_on() const { return waiter_.th != nullptr; }
    /// Deliveries kept for the next waits.
    std::size_t kept() const { return kept_.size(); }

    int cancel_wait(light_thread& th, lua_State* co) override;
    void release_io() override;
    void close_from_runtime() override { close(); }

private:
    friend class remote_signal;
    /// A signal arrived in the loop (from the mailbox's handler).
    void on_signal(remote_signal::delivery deliver);
    /// Empties the waiter slot, which stops counting as the runtime's work.
    claimed_waiter take_waiter();
    /// Unlinks from the signallers: signals still on their way find no event and go unrun.
    void unlink();

    std::shared_ptr<detail::remote_link> link_;
    wait_slot waiter_;
    std::deque<remote_signal::delivery> kept_;
    bool closed_ = false;
};

} // namespace lasio
