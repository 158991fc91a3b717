// SPDX-License-Identifier: MIT
// The deadlines of waiting light threads, and the one steady_timer that wakes the loop for the
// earliest of them.
#pragma once

#include "sched/deadline_queue.hpp"
#include "sched/light_thread.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <optional>

namespace lasio {

namespace net = boost::asio;

/**
 * One timer for all deadlines, re-armed only when the earliest one moves earlier: a wait with a
 * timeout costs a heap push, not a timer of its own. A thread whose deadline passes is handed to
 * the runtime's fire_timeout.
 */
class deadline_timer {
public:
    deadline_timer(runtime& rt, net::io_context& io) : rt_(rt) { timer_.emplace(io); }
    deadline_timer(const deadline_timer&) = delete;
    deadline_timer& operator=(const deadline_timer&) = delete;

    /// Gives th a deadline timeout seconds from now (clamped so the clock cannot overflow).
    void add(light_thread& th, double timeout);
    /// Drops th's deadline, if it has one.
    void forget(light_thread& th) {
        if (th.heap_index_ != light_thread::npos) remove(th);
    }
    std::size_t size() const { return deadlines_.size(); }
    /// Seconds until the earliest deadline (0 if it has passed), or -1 when there is none.
    double seconds_to_next() const;
    /// Forgets every deadline and destroys the timer; for teardown, which runs no handler after.
    void shut_down();

private:
    void remove(light_thread& th);
    void arm();
    void on_expiry();

    runtime& rt_;
    deadline_queue deadlines_;
    std::optional<net::steady_timer> timer_;
    bool armed_ = false;
    steady_clock::time_point armed_for_{};
    std::uint64_t generation_ = 0; // a cancelled wait's handler finds it changed
};

} // namespace lasio
