// SPDX-License-Identifier: MIT
// The TLS session of one connection: an OpenSSL stream over the connection's own socket.
#pragma once

#include "net/tls_engine.hpp"
#include "tls/tls_context.hpp"

#include <boost/asio/ssl/stream.hpp>

#include <memory>
#include <string>
#include <vector>

namespace lasio {

/**
 * Over the socket by reference, so the socket stays in its stream and a STARTTLS upgrade happens
 * in place. Keeps its context alive for as long as the session exists.
 */
class openssl_session final : public tls_session {
public:
    openssl_session(stream::socket_type& socket, std::shared_ptr<tls_context> ctx)
        : ctx_(std::move(ctx)), ssl_(socket, ctx_->ssl()) {}

    /// Sets up SNI and the host check of a client (see tls_engine::make_session).
    error_code prepare(const std::string& server_name);

    void start_read(std::shared_ptr<layer_owner> owner) override;
    void start_write(std::shared_ptr<layer_owner> owner, boost::asio::const_buffer data) override;
    void start_handshake(tls_done done) override;
    void start_shutdown(tls_done done) override;
    tls_session_info info() const override;
    failure describe_failure(const error_code& ec) const override;

private:
    /// OpenSSL's handle; its queries take no const handle though they change nothing.
    SSL* handle() const { return const_cast<openssl_session*>(this)->ssl_.native_handle(); }

    std::shared_ptr<tls_context> ctx_;
    boost::asio::ssl::stream<stream::socket_type&> ssl_;
    std::vector<char> read_buffer_; // the clear bytes of a record land here before the stream takes them
};

/// The short string of an OpenSSL or TLS stream error, or null for any other error.
const char* tls_error_string(const error_code& ec);

} // namespace lasio
