// SPDX-License-Identifier: MIT
// The TLS session of one connection: an OpenSSL stream over the connection's own socket.
#pragma once

#include "net/stream.hpp"
#include "tls/tls_context.hpp"

#if LASIO_WITH_TLS
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#endif

#include <vector>

namespace lasio {

#if LASIO_WITH_TLS
/**
 * Layered over the socket by reference, so the socket stays in its stream and a STARTTLS upgrade
 * happens in place. Keeps its context alive for as long as the session exists.
 */
class tls_layer {
public:
    tls_layer(stream::socket_type& socket, std::shared_ptr<tls_context> ctx)
        : ctx_(std::move(ctx)), ssl_(socket, ctx_->ssl()) {}

    net::ssl::stream<stream::socket_type&>& ssl() { return ssl_; }
    tls_context& context() { return *ctx_; }
    /// Incoming ciphertext lands here before decryption appends it to the stream's buffer.
    std::vector<char>& read_buffer() { return read_buffer_; }

private:
    std::shared_ptr<tls_context> ctx_;
    net::ssl::stream<stream::socket_type&> ssl_;
    std::vector<char> read_buffer_;
};
#else
class tls_layer {};
#endif

} // namespace lasio
