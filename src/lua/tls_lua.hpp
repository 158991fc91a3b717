// SPDX-License-Identifier: MIT
// Lua bindings of TLS on connections (STARTTLS, shutdown, info) and the TLS options of servers.
#pragma once

#include "net/tls_stream.hpp"

#include <lua.hpp>

namespace lasio {

/// Reads tls and handshake_timeout from the option table at idx (raises on wrong types).
tls_server_options check_tls_server_options(lua_State* L, int idx, const char* fn);

/// ok, err = conn:tls_handshake(ctx [, { server_name =, timeout = }])
int l_tls_handshake(lua_State* L);
/// ok, err = conn:tls_shutdown([timeout]): sends close_notify and waits for the peer's (or its close).
int l_tls_shutdown(lua_State* L);
/// info = conn:tls_info()
int l_tls_info(lua_State* L);

} // namespace lasio
