// SPDX-License-Identifier: MIT
// The loop's entry points (poll, run, run_for, stop, wake-ups): the io_context runs for as long
// as the runtime's own count of work says, and is never stopped or restarted as a whole.
#include "sched/runtime.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>

namespace lasio {

namespace {

/// Timeouts beyond this are treated as this long, so the clock arithmetic cannot overflow.
constexpr double max_timeout_seconds = 1e9;

/**
 * Thrown by leave_loop's handler to end a run. Asio lets an exception from a handler out of
 * io_context::run (or poll) in the thread that called it, and the context needs no restart()
 * after: a run ends without stopping the io_context, which would stop every other run of a
 * context shared with a host.
 */
struct loop_exit {};

/// Marks the loop as running for as long as one of the entry points below is on the stack.
struct loop_guard {
    bool& flag;
    explicit loop_guard(bool& f) : flag(f) { flag = true; }
    ~loop_guard() { flag = false; }
};

/// Sets a value for one scope; the previous one comes back however the scope is left.
template <class T>
struct scoped_set {
    T& var;
    T old;
    scoped_set(T& v, T value) : var(v), old(v) { var = value; }
    ~scoped_set() { var = old; }
};

} // namespace

bool runtime::has_work() const {
    return stats_.pending != 0 || !ready_.empty() || deadlines_->size() != 0 || release_posted_ ||
           remote_waits_ != 0 || mailbox_->busy();
}

double runtime::next_deadline() const {
    if (!ready_.empty() || drain_posted_ || release_posted_ || mailbox_->busy()) return 0;
    return deadlines_->seconds_to_next();
}

void runtime::stop() {
    stop_requested_ = true;
    // run_for looks at the flag after every handler, and stop() is called from one.
    if (mode_ == loop_mode::run || mode_ == loop_mode::poll) leave_loop();
}

void runtime::wake_up() {
    wake_requested_ = true;
    if (mode_ == loop_mode::run) leave_loop();
}

void runtime::leave_loop() {
    if (leave_posted_ || closing_) return;
    net::post(*io_, [this] { on_leave(); });
    leave_posted_ = true; // after: a post that throws (no memory) leaves it to the next one
}

void runtime::on_leave() {
    leave_posted_ = false;
    // Re-checked here: work may have come since the handler was posted (the handlers before it
    // spawned threads, another OS thread posted), and then the run goes on.
    if ((mode_ == loop_mode::run && should_leave()) || (mode_ == loop_mode::poll && stop_requested_))
        throw loop_exit{};
}

std::size_t runtime::poll_ready() {
    // io_context::poll also runs what its handlers post, and each drain of a thread that keeps
    // yielding posts the next: poll would never return. One batch of ready threads per poll.
    std::size_t n = 0;
    {
        scoped_set<loop_mode> mode(mode_, loop_mode::poll);
        try {
            n = io_->poll();
        } catch (const loop_exit&) { // asio.stop(): the handlers it ran are not counted
        }
    }
    if (drain_deferred_) {
        drain_deferred_ = false;
        post_drain();
    }
    if (mailbox_held_) {
        mailbox_held_ = false;
        mailbox_->repost_after_poll();
    }
    return n;
}

std::size_t runtime::poll() {
    loop_guard guard(in_loop_);
    return poll_ready();
}

void runtime::run() {
    loop_guard guard(in_loop_);
    stop_requested_ = false; // a stop outside a run stops nothing
    if (!should_leave()) {
        // No check between handlers (io_context::run_one per handler costs a thread context
        // and a mutex round trip each, 6% of an echo round trip): the handler that ends the
        // last of the work calls check_idle, and leave_loop's handler throws us out of run.
        scoped_set<loop_mode> mode(mode_, loop_mode::run);
        try {
            io_->run(); // returns by itself only if someone else stops the io_context
        } catch (const loop_exit&) {
        }
    }
    wake_requested_ = false;
}

void runtime::run_for(double seconds) {
    loop_guard guard(in_loop_);
    // run_one_until alone would run nothing for a timeout of 0 (or any that has passed on
    // entry): what is ready runs first, then the wait for more.
    stop_requested_ = false;
    poll_ready();
    if (seconds > 0 && !should_leave()) {
        // One handler at a time, checking between them: a host calls this once a frame with a
        // few handlers to run, where throwing out of run (and a timer for the time limit) would
        // cost more than run_one does.
        auto until = steady_clock::now() + std::chrono::duration_cast<steady_clock::duration>(
                                                std::chrono::duration<double>(std::min(seconds, max_timeout_seconds)));
        scoped_set<loop_mode> mode(mode_, loop_mode::run_for);
        while (io_->run_one_until(until) != 0 && !should_leave()) {
        }
    }
    wake_requested_ = false;
}

} // namespace lasio
