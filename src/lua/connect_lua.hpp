// SPDX-License-Identifier: MIT
// Lua bindings of outgoing connections: asio.connect and asio.unix_connect.
#pragma once

#include <lua.hpp>

namespace lasio {

/// conn, err = asio.connect(host, port [, { timeout =, bind =, <socket options>, tls =, server_name = }])
int l_connect(lua_State* L);
/// conn, err = asio.unix_connect(path [, { timeout =, tls =, server_name = }])
int l_unix_connect(lua_State* L);

} // namespace lasio
