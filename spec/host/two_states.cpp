// SPDX-License-Identifier: MIT
// Test host: two lua_States on two OS threads, each running a script that uses asio on its own.
// Usage: two_states SCRIPT; exits 0 when both states ran the script and returned true.
#include <lua.hpp>

#include <cstdio>
#include <string>
#include <thread>

namespace {

bool run_state(const char* script, int index, std::string& error) {
    lua_State* L = luaL_newstate();
    luaL_openlibs(L);
    lua_pushinteger(L, index);
    lua_setglobal(L, "STATE_INDEX");
    bool ok = luaL_dofile(L, script) == 0 && lua_toboolean(L, -1);
    if (!ok) error = lua_tostring(L, -1) ? lua_tostring(L, -1) : "script returned false";
    lua_close(L); // with whatever the script left alive
    return ok;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s SCRIPT\n", argv[0]);
        return 2;
    }
    bool ok[2] = {false, false};
    std::string errors[2];
    std::thread a([&] { ok[0] = run_state(argv[1], 1, errors[0]); });
    std::thread b([&] { ok[1] = run_state(argv[1], 2, errors[1]); });
    a.join();
    b.join();
    for (int i = 0; i < 2; ++i)
        if (!ok[i]) std::fprintf(stderr, "state %d: %s\n", i + 1, errors[i].c_str());
    return ok[0] && ok[1] ? 0 : 1;
}
