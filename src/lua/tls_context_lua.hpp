// SPDX-License-Identifier: MIT
// Lua binding of TLS contexts: asio.tls_context, its userdata, and the option 'tls' of other calls.
#pragma once

#include <lua.hpp>

#include <memory>

namespace lasio {

class tls_context;

/// Metatable name of TLS contexts.
inline constexpr char tls_context_metatable[] = "asio.tls_context";

/// ctx, err = asio.tls_context{ mode =, cert =, key =, ca =, verify =, alpn = }
int l_tls_context(lua_State* L);
/// The context of the userdata at idx (raises on a wrong type or in a build without TLS).
std::shared_ptr<tls_context> check_tls_context(lua_State* L, int idx);
/// The field `tls` of the option table at idx, or null when absent. Raises on a wrong type, on a
/// context of the wrong role (server_side: a server context is wanted) and in a build without TLS.
std::shared_ptr<tls_context> opt_tls_field(lua_State* L, int idx, const char* fn, bool server_side);
/// Registers the TLS context metatable.
void open_tls_context(lua_State* L);

} // namespace lasio
