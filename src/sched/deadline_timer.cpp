// SPDX-License-Identifier: MIT
// Deadlines: adding, forgetting, arming the timer, and firing the ones that passed.
#include "sched/deadline_timer.hpp"

#include "base/errors.hpp"
#include "sched/runtime.hpp"

#include <algorithm>

namespace lasio {

namespace {

/// Timeouts beyond this are treated as this long, so the clock arithmetic cannot overflow.
constexpr double max_timeout_seconds = 1e9;

} // namespace

void deadline_timer::add(light_thread& th, double timeout) {
    auto delay = std::chrono::duration_cast<steady_clock::duration>(
        std::chrono::duration<double>(std::min(timeout, max_timeout_seconds)));
    deadlines_.push(th, steady_clock::now() + delay);
    if (deadlines_.top() == &th) arm();
}

double deadline_timer::seconds_to_next() const {
    if (deadlines_.empty()) return -1;
    auto left = deadlines_.top_deadline() - steady_clock::now();
    return std::max(0.0, std::chrono::duration<double>(left).count());
}

void deadline_timer::shut_down() {
    deadlines_.clear();
    timer_.reset();
}

void deadline_timer::remove(light_thread& th) {
    deadlines_.remove(th);
    if (deadlines_.empty() && armed_ && !rt_.closing()) {
        // Nothing left to time: let run() return instead of waiting for a stale expiry.
        armed_ = false;
        ++generation_;
        timer_->cancel();
    }
}

void deadline_timer::arm() {
    steady_clock::time_point when = deadlines_.top_deadline();
    if (armed_ && armed_for_ <= when) return;
    armed_ = true;
    armed_for_ = when;
    timer_->expires_at(when);
    // Holds the runtime (and with it this timer): on a host's io_context the handler may run after
    // lua_close.
    timer_->async_wait([this, keep = rt_.shared_from_this(), generation = ++generation_](const error_code&) {
        if (rt_.closing() || generation != generation_) return;
        armed_ = false;
        on_expiry();
    });
}

void deadline_timer::on_expiry() {
    steady_clock::time_point now = steady_clock::now();
    while (!deadlines_.empty() && deadlines_.top_deadline() <= now) {
        light_thread* th = deadlines_.top();
        deadlines_.remove(*th);
        rt_.fire_timeout(*th);
    }
    if (!deadlines_.empty()) arm();
}

} // namespace lasio
