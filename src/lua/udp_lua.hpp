// SPDX-License-Identifier: MIT
// Lua bindings of UDP sockets: asio.udp and the socket methods.
#pragma once

#include "net/udp_socket.hpp"

#include <lua.hpp>

namespace lasio {

/// Metatable name of UDP sockets.
inline constexpr char udp_metatable[] = "asio.udp_socket";

/// u, err = asio.udp([ip [, port [, options]]])
int l_udp(lua_State* L);
/// Registers the UDP socket metatable.
void open_udp(lua_State* L, runtime& rt);

} // namespace lasio
