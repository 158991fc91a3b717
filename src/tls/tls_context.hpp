// SPDX-License-Identifier: MIT
// TLS contexts: an OpenSSL context with our settings (role, verification, certificates, ALPN).
#pragma once

#include "base/errors.hpp"

#include <memory>
#include <optional>
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

    /// What a context is built from (asio.tls_context's table, checked by its binding).
    struct settings {
        role mode = role::client;
        std::optional<bool> verify; // default: clients verify, servers do not ask for certificates
        std::optional<std::string> cert, key, ca; // PEM text, or the name of a file holding it
        std::string alpn_wire; // as the constructor's
    };

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

/**
 * Builds a context and loads its certificates and keys. On failure returns null and sets why to
 * what asio.tls_context returns after nil ("invalid certificate", "invalid key", "key does not
 * match certificate", "invalid ca", "tls error") with OpenSSL's reason as the detail.
 */
std::shared_ptr<tls_context> make_tls_context(tls_context::settings s, failure& why);
#else
class tls_context;
#endif

} // namespace lasio
