// SPDX-License-Identifier: MIT
// asio.thread's machinery: a function run in a fresh lua_State on an OS thread of its own.
#include "bridge/os_thread.hpp"

#include "base/lua_bridge.hpp"
#include "bridge/module_cache.hpp"
#include "bridge/value_codec.hpp"
#include "sched/loop_mailbox.hpp"
#include "sched/runtime.hpp"

#include <atomic>
#include <exception>
#include <thread>

namespace lasio {

namespace {

std::atomic<long> live_threads{0};

/// What the worker's light thread hands back, read once the state is closed.
struct worker_result {
    bool finished = false; // fn returned or raised (its light thread was not killed)
    bool failed = false;
    std::string payload;   // results (value_codec) or the error message
    codec_refs refs;       // the channels the results name
};

struct boot_args {
    os_thread_start* start;
    worker_result* result;
    os_thread_outcome* outcome;
};

// The light thread's body in the new state: fn's outcome goes to finish whatever happens, and
// an error gets its traceback where it was raised.
constexpr char wrapper_chunk[] = R"(
local fn, finish, traceback, tostring, type, xpcall = ...
local function handler(e)
  if type(e) ~= 'string' then e = tostring(e) end
  return traceback(e, 2)
end
return function(...) return finish(xpcall(fn, handler, ...)) end
)";

/// finish(ok, ...): upvalue 1 is the worker_result.
int l_finish(lua_State* L) {
    auto* r = static_cast<worker_result*>(lua_touserdata(L, lua_upvalueindex(1)));
    r->finished = true;
    r->payload.clear();
    if (!lua_toboolean(L, 1)) {
        r->failed = true;
        const char* msg = lua_tostring(L, 2);
        r->payload = msg != nullptr ? msg : "(error object is not a string)";
        return 0;
    }
    std::string error;
    r->refs.clear();
    if (!encode_values(L, 2, lua_gettop(L) - 1, "results", r->payload, error, &r->refs)) {
        r->failed = true;
        r->payload = "thread: " + error;
    }
    return 0;
}

/// Pushes require(name); raises as require does.
void push_required(lua_State* L, const char* name, std::size_t len) {
    lua_getglobal(L, "require");
    lua_pushlstring(L, name, len);
    lua_call(L, 1, 1);
}

/// Pushes the function a "module.name" names: require(module)[name], or require(module) alone.
void push_named_function(lua_State* L, const std::string& ref) {
    std::size_t dot = ref.rfind('.');
    if (dot == std::string::npos) {
        push_required(L, ref.data(), ref.size());
    } else {
        push_required(L, ref.data(), dot);
        lua_getfield(L, -1, ref.c_str() + dot + 1);
        lua_remove(L, -2);
    }
    if (!lua_isfunction(L, -1))
        luaL_error(L, "thread: '%s' is not a function (got %s)", ref.c_str(), luaL_typename(L, -1));
}

std::atomic<lua_CFunction> state_preload{nullptr};

/// In the new state, protected: loads the libraries, asio and the function, starts the light
/// thread and runs the loop until it has no work left.
int l_boot(lua_State* L) {
    auto* b = static_cast<boot_args*>(lua_touserdata(L, 1));
    os_thread_start& s = *b->start;
    lua_settop(L, 0);
    luaL_openlibs(L);
    lua_getglobal(L, "package");
    lua_pushlstring(L, s.path.data(), s.path.size());
    lua_setfield(L, -2, "path");
    lua_pushlstring(L, s.cpath.data(), s.cpath.size());
    lua_setfield(L, -2, "cpath");
    lua_pop(L, 1);
    install_module_cache(L);
    if (lua_CFunction preload = state_preload.load(std::memory_order_acquire)) {
        preload(L);
        lua_settop(L, 0);
    }
    push_required(L, "asio", 4); // stack: asio
    if (!lua_istable(L, 1)) luaL_error(L, "thread: require 'asio' did not return the module");
    runtime* rt = runtime::of_state(L);
    if (rt == nullptr) luaL_error(L, "thread: asio has no runtime in the new state");
    if (!b->outcome->attach_worker(rt->mailbox(), rt)) return 0; // cancelled before it began

    if (s.by_name) {
        push_named_function(L, s.code);
    } else {
        if (luaL_loadbuffer(L, s.code.data(), s.code.size(), "=thread") != 0) lua_error(L);
        int fn = lua_gettop(L);
        int n = decode_values(L, s.upvalues, &s.refs);
        for (int i = 1; i <= n; ++i) {
            const std::string& module = i <= static_cast<int>(s.upvalue_modules.size())
                                            ? s.upvalue_modules[i - 1] : std::string();
            if (!module.empty()) push_required(L, module.data(), module.size());
            else lua_pushvalue(L, fn + i);
            lua_setupvalue(L, fn, i);
        }
        lua_settop(L, fn);
    }
    // stack: asio fn
    if (luaL_loadbuffer(L, wrapper_chunk, sizeof wrapper_chunk - 1, "=thread") != 0) lua_error(L);
    lua_insert(L, 2); // stack: asio chunk fn
    lua_pushlightuserdata(L, b->result);
    lua_pushcclosure(L, l_finish, 1);
    lua_getglobal(L, "debug");
    lua_getfield(L, -1, "traceback");
    lua_remove(L, -2);
    lua_getglobal(L, "tostring");
    lua_getglobal(L, "type");
    lua_getglobal(L, "xpcall");
    lua_call(L, 6, 1); // stack: asio body

    lua_getfield(L, 1, "spawn_light_thread");
    lua_insert(L, 2); // stack: asio spawn body
    int nargs = decode_values(L, s.args, &s.refs);
    // The channels are this state's handles now: no longer in flight (see shared_channel).
    s.refs.clear();
    lua_call(L, nargs + 1, 0);
    lua_getfield(L, 1, "run");
    lua_call(L, 0, 0);
    return 0;
}

void run_worker(os_thread_start& start, worker_result& r, os_thread_outcome& outcome) {
    lua_State* L = luaL_newstate(); // its own allocator: nothing shared with the caller's state
    if (L == nullptr) {
        r.failed = true;
        r.payload = "thread: cannot create a Lua state (out of memory)";
        return;
    }
    boot_args b{&start, &r, &outcome};
    if (lua_cpcall(L, l_boot, &b) != 0) {
        r.failed = true;
        const char* msg = lua_tostring(L, -1);
        r.payload = msg != nullptr ? msg : "(error object is not a string)";
    } else if (!r.finished && outcome.cancel_requested()) {
        r.failed = true;
        r.payload = "cancelled";
    } else if (!r.finished) {
        r.failed = true;
        r.payload = "thread: the function did not finish (its light thread was killed, or waited "
                    "on something that never came)";
    }
    lua_close(L);
}

void worker_main(os_thread_start& start, const std::shared_ptr<os_thread_outcome>& outcome,
                 const remote_signal& done) {
    worker_result r;
    try {
        run_worker(start, r, *outcome);
    } catch (const std::exception& e) {
        r.failed = true;
        r.payload = std::string("thread: ") + e.what();
    } catch (...) {
        r.failed = true;
        r.payload = "thread: unknown error";
    }
    if (r.failed) r.refs.clear();
    outcome->finish(r.failed ? os_thread_outcome::state::failed : os_thread_outcome::state::done,
                    std::move(r.payload), std::move(r.refs));
    // Refused once the calling state is closed: the outcome is then dropped with the last owner.
    done.signal([outcome](lua_State* co) { outcome->push(co); });
}

/// The name package.loaded knows the value at idx by (a module the new state can require), or "".
std::string loaded_module_name(lua_State* L, int idx) {
    if (!lua_istable(L, idx) && !lua_isfunction(L, idx)) return {};
    idx = abs_index(L, idx);
    std::string name;
    lua_getglobal(L, "package");
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        return {};
    }
    lua_getfield(L, -1, "loaded");
    if (lua_istable(L, -1)) {
        lua_pushnil(L);
        while (lua_next(L, -2) != 0) { // stack: package loaded key value
            if (lua_type(L, -2) == LUA_TSTRING && lua_rawequal(L, -1, idx)) {
                std::size_t len;
                const char* s = lua_tolstring(L, -2, &len);
                name.assign(s, len);
                lua_pop(L, 2);
                break;
            }
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 2);
    return name;
}

std::string package_field(lua_State* L, const char* field) {
    std::string v;
    lua_getglobal(L, "package");
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, field);
        std::size_t len;
        const char* s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : nullptr;
        if (s != nullptr) v.assign(s, len);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return v;
}

} // namespace

