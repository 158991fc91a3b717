// SPDX-License-Identifier: MIT
// Lua bindings of OS threads: asio.thread, the handle's join/status, and the codec's spec hooks.
#include "lua/os_thread_lua.hpp"

#include "base/lua_bridge.hpp"
#include "bridge/os_thread.hpp"
#include "bridge/value_codec.hpp"
#include "sched/remote_event.hpp"
#include "sched/runtime.hpp"

#include <exception>
#include <thread>

namespace lasio {

namespace {

/// The userdata of a handle. Collecting it detaches the thread: the event closes, and the
/// worker's signal then finds nobody (the outcome goes with the worker's reference).
struct os_thread_handle {
    std::shared_ptr<os_thread_outcome> outcome;
    std::shared_ptr<remote_event> done;
};

/// th = asio.thread(fn | "module.name", ...)
int l_thread(lua_State* L) {
    auto& rt = runtime::from(L);
    int t = lua_type(L, 1);
    if (t != LUA_TFUNCTION && t != LUA_TSTRING) luaL_typerror(L, 1, "function or 'module.name'");
    if (t == LUA_TFUNCTION && lua_iscfunction(L, 1))
        luaL_argerror(L, 1, "a C function cannot cross to another state (pass its 'module.name')");
    if (t == LUA_TSTRING && lua_objlen(L, 1) == 0) luaL_argerror(L, 1, "empty module name");
    int nargs = lua_gettop(L) - 1;
    bool prepared = false;
    bool started = false;
    {
        std::string error;
        try {
            os_thread_start start;
            prepared = prepare_os_thread(L, 1, nargs, start, error);
            if (prepared) {
                auto* h = new_object<os_thread_handle>(L, os_thread_metatable);
                h->outcome = std::make_shared<os_thread_outcome>();
                h->done = std::make_shared<remote_event>(rt.shared_from_this());
                started = start_os_thread(std::move(start), h->outcome, h->done->signal_handle(), error);
                if (!started) {
                    lua_pop(L, 1);
                    lua_pushnil(L);
                    lua_pushlstring(L, error.data(), error.size());
                }
            } else {
                error = "thread: " + error;
                lua_pushlstring(L, error.data(), error.size());
            }
        } catch (const std::exception& e) {
            prepared = false;
            lua_pushstring(L, e.what());
        }
    }
    if (!prepared) return lua_error(L);
    return started ? 1 : 2;
}

os_thread_handle& check_handle(lua_State* L, int idx) {
    return check_object<os_thread_handle>(L, idx, os_thread_metatable);
}

/// ok, ... = th:join([timeout])
int l_join(lua_State* L) {
    os_thread_handle& h = check_handle(L, 1);
    double timeout = opt_timeout(L, 2);
    if (h.outcome->get() != os_thread_outcome::state::running) return h.outcome->push(L);
    auto& rt = runtime::from(L);
    light_thread& th = rt.current(L, "join");
    if (h.done->waited_on()) return luaL_error(L, "join: another light thread is joining this thread");
    return h.done->wait(L, 1, th, timeout);
}

int l_status(lua_State* L) {
    switch (check_handle(L, 1).outcome->get()) {
    case os_thread_outcome::state::running:
        lua_pushliteral(L, "running");
        break;
    case os_thread_outcome::state::done:
        lua_pushliteral(L, "done");
        break;
    default:
        lua_pushliteral(L, "failed");
    }
    return 1;
}

/// th:cancel() -> true when asked (the thread was running), false when it had finished
int l_cancel(lua_State* L) {
    lua_pushboolean(L, check_handle(L, 1).outcome->cancel());
    return 1;
}

int l_tostring(lua_State* L) {
    lua_pushfstring(L, "asio.os_thread: %p", lua_touserdata(L, 1));
    return 1;
}

int l_gc(lua_State* L) {
    if (finalizable_object<os_thread_handle>(L, 1, os_thread_metatable) != nullptr)
        destroy_object<os_thread_handle>(L, 1);
    return 0;
}

/// Encodes the arguments; on failure pushes the error and returns false.
bool encode_args(lua_State* L, std::string& out) {
    std::string error;
    if (encode_values(L, 1, lua_gettop(L), "args", out, error)) return true;
    lua_pushlstring(L, error.data(), error.size());
    return false;
}

/// asio.core._codec_encode(...) -> the buffer (for specs: what crosses, as bytes)
int l_codec_encode(lua_State* L) {
    bool ok;
    {
        std::string out;
        ok = encode_args(L, out);
        if (ok) lua_pushlstring(L, out.data(), out.size());
    }
    return ok ? 1 : lua_error(L);
}

/// asio.core._codec_decode(bytes) -> the values; raises on a malformed buffer
int l_codec_decode(lua_State* L) {
    std::size_t len;
    const char* s = luaL_checklstring(L, 1, &len);
    return decode_values(L, std::string_view(s, len));
}

/// asio.core._codec_roundtrip(...) -> copies of the values, through a buffer (shared channels
/// come back as this state's handles of them)
int l_codec_roundtrip(lua_State* L) {
    int n = lua_gettop(L);
    std::string error;
    codec_refs refs;
    std::string out;
    if (!encode_values(L, 1, n, "args", out, error, &refs)) {
        lua_pushlstring(L, error.data(), error.size());
        return lua_error(L);
    }
    lua_pushlstring(L, out.data(), out.size());
    std::size_t len;
    const char* s = lua_tolstring(L, n + 1, &len);
    return decode_values(L, std::string_view(s, len), &refs);
}

/// asio.cpu_count() -> the number of cores (hardware threads) the OS reports, at least 1
int l_cpu_count(lua_State* L) {
    unsigned n = std::thread::hardware_concurrency();
    lua_pushinteger(L, n == 0 ? 1 : static_cast<lua_Integer>(n));
    return 1;
}

/// asio.core._os_threads() -> worker OS threads of the process not yet finished
int l_os_threads(lua_State* L) {
    lua_pushinteger(L, static_cast<lua_Integer>(live_os_threads()));
    return 1;
}

const luaL_Reg handle_methods[] = {
    {"join", l_join},
    {"status", l_status},
    {"cancel", l_cancel},
    {"__tostring", l_tostring},
    {"__gc", l_gc},
    {nullptr, nullptr},
};

const luaL_Reg functions[] = {
    {"thread", l_thread},
    {"_codec_encode", l_codec_encode},
    {"_codec_decode", l_codec_decode},
    {"_codec_roundtrip", l_codec_roundtrip},
    {"_os_threads", l_os_threads},
    {"cpu_count", l_cpu_count},
    {nullptr, nullptr},
};

} // namespace

void open_os_thread(lua_State* L, runtime& rt) {
    rt.push_upvalue(L);
    register_metatable(L, os_thread_metatable, handle_methods);
    rt.push_upvalue(L);
    luaL_setfuncs(L, functions, 1);
}

} // namespace lasio
