/* SPDX-License-Identifier: MIT */
/*
 * A plain C host that owns its loop, as an OpenWrt daemon does with uloop: one poll(2) over its
 * own descriptor (stdin) and LuaAsio's (luaasio_fd), with LuaAsio's next deadline as the
 * timeout. It sleeps in poll and still answers every client at once: the descriptor is readable
 * whenever a socket, a timer or a wake-up needs the loop.
 *   uloop_style SCRIPT    (lines on stdin go to the script's on_input; see uloop_echo.lua)
 */
#include <luaasio.h>
#include <lauxlib.h>
#include <lualib.h>

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int call_on_input(lua_State* L, const char* line) {
    lua_getglobal(L, "on_input");
    lua_pushstring(L, line);
    if (lua_pcall(L, 1, 0, 0) != 0) {
        fprintf(stderr, "on_input: %s\n", lua_tostring(L, -1));
        lua_pop(L, 1);
        return 0;
    }
    return 1;
}

static int quit_requested(lua_State* L) {
    int quit;
    lua_getglobal(L, "quit");
    quit = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return quit;
}

int main(int argc, char** argv) {
    lua_State* L;
    struct pollfd fds[2];
    char line[512];
    size_t used = 0;
    int stdin_open = 1, rc = 0;
    long sleeps = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: %s SCRIPT\n", argv[0]);
        return 2;
    }
    L = luaL_newstate();
    luaL_openlibs(L);
    if (luaasio_open(L) != LUAASIO_OK) {
        fprintf(stderr, "luaasio_open: %s\n", lua_tostring(L, -1));
        return 1;
    }
    lua_setglobal(L, "asio");
    if (luaL_dofile(L, argv[1]) != 0) {
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
        return 1;
    }
    fds[0].fd = luaasio_fd(L);
    fds[0].events = POLLIN;
    fds[1].fd = STDIN_FILENO;
    fds[1].events = POLLIN;
    if (fds[0].fd < 0) {
        fprintf(stderr, "luaasio_fd: %s\n", luaasio_strerror(fds[0].fd));
        return 1;
    }
    while (!quit_requested(L)) {
        int timeout = luaasio_next_deadline(L); /* -1: no timer, sleep until a descriptor is ready */
        int n = poll(fds, stdin_open ? 2 : 1, timeout);
        ++sleeps;
        if (n < 0) break;
        if (stdin_open && (fds[1].revents & (POLLIN | POLLHUP))) {
            ssize_t got = read(STDIN_FILENO, line + used, sizeof line - 1 - used);
            if (got <= 0) {
                stdin_open = 0;
            } else {
                char* nl;
                used += (size_t)got;
                line[used] = '\0';
                while ((nl = strchr(line, '\n')) != NULL) {
                    *nl = '\0';
                    call_on_input(L, line);
                    used -= (size_t)(nl + 1 - line);
                    memmove(line, nl + 1, used + 1);
                }
                if (used == sizeof line - 1) used = 0; /* a line too long for us: dropped */
            }
        }
        if (luaasio_poll(L) < 0) {
            rc = 1;
            break;
        }
    }
    fprintf(stderr, "uloop_style: woke %ld times\n", sleeps);
    lua_close(L);
    return rc;
}
