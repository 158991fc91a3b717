// SPDX-License-Identifier: MIT
// Lua bindings of connections: the userdata and its methods.
#pragma once

#include "net/stream.hpp"

#include <lua.hpp>

#include <memory>

namespace lasio {

/// Metatable name of connections.
inline constexpr char stream_metatable[] = "asio.connection";

/// The userdata behind a connection.
struct stream_handle {
    std::shared_ptr<stream> s;
};

/// Pushes a new connection userdata owning s.
void push_stream(lua_State* L, std::shared_ptr<stream> s);
/// The open-or-closed connection at idx (raises on a wrong type).
stream& check_stream(lua_State* L, int idx);

/// Registers the connection metatable.
void open_stream(lua_State* L, runtime& rt);
/// Adds conn:read_into and conn:write_from (lua/asio/buffers.lua), where LuaJIT has string
/// buffers; after open_stream.
void open_stream_buffers(lua_State* L, runtime& rt);

} // namespace lasio
