// SPDX-License-Identifier: MIT
// The runtime's life: creation and teardown, live I/O objects, _close_all, the kill hook and the
// error handler. (The loop's entry points are in runtime_run.cpp.)
#include "sched/runtime.hpp"

#include "base/errors.hpp"
#include "base/lua_bridge.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace lasio {

namespace {

char runtime_key;
constexpr char runtime_metatable[] = "asio.runtime";

int l_runtime_gc(lua_State* L) {
    auto* holder = finalizable_object<runtime_holder>(L, 1, runtime_metatable);
    if (holder == nullptr || holder->rt == nullptr) return 0;
    holder->rt->teardown();
    // Emptied, not destroyed: finalizers that run after this one still read holder->rt.
    holder->rt.reset();
    return 0;
}

} // namespace

// --- io_object ------------------------------------------------------------------------------

io_object::io_object(runtime_ptr rt) : rt_(std::move(rt)) { rt_->attach(*this); }

io_object::~io_object() { rt_->detach(*this); }

void runtime::attach(io_object& obj) {
    obj.next_ = objects_;
    if (objects_ != nullptr) objects_->prev_ = &obj;
    objects_ = &obj;
}

void runtime::detach(io_object& obj) {
    if (obj.prev_ != nullptr) obj.prev_->next_ = obj.next_;
    else if (objects_ == &obj) objects_ = obj.next_;
    if (obj.next_ != nullptr) obj.next_->prev_ = obj.prev_;
    obj.prev_ = obj.next_ = nullptr;
}

void runtime::release_later(std::shared_ptr<void> obj) {
    if (closing_ || obj == nullptr) return; // nothing runs any more: obj goes now
    released_.push_back(std::move(obj));
    if (release_posted_) return;
    release_posted_ = true;
    // The runtime, not this: on a host's io_context the handler may run after lua_close.
    net::post(*io_, [self = shared_from_this()] {
        if (self->closing_) return;
        runtime* rt = self.get();
        rt->release_posted_ = false;
        auto objects = std::move(rt->released_);
        rt->released_.clear();
    });
}

// --- registry references -----------------------------------------------------------------------

registry_ref::registry_ref(runtime& rt, lua_State* L) : rt_(&rt), ref_(ref_value(L)) {}

void registry_ref::reset() {
    if (rt_ != nullptr && !rt_->closing()) unref_value(rt_->aux(), ref_);
    rt_ = nullptr;
    ref_ = LUA_NOREF;
}

void registry_ref::push(lua_State* L) const { push_ref(L, ref_); }

// --- construction and teardown -----------------------------------------------------------------

runtime::runtime(lua_State* L, net::io_context* host_io) : anchors_(L), scratch_(new char[scratch_size]) {
    aux_ = lua_newthread(L);
    aux_anchor_ = registry_ref(*this, L);
    results_ = lua_newthread(L);
    results_anchor_ = registry_ref(*this, L);
    if (host_io != nullptr) {
        io_ = host_io; // the host keeps it running; a work guard of ours would never let it end
    } else {
        io_ = &own_io_.emplace(1);
        keep_running_.emplace(io_->get_executor());
    }
    deadlines_.emplace(*this, *io_);
    mailbox_ = std::make_shared<loop_mailbox>(*this, *io_);
}

runtime::~runtime() = default;

