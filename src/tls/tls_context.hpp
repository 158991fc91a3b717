// SPDX-License-Identifier: MIT
// TLS contexts: an OpenSSL context with our settings (role, verification, certificates, ALPN).
#pragma once

#include "net/tls_engine.hpp"

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>

namespace lasio {

/**
 * Shared by its Lua userdata and by every TLS session made from it, so collecting the userdata
 * never pulls the context from under a live connection. Immutable once built: the ALPN list
 * below is read by OpenSSL's selection callback for as long as the context lives.
 */
class tls_context {
public:
    tls_context(bool server, bool verify, std::string alpn_wire);
    tls_context(const tls_context&) = delete;
    tls_context& operator=(const tls_context&) = delete;

    boost::asio::ssl::context& ssl() { return ctx_; }
    bool server() const { return server_; }
    /// Whether peers are verified (clients: certificate chain and host name).
    bool verify() const { return verify_; }

    const std::string& alpn_wire() const { return alpn_wire_; }

private:
    boost::asio::ssl::context ctx_;
    bool server_;
    bool verify_;
    std::string alpn_wire_;
};

/// Builds a context and loads its certificates and keys (see tls_engine::make_context), with
/// OpenSSL's reason as the failure's detail.
std::shared_ptr<tls_context> make_tls_context(const tls_settings& s, failure& why);

} // namespace lasio
