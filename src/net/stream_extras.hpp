// SPDX-License-Identifier: MIT
// What few connections need, kept out of the stream object (stream.cpp and stream_write.cpp).
#pragma once

#include "net/stream.hpp"

#include <cstddef>
#include <memory>
#include <string>

namespace lasio {

/// A consumed buffer larger than this is released, so idle connections stay small.
inline constexpr std::size_t keep_buffer_capacity = 4096;

/// Made on first use: timeouts, a layer, a delimiter, a write that waits, TLS's errors.
struct stream::extras {
    /// What the layer reports to: it forwards to the stream (see stream::as_layer_owner).
    struct layer_reports final : layer_owner {
        explicit layer_reports(stream& s) : s(s) {}
        void on_layer_read(const error_code& ec, const char* data, std::size_t n) override {
            s.on_layer_read(ec, data, n);
        }
        void on_layer_write(const error_code& ec, std::size_t n) override { s.on_layer_write(ec, n); }
        stream& s;
    };

    explicit extras(stream& s) : reports(s) {}

    layer_reports reports;
    stream_timeouts timeouts;
    std::unique_ptr<stream_layer> layer;
    // The waiting reader's request when the stream's own fields cannot hold it: it has a
    // delimiter (read_until) or a count past 32 bits.
    read_request waiting_request;
    // Output the socket has not taken yet: output()[wpos..]. A plain write of one string sends
    // the rest from that string, which its writer holds on its stack while it waits (held);
    // other writes copy the rest into wbuf (a layer's write in flight outlives its writer).
    std::string wbuf;
    const char* held = nullptr;
    std::size_t held_size = 0;
    std::size_t wpos = 0;
    std::size_t wtotal = 0;  // bytes of the current write call
    const char* output() const { return held != nullptr ? held : wbuf.data(); }
    std::size_t output_size() const { return held != nullptr ? held_size : wbuf.size(); }
    void clear_output() {
        wbuf.clear();
        held = nullptr;
        held_size = 0;
        wpos = 0;
    }
    wait_slot writer;
    error_code write_error;
    error_code read_error;   // of a category read_error_kind_ does not name
    bool handshaking = false; // a TLS handshake or shutdown owns the socket
};

} // namespace lasio
