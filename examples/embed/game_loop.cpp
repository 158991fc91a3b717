// SPDX-License-Identifier: MIT
// A C++ game host embedding LuaJIT and LuaAsio: a fixed 60 Hz frame loop that runs what the
// scripts have ready once a frame (luaasio_poll) and otherwise sleeps until the next frame, or
// until LuaAsio has work (its descriptor) or a deadline, whichever comes first: a client's
// request is answered within the frame, not at the next one.
//   game_loop SCRIPT [MAX_FRAMES [frame-only]]   (the script prints its port; see game_server.lua)
// "frame-only" polls once a frame and never wakes early: what the bench compares against.
#include <luaasio.h>
#include <lua.hpp>

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

using clock_type = std::chrono::steady_clock;

bool call_frame(lua_State* L, long n) {
    lua_getglobal(L, "frame");
    if (!lua_isfunction(L, -1)) {
        lua_pop(L, 1);
        return true;
    }
    lua_pushinteger(L, n);
    if (lua_pcall(L, 1, 0, 0) != 0) {
        std::fprintf(stderr, "frame: %s\n", lua_tostring(L, -1));
        lua_pop(L, 1);
        return false;
    }
    return true;
}

bool quit_requested(lua_State* L) {
    lua_getglobal(L, "quit");
    bool quit = lua_toboolean(L, -1) != 0;
    lua_pop(L, 1);
    return quit;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s SCRIPT [MAX_FRAMES]\n", argv[0]);
        return 2;
    }
    long max_frames = argc > 2 ? std::atol(argv[2]) : 60 * 60;
    bool frame_only = argc > 3 && std::string(argv[3]) == "frame-only";
    lua_State* L = luaL_newstate();
    luaL_openlibs(L);
    if (luaasio_open(L) != LUAASIO_OK) {
        std::fprintf(stderr, "luaasio_open: %s\n", lua_tostring(L, -1));
        return 1;
    }
    lua_setglobal(L, "asio");
    if (luaL_dofile(L, argv[1]) != 0) {
        std::fprintf(stderr, "%s\n", lua_tostring(L, -1));
        return 1;
    }
    const int loop_fd = luaasio_fd(L); // LUAASIO_ENOTSUP off Linux: then frames and deadlines only
    const auto frame_length = std::chrono::microseconds(1000000 / 60);
    auto next_frame = clock_type::now() + frame_length;
    long frame = 0, woken = 0;
    bool ok = true;
    while (ok && frame < max_frames && !quit_requested(L)) {
        auto until_frame = std::chrono::duration_cast<std::chrono::milliseconds>(next_frame - clock_type::now());
        int wait_ms = static_cast<int>(std::max<long long>(0, until_frame.count()));
        int deadline = luaasio_next_deadline(L);
        if (deadline >= 0 && !frame_only) wait_ms = std::min(wait_ms, deadline);
        pollfd p{loop_fd, POLLIN, 0};
        int ready = poll(&p, loop_fd >= 0 && !frame_only ? 1 : 0, wait_ms);
        if (ready > 0) ++woken;
        if (luaasio_poll(L) < 0) ok = false;
        if (clock_type::now() >= next_frame) {
            ok = ok && call_frame(L, ++frame);
            next_frame += frame_length;
        }
    }
    std::fprintf(stderr, "game_loop: %ld frames, woken %ld times between frames\n", frame, woken);
    lua_close(L); // with whatever the script left alive
    return ok ? 0 : 1;
}
