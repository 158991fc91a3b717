// SPDX-License-Identifier: MIT
// A layer over a stream's socket (TLS is one): the seam through which the stream reads and
// writes when its bytes must pass through something before the socket.
#pragma once

#include "base/errors.hpp"

#include <boost/asio/buffer.hpp>

#include <cstddef>
#include <memory>

namespace lasio {

/**
 * What a layer reports to: the stream it serves. Virtual, so that a layer built into another
 * shared object (asio/tls.so) needs no symbol of the core's.
 */
class layer_owner {
public:
    /// The clear bytes a read brought (data is valid for this call only), or why it ended.
    virtual void on_layer_read(const error_code& ec, const char* data, std::size_t n) = 0;
    virtual void on_layer_write(const error_code& ec, std::size_t n) = 0;

protected:
    ~layer_owner() = default;
};

/**
 * Chosen at run time: a stream without a layer reads and writes its socket directly (reactor
 * style, the fast path); one with a layer moves bytes only through the layer's asynchronous
 * operations. The layer reports back to its owner and keeps the owner alive through the
 * shared_ptr it is handed until it has.
 */
class stream_layer {
public:
    virtual ~stream_layer() = default;

    /// Reads what the peer sends next. An end of stream without the layer's own goodbye is
    /// reported as eof.
    virtual void start_read(std::shared_ptr<layer_owner> owner) = 0;
    /// Writes all of data (which stays valid until the report).
    virtual void start_write(std::shared_ptr<layer_owner> owner, boost::asio::const_buffer data) = 0;
};

} // namespace lasio
