// SPDX-License-Identifier: MIT
// One direction of a socket: the light thread waiting on it and the token of its wait.
#pragma once

#include "base/errors.hpp"
#include "sched/runtime.hpp"

#include <cstdint>
#include <utility>

namespace lasio {

/// A waiter claimed for its results: the thread, and the stack its results go on (null when
/// there was no waiter, or its wait had already ended).
struct claimed_waiter {
    thread_ptr th;
    lua_State* co = nullptr;
};

struct wait_slot {
    thread_ptr th;
    std::uint32_t token = 0;
    /// The slot's owner's to use: 4 bytes the slot would otherwise pad with (a stream keeps its
    /// waiting reader's byte count here). The slot itself never reads or clears it.
    std::uint32_t owner_word = 0;

    /// Forgets the waiter without claiming it (its wait ended otherwise); owner_word stays.
    void forget() {
        th = nullptr;
        token = 0;
    }

    /// Makes th (which has just yielded) this slot's waiter, on target, for up to timeout seconds.
    void begin(runtime& rt, light_thread& th_, wait_target* target, double timeout) {
        th = th_.shared_from_this();
        token = rt.begin_wait(th_, wait_kind::io, target, timeout);
    }

    /**
     * Empties the slot and claims its waiter. Always before making the results: making them
     * allocates, a finalizer may run and close the object, and it must find nobody to wake.
     */
    claimed_waiter take(runtime& rt) {
        claimed_waiter w{std::move(th), nullptr};
        std::uint32_t t = token;
        th = nullptr;
        token = 0;
        if (w.th != nullptr) w.co = rt.claim(*w.th, t);
        return w;
    }
};

/**
 * Empties the slot and ends its wait now (from an Asio handler only): true, or nil and ec's
 * string. A wait that already ended otherwise (timeout, kill) is left alone.
 */
inline void finish_wait(runtime& rt, wait_slot& s, const error_code& ec) {
    claimed_waiter w = s.take(rt);
    if (w.co == nullptr) return;
    if (ec) push_fail(w.co, ec);
    else lua_pushboolean(w.co, 1);
    rt.resume_now(*w.th);
}

/**
 * Empties the slot; its thread's wait ends with nil, "closed", resumed later in the loop (close
 * and __gc never resume synchronously). Once the runtime is closing, the thread is only forgotten.
 */
inline void end_wait_closed(runtime& rt, wait_slot& s) {
    if (s.th == nullptr) return;
    claimed_waiter w = s.take(rt);
    if (w.co == nullptr) return;
    push_fail(w.co, err::closed);
    rt.make_ready(*w.th);
}

/**
 * An operation exactly one light thread waits for (a connect, a resolution): its deadline or a
 * kill abandons it and the waiter gets nil, "timeout"; _close_all abandons it too. The waiter is
 * taken out before its results are made (see take_waiter), so an abandon that a finalizer runs
 * meanwhile finds nobody to forget.
 */
class single_wait_op : public io_object {
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
    /// Takes the waiter out and claims its wait (see wait_slot::take).
    claimed_waiter take_waiter() { return waiter_.take(*rt_); }

private:
    wait_slot waiter_;
};

} // namespace lasio
