// SPDX-License-Identifier: MIT
// A host that runs a Lua script the way `luajit SCRIPT ARGS...` does, but in a state made with
// lua_newstate and the C library's allocator instead of LuaJIT's own: what a program embedding
// LuaJIT may choose. bench/churn.sh runs its *_sysalloc servers on it, to show what decides the
// memory figure under churn (see bench/README.md, "Churn").
//
//   g++ -O2 -o sysalloc_host bench/sysalloc_host.cpp $(pkg-config --cflags --libs luajit)
//   ./sysalloc_host SCRIPT [ARGS...]
#include <lua.hpp>

#include <cstdio>
#include <cstdlib>

static void* system_alloc(void* ud, void* block, size_t old_size, size_t new_size) {
    (void)ud;
    (void)old_size;
    if (new_size == 0) {
        free(block);
        return nullptr;
    }
    return realloc(block, new_size);
}

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s SCRIPT [ARGS...]\n", argv[0]);
        return 2;
    }
    lua_State* L = lua_newstate(system_alloc, nullptr);
    if (L == nullptr) { // a LuaJIT built without GC64 takes no allocator of the host's
        fprintf(stderr, "%s: this LuaJIT refuses a host's allocator\n", argv[0]);
        return 1;
    }
    luaL_openlibs(L);
    lua_createtable(L, argc, 0); // arg[0] is the script, as luajit has it
    for (int i = 1; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - 1);
    }
    lua_setglobal(L, "arg");
    int failed = luaL_dofile(L, argv[1]);
    if (failed) fprintf(stderr, "%s\n", lua_tostring(L, -1));
    lua_close(L);
    return failed ? 1 : 0;
}
