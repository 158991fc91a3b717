/* SPDX-License-Identifier: MIT */
/*
 * LuaAsio for host programs: open the module into a lua_State and drive its loop from the host's
 * own main loop (a game's frame loop, an OpenWrt daemon's uloop or poll loop).
 *
 * Link the static library: with CMake, find_package(LuaAsio) then
 * target_link_libraries(app PRIVATE LuaAsio::luaasio); else `pkg-config --cflags --libs luaasio`.
 * The library carries the module's Lua files: a host needs no LUA_PATH or LUA_CPATH.
 *
 * No function lets a Lua error unwind through the caller. Misuse (a null state, a state without
 * the module, a call made while the loop runs) returns a negative error code that
 * luaasio_strerror() describes. Errors raised by the scripts' light threads while the loop runs
 * go to asio.on_error's handler (default: stderr), as under asio.run().
 *
 * Threads: a lua_State and its loop belong to one OS thread; of these functions only
 * luaasio_wake may be called from another (with a waker taken on the loop's thread).
 */
#ifndef LUAASIO_H
#define LUAASIO_H

#ifdef __cplusplus
#include <lua.hpp> /* LuaJIT's C API with C linkage */
extern "C" {
#else
#include <lua.h>
#endif

#define LUAASIO_VERSION_MAJOR 0
#define LUAASIO_VERSION_MINOR 6
#define LUAASIO_VERSION_PATCH 0
#define LUAASIO_VERSION "0.6.0"
/** MAJOR * 10000 + MINOR * 100 + PATCH, for preprocessor tests. */
#define LUAASIO_VERSION_NUM \
    (LUAASIO_VERSION_MAJOR * 10000 + LUAASIO_VERSION_MINOR * 100 + LUAASIO_VERSION_PATCH)

/** The version of the library linked in ("0.6.0"), which may differ from the header's. */
const char* luaasio_version(void);

/** Error codes: every function that can fail returns one of these (negative) on failure. */
enum luaasio_error {
    LUAASIO_OK = 0,
    /* -1 is no error: luaasio_next_deadline's "no timer" */
    LUAASIO_EARG = -2,      /* a null state or waker, or a negative time */
    LUAASIO_ENOMODULE = -3, /* the state has no LuaAsio: call luaasio_open first */
    LUAASIO_EINLOOP = -4,   /* called while the loop runs: from Lua, a handler or a finalizer */
    LUAASIO_ECLOSED = -5,   /* the state is being closed */
    LUAASIO_ELUA = -6,      /* Lua raised (the message is on the stack, see luaasio_open) */
    LUAASIO_ENOTSUP = -7,   /* not available on this platform */
    LUAASIO_ESYS = -8       /* a system call failed (errno tells which way) */
};
/** A short English description of an error code ("the state has no LuaAsio ..."). */
const char* luaasio_strerror(int code);

/**
 * Registers the module's C and Lua parts in package.preload, then requires 'asio' and pushes
 * the module table (the one `require 'asio'` returns). Needs the standard libraries (at least
 * package and coroutine). Returns LUAASIO_OK, or LUAASIO_ELUA with the error message pushed
 * instead of the table.
 *
 *   lua_State* L = luaL_newstate();
 *   luaL_openlibs(L);
 *   if (luaasio_open(L) != LUAASIO_OK) { fprintf(stderr, "%s\n", lua_tostring(L, -1)); return 1; }
 *   lua_setglobal(L, "asio");
 */
int luaasio_open(lua_State* L);
/** Only registers the module in package.preload (scripts then `require 'asio'` themselves). */
int luaasio_preload(lua_State* L);

/**
 * Runs what is ready now without waiting: completions, and one batch of ready light threads.
 * Returns the number of handlers run (0: nothing was ready), or an error code.
 *
 *   for (;;) { poll_input(); luaasio_poll(L); render(); sleep_until_next_frame(); }
 */
int luaasio_poll(lua_State* L);
/**
 * Runs what is ready, then waits for more and runs it, for up to ms milliseconds: returns early
 * when the loop has nothing left to wait for, when asio.stop() or luaasio_stop() was called, or
 * when luaasio_wake() was called from another thread. Returns LUAASIO_OK, or an error code.
 *
 *   luaasio_run_for(L, 16);   // serve the scripts for up to one 60 Hz frame
 */
int luaasio_run_for(lua_State* L, int ms);
/**
 * Milliseconds until the loop needs to run again: 0 when a light thread is runnable or a
 * completion is queued, the time to the earliest timer or timeout otherwise (rounded up), -1
 * when it waits on no timer (only on I/O, or on nothing). A host that polls on the descriptor
 * of luaasio_fd with this as its timeout never sleeps past work. Error codes are below -1.
 *
 *   int wait = luaasio_next_deadline(L);
 *   poll(fds, nfds, wait);    // -1: until a descriptor is ready
 */
int luaasio_next_deadline(lua_State* L);
/** Makes a running luaasio_run_for (or asio.run) return soon, as asio.stop() does. */
int luaasio_stop(lua_State* L);

/**
 * Linux: a descriptor that is readable whenever the loop has work (a socket ready, a timer
 * due, a wake from another thread); the host adds it to its own poll/epoll/uloop set and calls
 * luaasio_poll when it is readable. The module owns it: never read or close it. Returns the
 * descriptor, or LUAASIO_ENOTSUP elsewhere.
 *
 *   struct pollfd p = { luaasio_fd(L), POLLIN, 0 };
 *   if (poll(&p, 1, luaasio_next_deadline(L)) >= 0) luaasio_poll(L);
 */
int luaasio_fd(lua_State* L);

/** A handle that wakes one state's loop from any OS thread; see luaasio_waker_new. */
typedef struct luaasio_waker luaasio_waker;
/**
 * Makes a waker for L's loop (on L's thread). It stays valid after lua_close(L) (waking then
 * does nothing) until luaasio_waker_free. Returns null on misuse.
 */
luaasio_waker* luaasio_waker_new(lua_State* L);
/**
 * From any OS thread: makes a luaasio_run_for blocked on the loop's thread return soon, and the
 * descriptor of luaasio_fd readable. Returns LUAASIO_OK, or LUAASIO_ECLOSED after lua_close.
 *
 *   // input thread:   luaasio_wake(waker);
 */
int luaasio_wake(luaasio_waker* w);
/** Frees a waker (from any thread); null is ignored. */
void luaasio_waker_free(luaasio_waker* w);

#ifdef __cplusplus
}
#endif

#endif /* LUAASIO_H */
