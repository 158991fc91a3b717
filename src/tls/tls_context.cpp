// SPDX-License-Identifier: MIT
// TLS contexts: an OpenSSL context from settings (certificates as files or PEM strings), and ALPN.
#include "tls/tls_context.hpp"

#include <boost/asio/ssl/error.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cctype>

namespace lasio {

namespace {

namespace ssl = boost::asio::ssl;

/// Servers choose by their own preference among what the client offers; no overlap, no ALPN.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void* arg) {
    const std::string& wire = static_cast<tls_context*>(arg)->alpn_wire();
    unsigned char* chosen = nullptr;
    int rc = SSL_select_next_proto(&chosen, outlen, reinterpret_cast<const unsigned char*>(wire.data()),
                                   static_cast<unsigned int>(wire.size()), in, inlen);
    if (rc != OPENSSL_NPN_NEGOTIATED) return SSL_TLSEXT_ERR_NOACK;
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

bool is_ssl(const error_code& ec) { return ec.category() == boost::asio::error::get_ssl_category(); }

/// PEM text is recognised by its armour; anything else names a file.
bool is_pem(const std::string& s) { return s.find("-----BEGIN") != std::string::npos; }

std::string reason_of(const error_code& ec) {
    std::string msg = ec.message();
    if (auto paren = msg.find(" ("); paren != std::string::npos) msg.resize(paren);
    for (char& c : msg) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return msg;
}

/// Loads the certificates and keys; on failure returns the message of the failure (see make_tls_context).
const char* load(tls_context& c, const tls_settings& s, error_code& ec) {
    auto& ctx = c.ssl();
    if (s.cert) {
        if (is_pem(*s.cert)) ctx.use_certificate_chain(boost::asio::buffer(*s.cert), ec);
        else ctx.use_certificate_chain_file(*s.cert, ec);
        if (ec) return err::invalid_certificate;
        if (is_pem(*s.key)) ctx.use_private_key(boost::asio::buffer(*s.key), ssl::context::pem, ec);
        else ctx.use_private_key_file(*s.key, ssl::context::pem, ec);
        if (ec && is_ssl(ec) && ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH)
            return err::key_mismatch;
        if (ec) return err::invalid_key;
        if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
            ec = error_code(static_cast<int>(ERR_get_error()), boost::asio::error::get_ssl_category());
            return err::key_mismatch;
        }
    }
    if (c.verify()) {
        if (s.ca) {
            if (is_pem(*s.ca)) ctx.add_certificate_authority(boost::asio::buffer(*s.ca), ec);
            else ctx.load_verify_file(*s.ca, ec);
        } else {
            ctx.set_default_verify_paths(ec);
        }
        if (ec) return err::invalid_ca;
        auto mode = ssl::verify_peer;
        if (c.server()) mode |= ssl::verify_fail_if_no_peer_cert;
        ctx.set_verify_mode(mode, ec);
        if (ec) return err::invalid_ca;
    } else {
        ctx.set_verify_mode(ssl::verify_none, ec);
    }
    return nullptr;
}

} // namespace

tls_context::tls_context(bool server, bool verify, std::string alpn_wire)
    : ctx_(server ? boost::asio::ssl::context::tls_server : boost::asio::ssl::context::tls_client),
      server_(server), verify_(verify), alpn_wire_(std::move(alpn_wire)) {
    SSL_CTX_set_min_proto_version(ctx_.native_handle(), TLS1_2_VERSION);
    ctx_.set_options(boost::asio::ssl::context::default_workarounds | boost::asio::ssl::context::no_compression);
    if (alpn_wire_.empty()) return;
    if (!server_) {
        SSL_CTX_set_alpn_protos(ctx_.native_handle(), reinterpret_cast<const unsigned char*>(alpn_wire_.data()),
                                static_cast<unsigned int>(alpn_wire_.size()));
    } else {
        SSL_CTX_set_alpn_select_cb(ctx_.native_handle(), select_alpn, this);
    }
}

std::shared_ptr<tls_context> make_tls_context(const tls_settings& s, failure& why) {
    std::shared_ptr<tls_context> ctx;
    const char* failed = nullptr;
    error_code ec;
    try {
        ctx = std::make_shared<tls_context>(s.server, s.verify, s.alpn_wire);
        failed = load(*ctx, s, ec);
    } catch (const std::exception& e) {
        failed = err::tls_error;
        ec = error_code(static_cast<int>(ERR_get_error()), boost::asio::error::get_ssl_category());
    }
    if (failed == nullptr) return ctx;
    why = failure{failed, reason_of(ec)};
    return nullptr;
}

} // namespace lasio