runtime* runtime::of_state(lua_State* L) {
    lua_pushlightuserdata(L, &runtime_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    auto* holder = lua_type(L, -1) == LUA_TUSERDATA ? static_cast<runtime_holder*>(lua_touserdata(L, -1)) : nullptr;
    lua_pop(L, 1);
    return holder != nullptr ? holder->rt.get() : nullptr;
}

namespace {
char host_io_key;
}

bool runtime::use_host_io(lua_State* L, net::io_context& io) {
    lua_pushlightuserdata(L, &runtime_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    bool opened = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (opened) return false;
    lua_pushlightuserdata(L, &host_io_key);
    lua_pushlightuserdata(L, &io);
    lua_rawset(L, LUA_REGISTRYINDEX);
    return true;
}

runtime& open_runtime(lua_State* L) {
    lua_pushlightuserdata(L, &runtime_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    if (auto* holder = static_cast<runtime_holder*>(lua_touserdata(L, -1))) {
        lua_pop(L, 1);
        if (holder->rt == nullptr) runtime::closed_error(L); // required again from a finalizer
        return *holder->rt;
    }
    lua_pop(L, 1);
    if (luaL_newmetatable(L, runtime_metatable)) {
        lua_pushcfunction(L, l_runtime_gc);
        lua_setfield(L, -2, "__gc");
        key_metatable(L, runtime_metatable);
    }
    lua_pop(L, 1);
    lua_pushlightuserdata(L, &host_io_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    auto* host_io = static_cast<net::io_context*>(lua_touserdata(L, -1));
    lua_pop(L, 1);
    auto rt = std::make_shared<runtime>(L, host_io);
    auto* holder = new_object<runtime_holder>(L, runtime_metatable, runtime_holder{rt});
    lua_pushlightuserdata(L, &runtime_key);
    lua_insert(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
    return *holder->rt;
}

void runtime::teardown() {
    if (closing_) return;
    closing_ = true;
    // Other OS threads first: from here on their posts are refused, and one in progress has
    // finished (it holds the mailbox's lock) before the io_context goes.
    mailbox_->close();
    // Descriptors next: their pending operations abort, and from here on handlers only free.
    for (io_object* obj = objects_; obj != nullptr; obj = obj->next_) obj->release_io();
    deadlines_->shut_down();
    ready_.clear();
    for (light_thread* th : anchors_.forget_all()) {
        th->status_ = thread_status::dead;
        th->target_ = nullptr;
        th->has_joiners_ = false;
        thread_ptr last(th, false); // the reference promote took for the thread's life
    }
    joiners_.clear();
    index_.clear();
    released_.clear();
    keep_running_.reset();
    // Destroys handlers that never ran, and with them their shared_ptrs. A host's io_context
    // stays: the handlers of ours still in it hold what they touch, and find closing_ set.
    own_io_.reset();
}

void runtime::close_all() {
    // What close_all runs (error handlers, finalizers) must see the loop as running.
    struct restore {
        bool& flag;
        bool value;
        ~restore() { flag = value; }
    } restore_in_loop{in_loop_, in_loop_};
    in_loop_ = true;
    // A reservation still open belongs to a spawn that raised between its two steps: none is
    // in progress here (no Lua but this call runs).
    if (anchors_.has_reservations()) anchors_.drop_reservations();
    promote_unstarted(); // then every live thread has a record (none runs here)
    for (std::size_t anchor = 1; anchor < anchors_.size(); ++anchor)
        if (light_thread* th = anchors_[static_cast<int>(anchor)].record()) kill(*th);
    for (io_object* obj = objects_; obj != nullptr;) {
        io_object* next = obj->next_;
        obj->close_from_runtime();
        obj = next;
    }
    poll_ready();
}

void runtime::closed_error(lua_State* L) {
    luaL_error(L, "asio: the runtime is closed (the Lua state is being closed)");
    std::abort(); // not reached: luaL_error does not return
}

void runtime::push_upvalue(lua_State* L) {
    lua_pushlightuserdata(L, &runtime_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
}

// --- notices and errors ------------------------------------------------------------------------

void runtime::set_kill_hook(lua_State* L, int idx) {
    kill_hook_.reset();
    if (lua_isnoneornil(L, idx)) return;
    lua_pushvalue(L, idx);
    kill_hook_ = registry_ref(*this, L);
}

void runtime::notify_kill(lua_State* L, int nargs) {
    if (!kill_hook_) {
        lua_pop(L, nargs);
        return;
    }
    kill_hook_.push(L);
    lua_insert(L, -(nargs + 1));
    lua_call(L, nargs, 0); // its errors are the caller's, as kill's own would be
}

void runtime::set_error_handler(lua_State* L, int idx) {
    error_handler_.reset();
    if (lua_isnoneornil(L, idx)) return;
    lua_pushvalue(L, idx);
    error_handler_ = registry_ref(*this, L);
}

void runtime::report_error() {
    if (error_handler_) {
        lua_pushvalue(aux_, -1); // kept for stderr, should the handler raise
        error_handler_.push(aux_);
        lua_insert(aux_, -2);
        if (lua_pcall(aux_, 1, 0, 0) == 0) {
            lua_pop(aux_, 1);
            return;
        }
        const char* why = lua_tostring(aux_, -1);
        std::fprintf(stderr, "asio: the error handler raised: %s\n",
                     why != nullptr ? why : "(an error object that is not a string)");
        lua_pop(aux_, 1);
    }
    const char* msg = lua_tostring(aux_, -1);
    std::fprintf(stderr, "asio: uncaught error in a light thread: %s\n",
                 msg != nullptr ? msg : "(an error object that is not a string)");
    lua_pop(aux_, 1);
}

} // namespace lasio
