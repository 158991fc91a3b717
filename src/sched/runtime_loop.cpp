// SPDX-License-Identifier: MIT
// The runtime's life and loop: creation and teardown, live I/O objects, _close_all, the loop's
// entry points, and the error handler.
#include "sched/runtime.hpp"

#include "base/errors.hpp"
#include "base/lua_bridge.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace lasio {

namespace {

/// Timeouts beyond this are treated as this long, so the clock arithmetic cannot overflow.
constexpr double max_timeout_seconds = 1e9;

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
    net::post(*io_, [this] {
        release_posted_ = false;
        auto objects = std::move(released_);
        released_.clear();
    });
}

// --- construction and teardown -----------------------------------------------------------------

runtime::runtime(lua_State* L) : anchors_(L), scratch_(new char[scratch_size]) {
    aux_ = lua_newthread(L);
    aux_ref_ = ref_value(L);
    results_ = lua_newthread(L);
    results_ref_ = ref_value(L);
    io_.emplace(1);
    deadlines_.emplace(*this, *io_);
}

runtime::~runtime() = default;

runtime* runtime::of_state(lua_State* L) {
    lua_pushlightuserdata(L, &runtime_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    auto* holder = lua_type(L, -1) == LUA_TUSERDATA ? static_cast<runtime_holder*>(lua_touserdata(L, -1)) : nullptr;
    lua_pop(L, 1);
    return holder != nullptr ? holder->rt.get() : nullptr;
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
    auto rt = std::make_shared<runtime>(L);
    auto* holder = new_object<runtime_holder>(L, runtime_metatable, runtime_holder{rt});
    lua_pushlightuserdata(L, &runtime_key);
    lua_insert(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
    return *holder->rt;
}

void runtime::teardown() {
    if (closing_) return;
    closing_ = true;
    // Descriptors first: their pending operations abort, and from here on handlers only free.
    for (io_object* obj = objects_; obj != nullptr; obj = obj->next_) obj->release_io();
    deadlines_->shut_down();
    ready_.clear();
    for (light_thread* th : anchors_.forget_all()) {
        th->status_ = thread_status::dead;
        th->target_ = nullptr;
        th->joiners_.clear();
        thread_ptr last = std::move(th->self_);
    }
    index_.clear();
    released_.clear();
    io_.reset(); // destroys handlers that never ran, and with them their shared_ptrs
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
        if (light_thread* th = anchors_[static_cast<int>(anchor)].th) kill(*th);
    for (io_object* obj = objects_; obj != nullptr;) {
        io_object* next = obj->next_;
        obj->close_from_runtime();
        obj = next;
    }
    if (io_->stopped()) io_->restart();
    poll_ready();
}

std::size_t runtime::poll_ready() {
    // io_context::poll also runs what its handlers post, and each drain of a thread that keeps
    // yielding posts the next: poll would never return. One batch of ready threads per poll.
    polling_ = true;
    std::size_t n = io_->poll();
    polling_ = false;
    if (drain_deferred_) {
        drain_deferred_ = false;
        // Out of handlers, poll left the context stopped; the posted drain is work again.
        if (io_->stopped()) io_->restart();
        post_drain();
    }
    return n;
}

void runtime::closed_error(lua_State* L) {
    luaL_error(L, "asio: the runtime is closed (the Lua state is being closed)");
    std::abort(); // not reached: luaL_error does not return
}

void runtime::push_upvalue(lua_State* L) {
    lua_pushlightuserdata(L, &runtime_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
}

// --- loop and errors ----------------------------------------------------------------------------

namespace {

/// Marks the loop as running for as long as one of the entry points below is on the stack.
struct loop_guard {
    bool& flag;
    explicit loop_guard(bool& f) : flag(f) { flag = true; }
    ~loop_guard() { flag = false; }
};

} // namespace

void runtime::prepare_loop() {
    // The context stops when it runs out of work (or asio.stop stopped it); ours runs again.
    if (io_->stopped()) io_->restart();
}

std::size_t runtime::poll() {
    loop_guard guard(in_loop_);
    prepare_loop();
    return poll_ready();
}

std::size_t runtime::run() {
    loop_guard guard(in_loop_);
    prepare_loop();
    return io_->run();
}

std::size_t runtime::run_for(double seconds) {
    loop_guard guard(in_loop_);
    prepare_loop();
    // run_for alone would run nothing for a timeout of 0 (or any that has passed on entry):
    // what is ready runs first, then the wait for more.
    stop_requested_ = false;
    std::size_t n = poll_ready();
    if (!io_->stopped() && seconds > 0)
        n += io_->run_for(std::chrono::duration_cast<steady_clock::duration>(
            std::chrono::duration<double>(std::min(seconds, max_timeout_seconds))));
    return n;
}

double runtime::next_deadline() const {
    if (!ready_.empty() || drain_posted_ || release_posted_) return 0;
    return deadlines_->seconds_to_next();
}

void runtime::set_kill_hook(lua_State* L, int idx) {
    unref_value(L, kill_hook_ref_);
    if (lua_isnoneornil(L, idx)) return;
    lua_pushvalue(L, idx);
    kill_hook_ref_ = ref_value(L);
}

void runtime::notify_kill(lua_State* L, int nargs) {
    if (kill_hook_ref_ == LUA_NOREF) {
        lua_pop(L, nargs);
        return;
    }
    push_ref(L, kill_hook_ref_);
    lua_insert(L, -(nargs + 1));
    lua_call(L, nargs, 0); // its errors are the caller's, as kill's own would be
}

void runtime::set_error_handler(lua_State* L, int idx) {
    unref_value(L, error_handler_ref_);
    if (lua_isnoneornil(L, idx)) return;
    lua_pushvalue(L, idx);
    error_handler_ref_ = ref_value(L);
}

void runtime::report_error() {
    if (error_handler_ref_ != LUA_NOREF) {
        lua_pushvalue(aux_, -1); // kept for stderr, should the handler raise
        push_ref(aux_, error_handler_ref_);
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
