// SPDX-License-Identifier: MIT
// asio.tls_context: an OpenSSL context with our settings (role, verification, ALPN), as userdata.
#pragma once

#include <lua.hpp>

#include <memory>
#include <string>

#if LASIO_WITH_TLS
#include <boost/asio/ssl/context.hpp>
#endif

namespace lasio {

#if LASIO_WITH_TLS
/**
 * Shared by its Lua userdata and by every TLS session made from it, so collecting the userdata
 * never pulls the context from under a live connection. Immutable once built: the ALPN list
 * below is read by OpenSSL's selection callback for as long as the context lives.
 */
class tls_context {
public:
    enum class role : unsigned char { client, server };

    /// alpn_wire: length-prefixed protocol names in preference order (empty: no ALPN).
    tls_context(role r, bool verify, std::string alpn_wire);
    tls_context(const tls_context&) = delete;
    tls_context& operator=(const tls_context&) = delete;

    boost::asio::ssl::context& ssl() { return ctx_; }
    role mode() const { return role_; }
    /// Whether peers are verified (clients: certificate chain and host name).
    bool verify() const { return verify_; }

    const std::string& alpn_wire() const { return alpn_wire_; }

private:
    boost::asio::ssl::context ctx_;
    role role_;
    bool verify_;
    std::string alpn_wire_;
};
#else
class tls_context;
#endif

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
