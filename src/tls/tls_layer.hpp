// SPDX-License-Identifier: MIT
// The TLS session of one connection: an OpenSSL stream over the connection's own socket.
#pragma once

#include "net/stream.hpp"
#include "net/stream_layer.hpp"
#include "sched/pending.hpp"
#include "tls/tls_context.hpp"

#if LASIO_WITH_TLS
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#endif

#include <vector>

namespace lasio {

#if LASIO_WITH_TLS
/**
 * The stream layer of a TLS session, over the socket by reference, so the socket stays in its
 * stream and a STARTTLS upgrade happens in place. Keeps its context alive for as long as the
 * session exists.
 */
class tls_layer final : public stream_layer {
public:
    tls_layer(stream::socket_type& socket, std::shared_ptr<tls_context> ctx)
        : ctx_(std::move(ctx)), ssl_(socket, ctx_->ssl()) {}

    net::ssl::stream<stream::socket_type&>& ssl() { return ssl_; }
    tls_context& context() { return *ctx_; }

    void start_read(const std::shared_ptr<stream>& s) override {
        // A TLS record is at most 16 KiB: one read never needs more.
        read_buffer_.resize(16 * 1024);
        ssl_.async_read_some(net::buffer(read_buffer_), counted(s->rt(), [s, this](const error_code& ec, std::size_t n) {
            // A peer that closes without close_notify still ends the stream for the reader.
            error_code reported = ec == net::ssl::error::stream_truncated ? error_code(net::error::eof) : ec;
            s->on_layer_read(reported, read_buffer_.data(), n);
        }));
    }

    void start_write(const std::shared_ptr<stream>& s, net::const_buffer data) override {
        net::async_write(ssl_, data,
                         counted(s->rt(), [s](const error_code& ec, std::size_t n) { s->on_layer_write(ec, n); }));
    }

private:
    std::shared_ptr<tls_context> ctx_;
    net::ssl::stream<stream::socket_type&> ssl_;
    std::vector<char> read_buffer_; // ciphertext's clear bytes land here before the stream takes them
};

/// The TLS layer of s, or null when s has none (TLS is the only layer there is).
inline tls_layer* tls_of(const stream& s) { return static_cast<tls_layer*>(s.layer()); }
#endif

} // namespace lasio
