// SPDX-License-Identifier: MIT
// TLS sessions on OpenSSL: reads, writes, handshakes, shutdown, what a failure says, session info.
#include "tls/openssl_session.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cctype>

namespace lasio {

namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

/// OpenSSL's reason without the library suffix: "wrong version number".
std::string reason_of(const error_code& ec) {
    std::string msg = ec.message();
    if (auto paren = msg.find(" ("); paren != std::string::npos) msg.resize(paren);
    return lower(msg);
}

bool is_ssl_error(const error_code& ec) { return ec.category() == net::error::get_ssl_category(); }

/// A peer that closes without close_notify has still closed.
bool peer_closed(const error_code& ec) { return ec == net::error::eof || ec == ssl::error::stream_truncated; }

} // namespace

error_code openssl_session::prepare(const std::string& server_name) {
    if (ctx_->server()) return {};
    SSL* h = ssl_.native_handle();
    // Callers refuse empty names; should one slip through, never verify without a name.
    if (ctx_->verify() && server_name.empty()) return net::error::invalid_argument;
    if (server_name.empty()) return {};
    error_code ec;
    net::ip::make_address(server_name, ec);
    bool literal = !ec;
    // SNI carries host names only; an address is checked against the certificate's IP SANs.
    if (!literal && SSL_set_tlsext_host_name(h, server_name.c_str()) != 1) return net::error::invalid_argument;
    if (ctx_->verify()) {
        int ok = literal ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(h), server_name.c_str())
                         : SSL_set1_host(h, server_name.c_str());
        if (ok != 1) return net::error::invalid_argument;
    }
    return {};
}

void openssl_session::start_read(std::shared_ptr<layer_owner> owner) {
    // A TLS record is at most 16 KiB: one read never needs more.
    read_buffer_.resize(16 * 1024);
    ssl_.async_read_some(net::buffer(read_buffer_), [owner = std::move(owner), this](const error_code& ec, std::size_t n) {
        // A peer that closes without close_notify still ends the stream for the reader.
        error_code reported = ec == ssl::error::stream_truncated ? error_code(net::error::eof) : ec;
        owner->on_layer_read(reported, read_buffer_.data(), n);
    });
}

void openssl_session::start_write(std::shared_ptr<layer_owner> owner, net::const_buffer data) {
    net::async_write(ssl_, data, [owner = std::move(owner)](const error_code& ec, std::size_t n) {
        owner->on_layer_write(ec, n);
    });
}

void openssl_session::start_handshake(tls_done done) {
    ssl_.async_handshake(ctx_->server() ? ssl::stream_base::server : ssl::stream_base::client,
                         [done = std::move(done)](const error_code& ec) { done(ec); });
}

void openssl_session::start_shutdown(tls_done done) {
    ssl_.async_shutdown([done = std::move(done)](const error_code& ec) {
        // A peer that answers close_notify by closing the TCP connection has shut down too.
        done(peer_closed(ec) ? error_code() : ec);
    });
}

failure openssl_session::describe_failure(const error_code& ec) const {
    if (is_ssl_error(ec) && ERR_GET_REASON(ec.value()) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        long v = SSL_get_verify_result(handle());
        return failure{err::certificate_verify_failed,
                       v != X509_V_OK ? lower(X509_verify_cert_error_string(v)) : reason_of(ec)};
    }
    if (peer_closed(ec)) return failure{err::handshake_failed, "the peer closed the connection"};
    if (is_ssl_error(ec)) return failure{err::handshake_failed, reason_of(ec)};
    return failure{};
}

tls_session_info openssl_session::info() const {
    auto text = [](const char* p) { return p != nullptr ? std::optional<std::string>(p) : std::nullopt; };
    SSL* h = handle();
    tls_session_info info;
    info.version = text(SSL_get_version(h));
    info.cipher = text(SSL_get_cipher_name(h));
    const unsigned char* alpn = nullptr;
    unsigned int alpn_len = 0;
    SSL_get0_alpn_selected(h, &alpn, &alpn_len);
    if (alpn != nullptr && alpn_len > 0) info.alpn.emplace(reinterpret_cast<const char*>(alpn), alpn_len);
    info.server_name = text(SSL_get_servername(h, TLSEXT_NAMETYPE_host_name));
    X509* peer = SSL_get_peer_certificate(h);
    info.peer_verified = peer != nullptr && ctx_->verify() && SSL_get_verify_result(h) == X509_V_OK;
    if (peer != nullptr) {
        char buf[256];
        X509_NAME_oneline(X509_get_subject_name(peer), buf, sizeof buf);
        info.peer_subject = buf;
        X509_free(peer);
    }
    return info;
}

const char* tls_error_string(const error_code& ec) {
    if (ec == ssl::error::stream_truncated) return err::closed;
    // What OpenSSL reports after the session broke (a corrupt record, say) without an OS error.
    if (ec == ssl::error::unspecified_system_error || ec == ssl::error::unexpected_result) return err::tls_error;
    if (!is_ssl_error(ec)) return nullptr;
    switch (ERR_GET_REASON(static_cast<unsigned long>(ec.value()))) {
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
        return err::certificate_verify_failed;
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        return err::certificate_required;
    default:
        return err::tls_error;
    }
}

} // namespace lasio
