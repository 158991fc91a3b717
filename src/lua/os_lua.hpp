// SPDX-License-Identifier: MIT
// Lua bindings of what the operating system gives a daemon: signals, child processes, foreign
// descriptors and the standard streams.
#pragma once

#include "sched/runtime.hpp"

#include <lua.hpp>

namespace lasio {

/// sig = asio.signal(name_or_number, ...)
int l_signal(lua_State* L);
/// p, err = asio.spawn_process(spec)
int l_spawn_process(lua_State* L);
/// asio._reap_without_pidfd(on): for the specs (see reap_without_pidfd)
int l_reap_without_pidfd(lua_State* L);
/// w, err = asio.watch(fd, 'r'|'w'|'rw')
int l_watch(lua_State* L);
/// conn, err = asio.stdin(): standard input as a connection
int l_stdin(lua_State* L);

/// Register the metatables of signal watchers, processes and descriptor watches.
void open_signal(lua_State* L, runtime& rt);
void open_process(lua_State* L, runtime& rt);
void open_watch(lua_State* L, runtime& rt);

} // namespace lasio
