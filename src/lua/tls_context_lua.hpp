// SPDX-License-Identifier: MIT
// Lua binding of TLS contexts: asio.tls_context, its userdata, the option 'tls' of other calls,
// and loading the TLS engine (asio/tls.so) on first use.
#pragma once

#include "net/tls_engine.hpp"

#include <lua.hpp>

#include <memory>

namespace lasio {

/// Metatable name of TLS contexts.
inline constexpr char tls_context_metatable[] = "asio.tls_context";

/**
 * The installed TLS engine; the first call loads it (require 'asio.tls') and installs it.
 * Raises "<fn>: TLS is not available (...)" when it cannot be loaded.
 */
tls_engine& need_tls_engine(lua_State* L, const char* fn);

/// ctx, err = asio.tls_context{ mode =, cert =, key =, ca =, verify =, alpn = }
int l_tls_context(lua_State* L);
/// A context and what the core checks of it: copied out of its userdata, which a finalizer could
/// destroy while the caller still runs.
struct checked_tls_context {
    std::shared_ptr<tls_context> ctx;
    bool server;
    bool verify;
};
/// The context of the userdata at idx (raises on a wrong type).
checked_tls_context check_tls_context(lua_State* L, int idx);
/// The field `tls` of the option table at idx, or null when absent. Raises on a wrong type and
/// on a context of the wrong role (server_side: a server context is wanted).
std::shared_ptr<tls_context> opt_tls_field(lua_State* L, int idx, const char* fn, bool server_side);
/// Registers the TLS context metatable.
void open_tls_context(lua_State* L);

} // namespace lasio
