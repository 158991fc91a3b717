// SPDX-License-Identifier: MIT
// Lua bindings of OS threads: asio.thread, the handle's join/status, and the codec's spec hooks.
#pragma once

#include <lua.hpp>

namespace lasio {

class runtime;

inline constexpr char os_thread_metatable[] = "asio.os_thread";

/// Registers the handle's metatable and adds thread, _codec_encode, _codec_decode,
/// _codec_roundtrip and _os_threads to the table on top.
void open_os_thread(lua_State* L, runtime& rt);

} // namespace lasio
