// SPDX-License-Identifier: MIT
// The runtime's scheduler: spawning, records, waits and their results, resuming, ending, killing.
#include "sched/runtime.hpp"

#include "base/errors.hpp"
#include "base/lua_bridge.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <cstdlib>

namespace lasio {

namespace {

/// Consecutive calls a thread may complete without yielding before it must let others run.
constexpr int fast_path_budget = 64;
/// Ready threads resumed per turn of the loop before I/O is polled again.
constexpr int ready_batch = 256;
/// Ended coroutines left in their anchor slots for new threads to take over (see
/// free_anchor_slot): enough for a burst of short threads spawned in a loop.
constexpr std::size_t max_stale_anchors = 1024;

} // namespace

// --- light threads ---------------------------------------------------------------------------

int runtime::spawn(lua_State* L, int nargs, int anchors) {
    // Always a new coroutine: its identity is the thread's handle, never to be handed on.
    lua_State* co = lua_newthread(L); // stack: fn args... co
    // A new stack has room for LUA_MINSTACK values, as any stack handed to C code does. (The
    // error is raised on L: co is not running.)
    if (nargs + 1 > LUA_MINSTACK && !lua_checkstack(co, nargs + 1))
        luaL_error(L, "too many arguments");
    int anchor = anchors_.take();
    if (anchors != 0) {
        lua_rawseti(L, anchors, anchor); // stack: fn args...
        lua_xmove(L, co, nargs + 1);
        lua_rawgeti(L, anchors, anchor); // stack: co
    } else {
        lua_State* A = anchors_.stack();
        lua_xmove(L, A, 1);
        lua_rawseti(A, 1, anchor);
        lua_xmove(L, co, nargs + 1);
        lua_rawgeti(A, 1, anchor);
        lua_xmove(A, L, 1);
    }
    anchors_[anchor].co = co;
    queue_first_resume(anchor);
    return anchor;
}

int runtime::reserve_spawn_slot() noexcept {
    try {
        return anchors_.reserve();
    } catch (...) {
        return 0;
    }
}

int runtime::commit_spawn_slot(int anchor) noexcept {
    if (!anchors_.reserved(anchor))
        return 0; // not a slot reserve_spawn_slot gave out (or _close_all took it back)
    try {
        ready_.reserve_one(); // the one step that allocates, before anything changes
    } catch (...) {
        return -1;
    }
    anchors_.commit(anchor);
    // The coroutine is in the table, stored by the caller; slot_coroutine reads it when needed.
    try {
        queue_first_resume(anchor);
    } catch (...) {
        // Only posting the drain can fail here: the thread is queued, the next post runs it.
    }
    return 1;
}

void runtime::queue_first_resume(int anchor) {
    anchors_.link_unstarted(anchor);
    ++stats_.threads;
    enqueue(anchor);
}

void runtime::promote_unstarted() {
    while (int anchor = anchors_.first_unstarted()) {
        if (anchors_.coroutine(anchor) != nullptr) {
            promote(anchor); // unlinks it
        } else { // not a coroutine: the slot was written by something else than spawn
            anchors_.unlink_unstarted(anchors_[anchor]);
            free_anchor_slot(anchor);
        }
    }
}

light_thread& runtime::spawn_with_record(lua_State* L, int nargs) {
    return promote(spawn(L, nargs));
}

light_thread& runtime::promote(int anchor) {
    anchor_table::slot& slot = anchors_[anchor];
    lua_State* co = anchors_.coroutine(anchor);
    auto* th = new light_thread(co, anchor);
    // The index first: should it fail to grow, the slot is left as it was.
    try {
        index_.insert(anchor);
    } catch (...) {
        delete th;
        throw;
    }
    intrusive_ptr_add_ref(th); // for its life: release gives it back
    anchors_.unlink_unstarted(slot);
    slot.set_record(th);
    if (co == running_co_) {
        th->started_ = true;
        th->status_ = thread_status::running;
        running_ = th;
        // run_recordless holds this across the rest of the run: the thread may end (kill
        // itself) before the resume returns.
        promoted_running_ = th->shared_from_this();
    }
    return *th;
}

light_thread* runtime::find(lua_State* co) {
    if (int anchor = index_.find(co)) return anchors_[anchor].record();
    if (co == running_co_) return &promote(running_anchor_);
    // Only a coroutine that has not started and holds its function could be queued for its
    // first resume (ended threads, the common miss, hold an end mark).
    lua_Debug ar;
    if (anchors_.first_unstarted() == 0 || lua_status(co) != 0 || lua_gettop(co) == 0 ||
        ended_outcome(co) != thread_outcome::none || lua_getstack(co, 0, &ar) != 0)
        return nullptr;
    // co may be queued for its first resume, without a record. Give every such thread one at
    // once: each is promoted at most once, so however often handles miss, this costs O(1) per
    // spawn, and spawning needs no map from coroutine to slot.
    promote_unstarted();
    int anchor = index_.find(co);
    return anchor != 0 ? anchors_[anchor].record() : nullptr;
}

void runtime::push_anchors(lua_State* L) { anchors_.push_array(L); }

light_thread& runtime::current(lua_State* L, const char* fn) {
    if (running_co_ == L) return running_ != nullptr ? *running_ : promote(running_anchor_);
    luaL_error(L, "%s: not called from a light thread", fn);
    return *running_; // not reached
}

std::uint32_t runtime::begin_wait(light_thread& th, wait_kind kind, wait_target* target,
                                  double timeout) {
    th.status_ = thread_status::waiting;
    th.kind_ = kind;
    th.target_ = target;
    ++th.token_;
    if (timeout >= 0) deadlines_->add(th, timeout);
    return th.token_;
}

lua_State* runtime::claim(light_thread& th, std::uint32_t token) {
    if (th.status_ != thread_status::waiting || th.token_ != token || closing_) return nullptr;
    deadlines_->forget(th);
    th.target_ = nullptr;
    th.kind_ = wait_kind::none;
    th.status_ = thread_status::ready;
    ++th.token_;
    th.results_base_ = lua_gettop(results_);
    // An idle results stack has LUA_MINSTACK free slots; one in use (nested claims, a finalizer
    // running on it) may not.
    if (th.results_base_ != 0) lua_checkstack(results_, LUA_MINSTACK);
    return results_;
}

bool runtime::hand_over(light_thread& th) {
    int base = th.results_base_;
    int n = lua_gettop(results_) - base;
    // Killed while its results were being made (a finalizer run by their allocation).
    if (!th.alive() || th.status_ != thread_status::ready) {
        lua_settop(results_, base);
        return false;
    }
    lua_State* co = th.co_;
    lua_settop(co, 0); // what it yielded: the object it waited on
    if (n == 0) return true;
    // A suspended stack has LUA_MINSTACK free slots above its base; only a join's results can
    // be more.
    if (n > LUA_MINSTACK && !lua_checkstack(co, n)) {
        lua_settop(results_, base);
        lua_pushboolean(co, 0);
        lua_pushliteral(co, "too many results to keep");
        return true;
    }
    lua_xmove(results_, co, n);
    return true;
}

void runtime::post_drain() {
    // The runtime, not this: on a host's io_context the handler may run after lua_close.
    net::post(*io_, [self = shared_from_this()] { self->drain_ready(); });
    drain_posted_ = true; // after: a post that throws (no memory) leaves it to the next one
}

void runtime::drain_ready() {
    // drain_posted_ stays set while draining: threads made ready now join this batch.
    if (closing_) return;
    // Resume up to a batch of ready threads before the loop looks at I/O again: each look is an
    // epoll_wait system call, too dear to pay per resume, while a bounded batch keeps I/O prompt.
    draining_ = true;
    // run_recordless reads coroutines spawned from Lua onto anchors_ and leaves them there
    // (they stay anchored in their slots): one pop for the batch instead of one each.
    lua_State* A = anchors_.stack();
    lua_checkstack(A, ready_batch);
    for (int budget = ready_batch; budget > 0 && !ready_.empty(); --budget) {
        ready_entry entry = ready_.pop_front();
        const anchor_table::slot& slot = anchors_[entry.anchor];
        if (slot.generation != entry.generation) continue; // ended (killed) since it was queued
        light_thread* th = slot.record();
        if (th == nullptr) run_recordless(entry.anchor);
        else if (th->status_ == thread_status::ready) resume(*th);
    }
    draining_ = false;
    drain_posted_ = false;
    lua_settop(A, 1);
    // Ended coroutines left in their slots: a bounded few while threads keep coming, none
    // once the queue is empty.
    anchors_.clear_stale(ready_.empty() ? 0 : max_stale_anchors);
    if (ready_.empty()) return;
    if (mode_ == loop_mode::poll) drain_deferred_ = true;
    else post_drain();
}

int runtime::bounce(lua_State* L, light_thread& th, int nresults) {
    int suspended = lua_yield(L, nresults); // raises where L cannot yield: change nothing before
    th.status_ = thread_status::ready;
    return suspended;
}

void runtime::resume(light_thread& th) {
    thread_ptr keep = th.shared_from_this();
    lua_State* co = th.co_;
    int nargs = lua_gettop(co);
    if (!th.started_) {
        th.started_ = true;
        --nargs; // the function itself sits below its arguments
    }
    th.status_ = thread_status::running;
    running_state outer = enter(co, th.anchor_, &th);
    int rc = lua_resume(co, nargs);
    leave(outer);
    after_resume(th, rc);
}

void runtime::run_recordless(int anchor) { // from drain_ready only
    anchor_table::slot& slot = anchors_[anchor];
    anchors_.unlink_unstarted(slot);
    lua_State* co = slot.co;
    if (co == nullptr) { // spawned from Lua: read it (drain_ready pops what this pushes)
        lua_State* A = anchors_.stack();
        lua_rawgeti(A, 1, anchor);
        co = slot.co = lua_tothread(A, -1);
        if (co == nullptr) { // not a coroutine: the slot was written by something else
            free_anchor_slot(anchor);
            return;
        }
    }
    int nargs = lua_gettop(co) - 1;
    running_state outer = enter(co, anchor, nullptr);
    int rc = lua_resume(co, nargs);
    // Returned, as most short threads do: nothing else to record than the end mark. (An empty
    // stack has room for it: any stack has room for LUA_MINSTACK values.)
    bool no_results = rc == 0 && lua_gettop(co) == 0;
    if (running_ == nullptr && rc == 0 && (no_results || lua_checkstack(co, 1))) {
        leave(outer);
        push_end_mark(co, thread_outcome::returned);
        free_anchor_slot(anchor, no_results);
        return;
    }
    if (running_ == nullptr) promote(anchor);
    thread_ptr th = std::move(promoted_running_);
    leave(outer);
    after_resume(*th, rc);
}

runtime::running_state runtime::enter(lua_State* co, int anchor, light_thread* th) {
    running_state outer{running_co_, running_anchor_, running_};
    running_co_ = co;
    running_anchor_ = anchor;
    running_ = th;
    fast_budget_ = fast_path_budget;
    return outer;
}

void runtime::leave(const running_state& outer) {
    running_co_ = outer.co;
    running_anchor_ = outer.anchor;
    running_ = outer.th;
}

void runtime::after_resume(light_thread& th, int rc) {
    if (rc == LUA_YIELD) {
        switch (th.status_) {
        case thread_status::running: // a plain coroutine.yield(): treat it as asio.yield()
            lua_settop(th.co_, 0);
            th.status_ = thread_status::ready;
            enqueue(th.anchor_);
            break;
        case thread_status::ready: // bounce(): the yielded values are the call's results
            enqueue(th.anchor_);
            break;
        default: // waiting, or dead because it killed itself
            break;
        }
        return;
    }
    finish(th, rc);
}

void runtime::finish(light_thread& th, int resume_status) {
    lua_State* co = th.co_;
    if (resume_status == 0) {
        // The results stay on the coroutine's stack, where join finds them.
        end(th, thread_outcome::returned);
        return;
    }
    std::string msg = describe_error(co);
    // Describing runs the error object's __tostring, which may have killed the thread: then it
    // has ended already, as killed.
    if (!th.alive()) return;
    // The traceback allocates, and a finalizer it runs may kill the thread, which unanchors the
    // coroutine: aux_ holds it while its stack is walked.
    if (!lua_checkstack(co, 1)) lua_settop(co, 1);
    lua_pushthread(co);
    lua_xmove(co, aux_, 1);
    luaL_traceback(aux_, co, msg.c_str(), 0);
    lua_remove(aux_, -2);
    if (!th.alive()) {
        lua_pop(aux_, 1);
        return;
    }
    lua_settop(co, 0);
    lua_pushvalue(aux_, -1);
    lua_xmove(aux_, co, 1); // stack of co: traceback
    bool handled = false;
    if (th.has_joiners_) {
        const auto& list = joiners_[&th];
        handled = std::any_of(list.begin(), list.end(), [](const auto& j) {
            return j.first->status_ == thread_status::waiting && j.first->token_ == j.second;
        });
    }
    // The thread is over before the error handler runs: whatever the handler does with it (kill,
    // join, asio._close_all) then sees an ended thread.
    std::shared_ptr<io_object> owned = th.closes_on_error_.lock();
    end(th, thread_outcome::raised);
    // Nobody else knows of an accept handler's connection: left open, it would hold its
    // descriptor (and keep the peer waiting) until the collector found it.
    if (owned) owned->close_from_runtime();
    // A joiner already waiting receives the error; otherwise nobody would ever see it.
    if (handled) lua_pop(aux_, 1);
    else report_error();
}

std::string runtime::describe_error(lua_State* co) {
    // A number would be converted in place, allocating: a finalizer run there could kill the
    // thread and push its end mark where the conversion then writes.
    if (lua_type(co, -1) == LUA_TNUMBER) {
        char text[32];
        format_number(lua_tonumber(co, -1), text);
        return text;
    }
    if (lua_type(co, -1) == LUA_TSTRING) return lua_tostring(co, -1);
    // An error object with __tostring describes itself; the dead coroutine cannot run its
    // metamethod, so aux_ does, protected (it may raise in turn).
    lua_pushvalue(co, -1);
    lua_xmove(co, aux_, 1);
    std::string text;
    if (luaL_getmetafield(aux_, -1, "__tostring")) {
        lua_insert(aux_, -2);
        if (lua_pcall(aux_, 1, 1, 0) == 0 && lua_type(aux_, -1) == LUA_TSTRING) text = lua_tostring(aux_, -1);
    } else {
        text = std::string("(error object is a ") + luaL_typename(aux_, -1) + " value)";
    }
    lua_pop(aux_, 1);
    return text.empty() ? "(error object is not a string)" : text;
}

void runtime::end(light_thread& th, thread_outcome how) {
    if (!th.alive()) return;
    thread_ptr keep = th.shared_from_this();
    th.status_ = thread_status::dead;
    lua_State* co = th.co_;
    if (!lua_checkstack(co, 1)) {
        // Results fill the stack to its limit: keep an explanation in their place instead.
        lua_settop(co, 0);
        lua_pushliteral(co, "too many results to keep");
        how = thread_outcome::raised;
    }
    push_end_mark(co, how);
    wake_joiners(th);
    release(th);
}

void runtime::wake_all_joiners(light_thread& th) {
    auto at = joiners_.find(&th);
    if (at == joiners_.end()) return;
    auto joiners = std::move(at->second);
    joiners_.erase(at);
    th.has_joiners_ = false;
    for (auto& [joiner, token] : joiners) {
        lua_State* jco = claim(*joiner, token);
        if (jco == nullptr) continue;
        push_ended_outcome(th.co_, jco);
        make_ready(*joiner);
    }
}

void runtime::release(light_thread& th) { // end() keeps th alive across this
    // Its coroutine is garbage now, unless the script keeps the handle.
    // token_ is still 0 if it never waited (every wait and every kill advances it).
    owe_collector(th.token_ == 0 ? ended_at_once_charge : ended_thread_charge);
    deadlines_->forget(th);
    th.status_ = thread_status::dead;
    th.target_ = nullptr;
    if (th.has_joiners_) {
        joiners_.erase(&th);
        th.has_joiners_ = false;
    }
    th.closes_on_error_.reset();
    index_.erase(th.anchor_);
    free_anchor_slot(th.anchor_);
    intrusive_ptr_release(&th); // the reference promote took for the thread's life
}

void runtime::kill(light_thread& th) {
    if (!th.alive()) return;
    thread_ptr keep = th.shared_from_this();
    // The wait is over before its target hears of it: cancelling may close the target, whose
    // other waiters' results allocate, and a finalizer run there may kill th again.
    wait_target* target = th.status_ == thread_status::waiting ? th.target_ : nullptr;
    th.target_ = nullptr;
    ++th.token_;
    if (target != nullptr) {
        target->cancel_wait(th, nullptr);
        if (!th.alive()) return;
    }
    // What a waiting or queued thread holds (the object it waited on, resume values) goes
    // with it; a running one is yielding to its own kill and keeps its stack.
    if (th.status_ != thread_status::running) lua_settop(th.co_, 0);
    end(th, thread_outcome::killed);
}

void runtime::add_joiner(light_thread& target, light_thread& joiner, std::uint32_t token) {
    auto& list = joiners_[&target];
    target.has_joiners_ = true;
    // Joins that timed out leave stale entries; drop them so repeated timed joins stay bounded.
    list.erase(std::remove_if(list.begin(), list.end(),
                              [](const auto& j) {
                                  return j.first->status_ != thread_status::waiting ||
                                         j.first->token_ != j.second;
                              }),
               list.end());
    list.emplace_back(joiner.shared_from_this(), token);
}

// --- timeouts ------------------------------------------------------------------------------

void runtime::fire_timeout(light_thread& th) {
    thread_ptr keep = th.shared_from_this();
    wait_target* target = th.target_;
    wait_kind kind = th.kind_;
    lua_State* co = claim(th, th.token_);
    if (co == nullptr) return;
    if (target != nullptr) target->cancel_wait(th, co);
    else if (kind != wait_kind::sleep) push_fail(co, err::timeout);
    resume_now(th);
}

} // namespace lasio