bool os_thread_outcome::cancel() {
    std::shared_ptr<loop_mailbox> mailbox;
    runtime* rt;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (state_ != state::running) return false;
        if (cancel_requested_) return true;
        cancel_requested_ = true;
        mailbox = worker_mailbox_;
        rt = worker_runtime_;
    }
    // The task runs in the worker's loop, so its runtime is alive there; refused (harmlessly)
    // once that runtime has closed.
    if (mailbox != nullptr) mailbox->post([rt]() { rt->close_all(); });
    return true;
}

bool os_thread_outcome::attach_worker(std::shared_ptr<loop_mailbox> mailbox, runtime* rt) {
    std::lock_guard<std::mutex> lock(mutex_);
    worker_mailbox_ = std::move(mailbox);
    worker_runtime_ = rt;
    return !cancel_requested_;
}

int os_thread_outcome::push(lua_State* L) const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (state_ == state::failed) {
        lua_pushboolean(L, 0);
        lua_pushlstring(L, payload_.data(), payload_.size());
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1 + decode_values(L, payload_, &refs_);
}

bool prepare_os_thread(lua_State* L, int fn_idx, int nargs, os_thread_start& start, std::string& error) {
    start.path = package_field(L, "path");
    start.cpath = package_field(L, "cpath");
    if (lua_type(L, fn_idx) == LUA_TSTRING) {
        std::size_t len;
        const char* s = lua_tolstring(L, fn_idx, &len);
        start.code.assign(s, len);
        start.by_name = true;
    } else {
        if (!dump_function(L, fn_idx, start.code)) {
            error = "cannot dump the function";
            return false;
        }
        for (int i = 1;; ++i) {
            const char* name = lua_getupvalue(L, fn_idx, i);
            if (name == nullptr) break;
            std::string path = *name != '\0' ? std::string("upvalue ") + name
                                             : "upvalue #" + std::to_string(i);
            // A module is required again over there; its slot in the buffer only holds a nil.
            std::string module = loaded_module_name(L, -1);
            if (!module.empty()) {
                lua_pop(L, 1);
                lua_pushnil(L);
            }
            bool ok = encode_value(L, -1, path, start.upvalues, error, &start.refs);
            lua_pop(L, 1);
            if (!ok) return false;
            start.upvalue_modules.push_back(std::move(module));
        }
    }
    return encode_values(L, fn_idx + 1, nargs, "args", start.args, error, &start.refs);
}

bool start_os_thread(os_thread_start start, std::shared_ptr<os_thread_outcome> outcome, remote_signal done,
                     std::string& error) {
    ++live_threads;
    try {
        std::thread([start = std::move(start), outcome = std::move(outcome), done = std::move(done)]() mutable {
            {
                // Moved out so that all of it is freed before the count drops.
                os_thread_start s = std::move(start);
                std::shared_ptr<os_thread_outcome> o = std::move(outcome);
                remote_signal d = std::move(done);
                worker_main(s, o, d);
            }
            // Last: a count of 0 means every worker has closed its state and freed its memory.
            --live_threads;
        }).detach();
        return true;
    } catch (const std::exception& e) {
        --live_threads;
        error = std::string("cannot start a thread: ") + e.what();
        return false;
    }
}

long live_os_threads() { return live_threads.load(); }

void set_state_preload(lua_CFunction preload) { state_preload.store(preload, std::memory_order_release); }

} // namespace lasio
