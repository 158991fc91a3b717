// SPDX-License-Identifier: MIT
// luaasio_open and luaasio_preload (static library only): the module's C parts and its Lua files,
// compiled in, registered in package.preload, so a host needs no LUA_PATH or LUA_CPATH.
#include "luaasio.h"

#include "bridge/os_thread.hpp"
#include "embed/embedded_lua.hpp"

#include <lua.hpp>

extern "C" int luaopen_asio_core(lua_State* L);
#if LASIO_STATIC_TLS
extern "C" int luaopen_asio_tls(lua_State* L);
#endif
#if LASIO_STATIC_HTTP
extern "C" int luaopen_asio_http_parser(lua_State* L);
#endif
#if LASIO_STATIC_WEBSOCKET
extern "C" int luaopen_asio_websocket(lua_State* L);
#endif

namespace lasio {

namespace {

/// Where luaasio_open's protected part leaves the module table for the caller's stack.
char open_result_key;

int load_embedded(lua_State* L) {
    const embedded_lua& m = embedded_lua_modules[lua_tointeger(L, lua_upvalueindex(1))];
    if (luaL_loadbuffer(L, reinterpret_cast<const char*>(m.source), m.size, m.chunkname) != 0) lua_error(L);
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    return 1;
}

/// package.preload[name] = fn for the C parts and every embedded Lua file; the states of
/// asio.thread get the same.
int preload_all(lua_State* L) {
    set_state_preload(preload_all);
    lua_getglobal(L, "package");
    if (!lua_istable(L, -1)) return luaL_error(L, "luaasio: the package library is not open (luaL_openlibs)");
    lua_getfield(L, -1, "preload");
    if (!lua_istable(L, -1)) return luaL_error(L, "luaasio: package.preload is not a table");
    lua_pushcfunction(L, luaopen_asio_core);
    lua_setfield(L, -2, "asio.core");
#if LASIO_STATIC_TLS
    lua_pushcfunction(L, luaopen_asio_tls);
    lua_setfield(L, -2, "asio.tls");
#endif
#if LASIO_STATIC_HTTP
    lua_pushcfunction(L, luaopen_asio_http_parser);
    lua_setfield(L, -2, "asio.http_parser");
#endif
#if LASIO_STATIC_WEBSOCKET
    lua_pushcfunction(L, luaopen_asio_websocket);
    lua_setfield(L, -2, "asio.websocket");
#endif
    for (int i = 0; embedded_lua_modules[i].module != nullptr; ++i) {
        lua_pushinteger(L, i);
        lua_pushcclosure(L, load_embedded, 1);
        lua_setfield(L, -2, embedded_lua_modules[i].module);
    }
    lua_pop(L, 2);
    return 0;
}

int open_protected(lua_State* L) {
    preload_all(L);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "asio");
    lua_call(L, 1, 1);
    lua_pushlightuserdata(L, &open_result_key);
    lua_insert(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
    return 0;
}

} // namespace

} // namespace lasio

using namespace lasio;

extern "C" {

int luaasio_preload(lua_State* L) {
    if (L == nullptr) return LUAASIO_EARG;
    int top = lua_gettop(L);
    if (lua_cpcall(L, [](lua_State* S) { return preload_all(S); }, nullptr) != 0) return LUAASIO_ELUA; // message on top
    lua_settop(L, top);
    return LUAASIO_OK;
}

int luaasio_open(lua_State* L) {
    if (L == nullptr) return LUAASIO_EARG;
    if (lua_cpcall(L, open_protected, nullptr) != 0) return LUAASIO_ELUA; // the message is on top
    lua_pushlightuserdata(L, &open_result_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    lua_pushlightuserdata(L, &open_result_key);
    lua_pushnil(L);
    lua_rawset(L, LUA_REGISTRYINDEX);
    return LUAASIO_OK;
}

} // extern "C"
