// SPDX-License-Identifier: MIT
// luaopen_asio_core: the module table of one lua_State's runtime, and the loop functions.
#include "base/lua_bridge.hpp"
#include "base/lua_module.hpp"
#include "lua/udp_lua.hpp"
#include "lua/stream_lua.hpp"
#include "lua/connect_lua.hpp"
#include "lua/resolve_lua.hpp"
#include "lua/os_thread_lua.hpp"
#include "lua/shared_channel_lua.hpp"
#include "lua/os_lua.hpp"
#include "os/os_config.hpp"
#include "lua/server_lua.hpp"
#include "lua/thread_lua.hpp"
#include "lua/tls_context_lua.hpp"
#include "net/udp_socket.hpp" // asio.udp, open_udp (likewise)
#include "sched/runtime.hpp"

namespace lasio {

namespace {

/// The loop is driven from outside only: a nested run would wait on its own caller's work.
void refuse_inside_light_thread(lua_State* L, const char* fn) {
    auto& rt = runtime::from(L);
    if (rt.in_light_thread())
        luaL_error(L, "%s: cannot be called from a light thread (it would block the loop)", fn);
    if (rt.in_loop())
        luaL_error(L, "%s: cannot be called while the loop runs (from an error handler or a finalizer)", fn);
}

int l_run(lua_State* L) {
    refuse_inside_light_thread(L, "run");
    runtime::from(L).run();
    return 0;
}

int l_poll(lua_State* L) {
    refuse_inside_light_thread(L, "poll");
    lua_pushinteger(L, static_cast<lua_Integer>(runtime::from(L).poll()));
    return 1;
}

int l_run_once(lua_State* L) {
    double timeout = luaL_optnumber(L, 1, 0);
    if (!(timeout >= 0)) luaL_argerror(L, 1, "timeout must be >= 0");
    refuse_inside_light_thread(L, "run_once");
    auto& rt = runtime::from(L);
    rt.run_for(timeout);
    lua_pushboolean(L, rt.work_may_remain());
    return 1;
}

int l_stop(lua_State* L) {
    runtime::from(L).stop();
    return 0;
}

/// asio.core._on_kill(fn): for the coordination layer (see runtime::set_kill_hook).
int l_on_kill(lua_State* L) {
    if (!lua_isnoneornil(L, 1)) luaL_checktype(L, 1, LUA_TFUNCTION);
    runtime::from(L).set_kill_hook(L, 1);
    return 0;
}

int l_on_error(lua_State* L) {
    if (!lua_isnoneornil(L, 1)) luaL_checktype(L, 1, LUA_TFUNCTION);
    runtime::from(L).set_error_handler(L, 1);
    return 0;
}

int l_stats(lua_State* L) {
    auto& rt = runtime::from(L);
    const runtime_stats& s = rt.stats();
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, s.threads);
    lua_setfield(L, -2, "threads");
    lua_pushinteger(L, s.sockets);
    lua_setfield(L, -2, "sockets");
    lua_pushinteger(L, s.servers);
    lua_setfield(L, -2, "servers");
    lua_pushinteger(L, static_cast<lua_Integer>(rt.deadline_count()));
    lua_setfield(L, -2, "timers");
    lua_pushinteger(L, s.pending);
    lua_setfield(L, -2, "pending");
    return 1;
}

int l_close_all(lua_State* L) {
    refuse_inside_light_thread(L, "_close_all");
    auto& rt = runtime::from(L);
    rt.close_all();
    rt.notify_kill(L, 0);
    return 0;
}

const luaL_Reg functions[] = {
    {"run", l_run},
    {"poll", l_poll},
    {"run_once", l_run_once},
    {"stop", l_stop},
    {"on_error", l_on_error},
    {"_stats", l_stats},
    {"_close_all", l_close_all},
    {"_on_kill", l_on_kill},
    {"connect", l_connect},
    {"server", l_server},
    {"resolve", l_resolve},
    {"unix_server", l_unix_server},
    {"unix_connect", l_unix_connect},
    {"udp", l_udp},
    {"tls_context", l_tls_context},
    {"signal", l_signal},
    {"spawn_process", l_spawn_process},
    {"_reap_without_pidfd", l_reap_without_pidfd},
    {"watch", l_watch},
    {"stdin", l_stdin},
    {nullptr, nullptr},
};

} // namespace

} // namespace lasio

LASIO_EXPORT int luaopen_asio_core(lua_State* L) {
    using namespace lasio;
    runtime& rt = open_runtime(L);
    open_stream(L, rt);
    open_stream_buffers(L, rt);
    open_server(L, rt);
    open_udp(L, rt);
    open_tls_context(L);
    open_signal(L, rt);
    open_process(L, rt);
    open_watch(L, rt);
    lua_newtable(L);
    open_light_thread(L, rt);
    open_os_thread(L, rt);
    open_shared_channel(L, rt);
    rt.push_upvalue(L);
    luaL_setfuncs(L, functions, 1);
#if defined(LASIO_HAS_DAEMON)
    lua_pushboolean(L, 1);
#else
    lua_pushboolean(L, 0);
#endif
    lua_setfield(L, -2, "_has_daemon"); // for the specs: whether src/os/ is in this build
#if defined(LASIO_HAS_SIGNALS)
    lua_pushboolean(L, 1);
#else
    lua_pushboolean(L, 0);
#endif
    lua_setfield(L, -2, "_has_signals");
    return 1;
}
