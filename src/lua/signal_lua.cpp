// SPDX-License-Identifier: MIT
// Lua bindings of signal watchers: asio.signal and sig:wait, sig:close.
#include "base/lua_bridge.hpp"
#include "lua/io_handle.hpp"
#include "lua/os_lua.hpp"
#include "os/os_config.hpp"
#include "os/signal_names.hpp"
#include "os/signal_watch.hpp"

#include <memory>
#include <vector>

namespace lasio {

#if defined(LASIO_HAS_SIGNALS)
namespace {

inline constexpr char signal_metatable[] = "asio.signal";

struct signal_handle {
    std::shared_ptr<signal_watch> s;
};

signal_watch& check_signal(lua_State* L, int idx) { return *check_object<signal_handle>(L, idx, signal_metatable).s; }

/// The signal named or numbered at idx, checked to be one a script may watch.
int check_watchable_signal(lua_State* L, int idx) {
    int signo = 0;
    if (lua_type(L, idx) == LUA_TNUMBER) {
        lua_Number n = lua_tonumber(L, idx);
        signo = static_cast<int>(n);
        if (static_cast<lua_Number>(signo) != n || !signal_valid(signo)) luaL_argerror(L, idx, "no such signal number");
    } else {
        size_t len;
        const char* name = luaL_checklstring(L, idx, &len);
        signo = signal_number(std::string_view(name, len));
        if (signo == 0) luaL_argerror(L, idx, lua_pushfstring(L, "unknown signal '%s'", name));
    }
    if (!signal_watchable(signo)) luaL_argerror(L, idx, "this signal cannot be watched (KILL, STOP, or a fault)");
    return signo;
}

int l_signal_wait(lua_State* L) {
    auto& rt = runtime::from(L);
    signal_watch& s = check_signal(L, 1);
    double timeout = opt_timeout(L, 2);
    if (s.closed()) return push_fail(L, err::closed);
    if (s.waiting()) return luaL_error(L, "wait: another light thread is waiting on this signal watcher");
    if (int n = s.take_queued(L)) return n;
    if (timeout == 0) return push_fail(L, err::timeout);
    return s.wait(L, rt.current(L, "wait"), timeout);
}

int l_signal_close(lua_State* L) {
    check_signal(L, 1).close();
    return 0;
}

int l_signal_tostring(lua_State* L) { return push_description(L, "asio.signal", check_signal(L, 1)); }

int l_signal_gc(lua_State* L) { return gc_handle<signal_handle>(L, signal_metatable); }

const luaL_Reg signal_methods[] = {
    {"wait", l_signal_wait},
    {"close", l_signal_close},
    {"__tostring", l_signal_tostring},
    {"__gc", l_signal_gc},
    {nullptr, nullptr},
};

} // namespace

int l_signal(lua_State* L) {
    auto& rt = runtime::from(L);
    int n = lua_gettop(L);
    if (n == 0) luaL_argerror(L, 1, "signal name or number expected");
    std::vector<int> signals;
    signals.reserve(static_cast<std::size_t>(n));
    for (int i = 1; i <= n; ++i) signals.push_back(check_watchable_signal(L, i));
    std::shared_ptr<signal_watch> w;
    try {
        w = std::make_shared<signal_watch>(rt.shared_from_this());
    } catch (const std::exception&) {
        w = nullptr;
    }
    if (!w) return luaL_error(L, "not enough memory");
    for (int signo : signals) {
        error_code ec = w->add(signo);
        if (ec) {
            w->release_io();
            return push_fail(L, ec);
        }
    }
    new_object<signal_handle>(L, signal_metatable, signal_handle{w});
    w->start();
    return 1;
}

void open_signal(lua_State* L, runtime& rt) {
    rt.push_upvalue(L);
    register_metatable(L, signal_metatable, signal_methods);
}
#else
int l_signal(lua_State* L) { return luaL_error(L, "signal: " LASIO_NO_SIGNALS_WHY); }
void open_signal(lua_State*, runtime&) {}
#endif

} // namespace lasio
