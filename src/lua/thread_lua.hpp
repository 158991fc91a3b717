// SPDX-License-Identifier: MIT
// Lua bindings of light threads (the handle methods on coroutines, spawn, park/wake, sleep ...).
#pragma once

#include <lua.hpp>

namespace lasio {

class runtime;

/**
 * Replaces the C spawn_light_thread on top of L by asio/spawn.lua's (Lua on the FFI), when that
 * module loads and the FFI is there; leaves it otherwise.
 */
void push_lua_spawn(lua_State* L, runtime& rt);
/// Gives coroutines the handle methods (join/kill/status) and adds spawn/current/park/wake/
/// sleep/... to the table on top.
void open_light_thread(lua_State* L, runtime& rt);

} // namespace lasio
