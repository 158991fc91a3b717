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
 * Empties the slot and ends its wait now (from an Asio handler only): true, or nil and ec's
 * string. A wait that already ended otherwise (timeout, kill) is left alone.
 */
inline void finish_wait(runtime& rt, wait_slot& s, const error_code& ec) {
    thread_ptr th = std::move(s.th);
    std::uint32_t token = s.token;
    s = {};
    lua_State* co = rt.claim(*th, token);
    if (co == nullptr) return;
    if (ec) push_fail(co, ec);
    else lua_pushboolean(co, 1);
    rt.resume_now(*th);
}

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

namespace lasio {

/**
 * An operation exactly one light thread waits for (a connect, a resolution): its deadline or a
 * kill abandons it and the waiter gets nil, "timeout"; _close_all abandons it too. The waiter is
 * taken out before its results are made (see take_waiter), so an abandon that a finalizer runs
 * meanwhile finds nobody to forget.
 */
class single_wait_op : public io_object, public wait_target {
public:
    using io_object::io_object;

    int cancel_wait(light_thread&, lua_State* co) override {
        abandon();
        return co != nullptr ? push_fail(co, err::timeout) : 0;
    }
    void close_from_runtime() override { abandon(); }

protected:
    /// Stops the operation and forgets the waiter; its completion, if any, finds nobody.
    virtual void abandon() = 0;

    void set_waiter(light_thread& th, std::uint32_t token) {
        waiter_.th = th.shared_from_this();
        waiter_.token = token;
    }
    bool has_waiter() const { return waiter_.th != nullptr; }
    void forget_waiter() { waiter_ = {}; }
    /// Takes the waiter out and claims its wait: {thread, results stack}, or a null stack when
    /// there is no waiter or its wait already ended.
    std::pair<thread_ptr, lua_State*> take_waiter() {
        wait_slot w = std::move(waiter_);
        waiter_ = {};
        lua_State* co = w.th != nullptr ? rt_->claim(*w.th, w.token) : nullptr;
        return {std::move(w.th), co};
    }

private:
    wait_slot waiter_;
};

} // namespace lasio
