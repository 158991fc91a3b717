/* SPDX-License-Identifier: MIT */
/* A host linked against the installed library: opens LuaAsio with no LUA_PATH or LUA_CPATH, runs
 * a light thread that serves itself a line over loopback, and drives the loop through the C API. */
#include <luaasio.h>
#include <lauxlib.h>
#include <lualib.h>

#include <stdio.h>

static const char script[] =
    "local s = asio.server('127.0.0.1', 0, function(c) c:write(c:read_line() .. '!\\n'); c:close() end)\n"
    "local _, port = s:local_address()\n"
    "asio.spawn_light_thread(function()\n"
    "  local c = assert(asio.connect('127.0.0.1', port))\n"
    "  c:write('hello\\n'); answer = c:read_line(); c:close(); s:close()\n"
    "end)\n";

int main(void) {
    lua_State* L = luaL_newstate();
    int i;
    luaL_openlibs(L);
    if (luaasio_open(L) != LUAASIO_OK) {
        fprintf(stderr, "luaasio_open: %s\n", lua_tostring(L, -1));
        return 1;
    }
    lua_setglobal(L, "asio");
    if (luaL_dostring(L, script) != 0) {
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
        return 1;
    }
    for (i = 0; i < 500; ++i) {
        lua_getglobal(L, "answer");
        if (lua_isstring(L, -1)) break;
        lua_pop(L, 1);
        luaasio_run_for(L, 10);
    }
    printf("consumer %s: %s\n", luaasio_version(), lua_isstring(L, -1) ? lua_tostring(L, -1) : "(no answer)");
    lua_close(L);
    return 0;
}
