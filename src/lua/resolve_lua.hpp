// SPDX-License-Identifier: MIT
// Lua binding of name resolution: asio.resolve.
#pragma once

#include <lua.hpp>

namespace lasio {

/// addrs, err = asio.resolve(host [, family])
int l_resolve(lua_State* L);

} // namespace lasio
