// SPDX-License-Identifier: MIT
// asio.connect(host, port [, options]) and asio.unix_connect(path [, options]).
#pragma once

#include <lua.hpp>

namespace lasio {

/// conn, err = asio.connect(host, port [, { timeout =, bind =, <socket options> }])
int l_connect(lua_State* L);
/// conn, err = asio.unix_connect(path [, { timeout = }])
int l_unix_connect(lua_State* L);

} // namespace lasio
