// SPDX-License-Identifier: MIT
// LuaAsio for C++ hosts that run Boost.Asio themselves: the module's light threads and the host's
// own handlers in one io_context, run by the host in one OS thread, with no second loop.
//
// Rules:
//  - Same Boost (1.81+) and the same Asio configuration as the library: the CMake package
//    (LuaAsio::luaasio) and pkg-config file carry the BOOST_ASIO_* definitions it was compiled
//    with (among them BOOST_ASIO_SEPARATE_COMPILATION: the library holds Asio's compiled part,
//    the host must not compile another).
//  - One thread: the host runs io (run(), run_one(), poll() per frame ...) on the thread that
//    owns the lua_State, and nowhere else.
//  - Who owns what: the host owns io and keeps it alive until after lua_close(L). The module
//    never stops or restarts it, and holds no work guard on it (a host that wants run() to wait
//    for scripts keeps one of its own). Handlers of the module's still queued in io after
//    lua_close find the runtime closed and do nothing but free what they held; run or destroy
//    io after lua_close to let them go.
//  - asio.run() and the C API's run_for still work, and run io (the host's handlers too) until
//    the scripts have nothing left to wait for.
#pragma once

#include "luaasio.h"

#include <boost/asio/io_context.hpp>

/**
 * Before luaasio_open(L) (or the first require 'asio' in L): the module in L will run on io
 * instead of an io_context of its own. Returns LUAASIO_OK, LUAASIO_EARG when L is null or the
 * module is already open in L.
 *
 *   boost::asio::io_context io;
 *   lua_State* L = luaL_newstate();
 *   luaL_openlibs(L);
 *   luaasio_use_io_context(L, io);
 *   luaasio_open(L);
 *   lua_setglobal(L, "asio");
 *   luaL_dofile(L, "server.lua");
 *   start_my_own_service(io);
 *   io.run();                     // both serve
 */
int luaasio_use_io_context(lua_State* L, boost::asio::io_context& io);
