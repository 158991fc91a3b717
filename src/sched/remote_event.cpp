// SPDX-License-Identifier: MIT
// Remote events: waits that other OS threads end, through the loop's mailbox.
#include "sched/remote_event.hpp"

#include "base/errors.hpp"

namespace lasio {

bool remote_signal::signal(delivery deliver) const {
    if (link_ == nullptr) return false;
    // The task holds the link, never the event: the event lives on the loop's thread, and only
    // there is it looked up, when the task runs.
    return link_->mailbox->post([link = link_, deliver = std::move(deliver)]() mutable {
        if (link->event != nullptr) link->event->on_signal(std::move(deliver));
    });
}

remote_event::remote_event(runtime_ptr rt)
    : io_object(std::move(rt)), link_(std::make_shared<detail::remote_link>()) {
    link_->mailbox = rt_->mailbox();
    link_->event = this;
}

remote_event::~remote_event() {
    if (rt_->closing()) release_io();
    else close();
}

int remote_event::wait(lua_State* L, int idx, light_thread& th, double timeout) {
    if (waiter_.th != nullptr) luaL_error(L, "wait: another light thread is waiting on this event");
    if (closed_) return push_fail(L, err::closed);
    if (!kept_.empty() && rt_->take_fast_path()) {
        remote_signal::delivery deliver = std::move(kept_.front());
        kept_.pop_front();
        int top = lua_gettop(L);
        deliver(L);
        return lua_gettop(L) - top;
    }
    int suspended = rt_->yield_holding(L, idx); // raises where L cannot yield: nothing done yet
    if (kept_.empty()) {
        waiter_.begin(*rt_, th, this, timeout);
        rt_->remote_wait_begins();
        return suspended;
    }
    // Out of turns without yielding: the kept delivery comes through the ready queue, after the
    // other threads had theirs.
    lua_State* co = rt_->claim(th, rt_->begin_wait(th, wait_kind::io, this, -1));
    remote_signal::delivery deliver = std::move(kept_.front());
    kept_.pop_front();
    deliver(co);
    rt_->make_ready(th);
    return suspended;
}

void remote_event::on_signal(remote_signal::delivery deliver) {
    if (closed_) return;
    // Claimed before the results are made: making them allocates, and a finalizer run there may
    // close the event, which must then find nobody to wake.
    claimed_waiter w = take_waiter();
    if (w.co == nullptr) {
        try {
            kept_.push_back(std::move(deliver));
        } catch (...) { // no memory: the signal is lost, as a failed signal() would have been
        }
        return;
    }
    deliver(w.co);
    rt_->resume_now(*w.th); // the mailbox's handler runs this: a resume from the loop
}

claimed_waiter remote_event::take_waiter() {
    if (waiter_.th == nullptr) return {};
    rt_->remote_wait_ends();
    return waiter_.take(*rt_);
}

int remote_event::cancel_wait(light_thread&, lua_State* co) {
    if (waiter_.th != nullptr) {
        waiter_ = {};
        rt_->remote_wait_ends();
    }
    return co != nullptr ? push_fail(co, err::timeout) : 0;
}

void remote_event::close() {
    if (closed_) return;
    closed_ = true;
    unlink();
    kept_.clear();
    claimed_waiter w = take_waiter();
    if (w.co == nullptr) return;
    push_fail(w.co, err::closed);
    rt_->make_ready(*w.th); // close never resumes from inside the call
}

void remote_event::release_io() {
    closed_ = true;
    unlink();
    if (waiter_.th != nullptr) {
        waiter_ = {};
        rt_->remote_wait_ends();
    }
    kept_.clear();
}

void remote_event::unlink() { link_->event = nullptr; }

} // namespace lasio
