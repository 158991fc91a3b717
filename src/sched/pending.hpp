// SPDX-License-Identifier: MIT
// The count of Asio operations in flight on the scripts' behalf (asio._stats().pending), kept by
// the handlers themselves.
#pragma once

#include "sched/runtime.hpp"

#include <utility>

namespace lasio {

/**
 * Wraps an operation's completion handler: counts the operation from the moment it is started
 * until its handler runs, or is destroyed unrun (lua_close drops the handlers it never ran).
 * The count is back down before the handler's body runs, so what the handler resumes sees only
 * the operations still in flight.
 */
template <class Handler>
class counted_handler {
public:
    counted_handler(runtime& rt, Handler handler) : stats_(&rt.stats()), handler_(std::move(handler)) {
        ++stats_->pending;
    }
    counted_handler(counted_handler&& other) noexcept
        : stats_(std::exchange(other.stats_, nullptr)), handler_(std::move(other.handler_)) {}
    counted_handler(const counted_handler&) = delete;
    counted_handler& operator=(const counted_handler&) = delete;
    counted_handler& operator=(counted_handler&&) = delete;
    ~counted_handler() {
        if (stats_ != nullptr) --stats_->pending;
    }

    template <class... Args>
    void operator()(Args&&... args) {
        if (runtime_stats* s = std::exchange(stats_, nullptr)) --s->pending;
        handler_(std::forward<Args>(args)...);
    }

private:
    runtime_stats* stats_;
    Handler handler_;
};

/// handler, counted in asio._stats().pending until it runs (see counted_handler).
template <class Handler>
counted_handler<Handler> counted(runtime& rt, Handler handler) {
    return counted_handler<Handler>(rt, std::move(handler));
}

} // namespace lasio
