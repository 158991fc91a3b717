// SPDX-License-Identifier: MIT
// What every shared object of the module (asio/core, asio/tls, asio/http_parser, asio/websocket)
// needs to be opened by require: its luaopen_ function exported while everything else stays
// hidden (CMAKE_CXX_VISIBILITY_PRESET), and, for the parts that share no symbol with the core,
// their objects' metatables. Header-only, so that each part keeps a copy of its own.
#pragma once

#include <lua.hpp>

#if defined(_WIN32)
#define LASIO_EXPORT extern "C" __declspec(dllexport)
#else
#define LASIO_EXPORT extern "C" __attribute__((visibility("default")))
#endif

namespace lasio {

/// Registers (once per state) the metatable `name` of a standalone part's objects: methods as
/// __index, with __gc, __tostring and __name. Leaves the stack as it was.
inline void register_standalone_metatable(lua_State* L, const char* name, const luaL_Reg* methods,
                                          lua_CFunction gc, lua_CFunction tostring) {
    if (luaL_newmetatable(L, name)) {
        lua_newtable(L);
        luaL_register(L, nullptr, methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, tostring);
        lua_setfield(L, -2, "__tostring");
        lua_pushstring(L, name);
        lua_setfield(L, -2, "__name");
    }
    lua_pop(L, 1);
}

} // namespace lasio
