// SPDX-License-Identifier: MIT
// A layer over a stream's socket (TLS is one): the seam through which the stream reads and
// writes when its bytes must pass through something before the socket.
#pragma once

#include "base/errors.hpp"

#include <boost/asio/buffer.hpp>

#include <cstddef>
#include <memory>

namespace lasio {

class stream;

/**
 * Chosen at run time: a stream without a layer reads and writes its socket directly (reactor
 * style, the fast path); one with a layer moves bytes only through the layer's asynchronous
 * operations. The layer reports back to the stream (on_layer_read, on_layer_write) and keeps the
 * stream alive through the shared_ptr it is handed until it has.
 */
class stream_layer {
public:
    virtual ~stream_layer() = default;

    /**
     * Reads what the peer sends next; calls s->on_layer_read(ec, data, n) with the clear bytes
     * (data is valid for that call only). An end of stream without the layer's own goodbye is
     * reported as eof.
     */
    virtual void start_read(const std::shared_ptr<stream>& s) = 0;
    /// Writes all of data (which stays valid until the callback); calls s->on_layer_write(ec, n).
    virtual void start_write(const std::shared_ptr<stream>& s, boost::asio::const_buffer data) = 0;
};

} // namespace lasio
