// SPDX-License-Identifier: MIT
// One direction of a socket: the light thread waiting on it and the token of its wait.
#pragma once

#include "base/errors.hpp"
#include "sched/runtime.hpp"

#include <cstdint>

namespace lasio {

struct wait_slot {
    thread_ptr th;
    std::uint32_t token = 0;

    /// Makes th (which has just yielded) this slot's waiter, on target, for up to timeout seconds.
    void begin(runtime& rt, light_thread& th_, wait_target* target, double timeout) {
        th = th_.shared_from_this();
        token = rt.begin_wait(th_, wait_kind::io, target, timeout);
    }
};

/**
 * Empties the slot; its thread's wait ends with nil, "closed", resumed later in the loop (close
 * and __gc never resume synchronously). Once the runtime is closing, the thread is only forgotten.
 */
inline void end_wait_closed(runtime& rt, wait_slot& s) {
    if (s.th == nullptr) return;
    thread_ptr th = std::move(s.th);
    std::uint32_t token = s.token;
    s = {};
    if (lua_State* co = rt.claim(*th, token)) {
        push_fail(co, err::closed);
        rt.make_ready(*th);
    }
}

} // namespace lasio
