// SPDX-License-Identifier: MIT
// The option tables of asio.connect / asio.server, read into net/socket_options.hpp's structs.
#pragma once

#include "net/socket_options.hpp"

#include <lua.hpp>

namespace lasio {

/// Reads the option table at idx (nil or none: defaults); raises on wrong types or unknown keys.
connect_options check_connect_options(lua_State* L, int idx, const char* fn);
/// Reads only the socket options of the table at idx.
socket_options check_socket_options(lua_State* L, int idx, const char* fn);

} // namespace lasio
