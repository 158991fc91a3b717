// SPDX-License-Identifier: MIT
// A connected byte stream (TCP or Unix, plain or TLS): buffered reads, writes, close, timeouts.
#pragma once

#include "base/errors.hpp"
#include "net/framing.hpp"
#include "net/stream_layer.hpp"
#include "sched/runtime.hpp"
#include "sched/wait_slot.hpp"

#include <boost/asio/generic/stream_protocol.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lasio {

/// The bytes of one write, in pieces the caller keeps alive until write returns (write copies
/// what the socket did not take before it waits).
struct write_buffers {
    const net::const_buffer* pieces;
    std::size_t count;
    std::size_t total;
    /// The stack index of the Lua string that is the one piece, or 0: a plain write that must
    /// wait keeps that string on the waiter's stack and sends the rest from it, uncopied.
    int string_idx = 0;
};

/// Timeouts in seconds, < 0 meaning none.
struct stream_timeouts {
    double connect = -1;
    double send = -1;
    double read = -1;
};

/**
 * Owned by its Lua userdata and by each pending Asio handler (shared_from_this), so a collected
 * userdata with an operation in flight leaves no dangling handler. One reader and one writer may
 * wait at the same time (full duplex); a second concurrent reader or writer is a programmer error.
 *
 * Plain sockets use the reactor style: try the non-blocking call, and only when it would block,
 * wait in the reactor for the socket to become readable (or writable), then try again. A waiting
 * reader holds no buffer, and its wait moves no bytes, so cancelling it (timeout, kill) never
 * loses data; a TLS read still in flight appends what it gets to the buffer, where the next read
 * finds it before anything the socket has after it.
 *
 * Idle connections are the many, so the object holds only what every connection uses: the
 * socket, the reader and the storage of its wait (see read_wait_storage). The read buffer is
 * made when bytes must wait for a later call, and what few need (timeouts, a TLS layer, a
 * delimiter, a write that had to wait) lives in an extras block made on first use.
 */
class stream final : public io_object, public std::enable_shared_from_this<stream> {
public:
    /// Bound to the io_context's own executor rather than the type-erased any_io_executor: every
    /// socket and every pending operation is smaller and cheaper to dispatch.
    using socket_type =
        net::basic_stream_socket<net::generic::stream_protocol, net::io_context::executor_type>;

    stream(runtime_ptr rt, socket_type socket);
    ~stream() override;

    /// Each returns the number of results pushed onto L, or yields the calling light thread.
    int read(lua_State* L, light_thread& th, read_request req);
    int write(lua_State* L, light_thread& th, const write_buffers& data);
    /**
     * Copies up to cap bytes that are here now into dst, never waiting: buffered bytes first,
     * then what a plain socket holds. Returns how many (0: none yet); ec is set when the stream
     * ended or failed. For callers that read into memory of their own (read_into).
     */
    std::size_t read_now(char* dst, std::size_t cap, error_code& ec);
    /// Closes; waiters are resumed with nil, "closed" later in the loop.
    void close();
    bool closed() const { return closed_; }

    socket_type& socket() { return socket_.value; }
    const stream_timeouts& timeouts() const;
    /// Sets the timeouts (allocates nothing while none is set).
    void set_timeouts(const stream_timeouts& t);
    /// The layer the stream's bytes pass through (TLS), or null; see stream_layer.
    stream_layer* layer() const;
    /// Puts a layer over the socket (TLS: at connect or accept, or STARTTLS in place).
    void set_layer(std::unique_ptr<stream_layer> layer);
    /// What the layer's operations report (see stream_layer; they reach these through an
    /// adapter in the extras, so that plain connections carry no layer_owner table pointer).
    void on_layer_read(const error_code& ec, const char* data, std::size_t n);
    void on_layer_write(const error_code& ec, std::size_t n);
    /// Whether bytes received in clear text are still buffered (a STARTTLS upgrade refuses them).
    bool has_buffered_input() const { return !buffered().empty(); }
    bool busy() const;
    /**
     * Raises "<fn>: ..." when a read cannot start now: another light thread waits to read, a
     * read is being delivered (a finalizer's read), or a TLS handshake or shutdown owns the
     * socket. Every way of reading checks this first.
     */
    void refuse_read(lua_State* L, const char* fn) const;
    /// Set while a TLS handshake owns the socket: reads and writes are refused meanwhile.
    void set_handshaking(bool on);
    bool handshaking() const;
    /// Whether an Asio read or write is still in flight (e.g. a TLS read its reader left).
    bool io_in_flight() const { return read_waiting_ || write_waiting_; }
    /// Set once a TLS write failed; every later write (and tls_shutdown) fails with it.
    const error_code& write_error() const;

    int cancel_wait(light_thread& th, lua_State* co) override;
    void release_io() override;
    void close_from_runtime() override { close(); }

    /**
     * Room for the one read wait a plain stream has in flight at a time, so that the pending
     * operation of an idle connection is part of the connection instead of an allocation of its
     * own (Asio's recycled blocks would give it one sized for the largest operation that last ran,
     * such as an accept). 96 bytes is what Asio 1.81's reactor needs for it on x86-64; an
     * operation that does not fit is allocated as usual.
     */
    struct read_wait_storage {
        alignas(void*) unsigned char bytes[96];
    };

private:
    struct extras;
    class read_wait_handler;

    /// Received bytes not yet consumed: bytes[pos..]. Made the first time bytes must wait for a
    /// later call (a read_some hands its bytes over straight from the scratch buffer), then kept.
    struct read_buffer {
        std::string bytes;
        std::size_t pos = 0;
        std::size_t scanned = 0; // read_until/read_line: bytes already searched (see find_frame)
    };
    read_buffer& buffer();
    std::string_view buffered() const {
        return rbuf_ ? std::string_view(rbuf_->bytes).substr(rbuf_->pos) : std::string_view();
    }
    bool read_failed() const { return read_error_kind_ != 0; }
    error_code read_error() const;
    void set_read_error(const error_code& ec);
    void consume(std::size_t n);
    /// Pushes f's bytes (or nil, "too long") and consumes them; f came from find_frame.
    int deliver(lua_State* L, const read_request& req, const frame& f);
    int deliver_failure(lua_State* L, const read_request& req, const char* msg);
    template <class Stack> int advance_read(const read_request& req, Stack&& stack);
    /// Calls f with the waiting reader's request (request_kind_ and reader_.owner_word, or extras).
    template <class F> int with_request(F&& f);
    void start_read_wait();
    void on_read_ready(const error_code& ec);

    extras& more();
    /// The stream as its layer's owner (kept alive as the stream itself is); extras must exist.
    std::shared_ptr<layer_owner> as_layer_owner();
    double read_timeout() const;
    /// Writes as much of the pending output as the socket takes now; false when it would block.
    bool flush_now(error_code& ec);
    void start_write_wait();
    void on_write_ready(const error_code& ec);
    void finish_write(const error_code& ec);
    /// Frees the buffers of a closed stream that no copy and no Asio operation still reads.
    void release_buffers();

    /**
     * Held while bytes of the read buffer are copied into Lua strings: the copy allocates, the
     * allocation may run a finalizer, and a finalizer may close this stream or read from it.
     * Closing then leaves the buffer to the end of the copy; reading is refused.
     */
    struct copy_guard {
        explicit copy_guard(stream& s) : s_(s) { ++s_.copying_; }
        ~copy_guard() {
            if (--s_.copying_ == 0 && s_.closed_) s_.release_buffers();
        }
        copy_guard(const copy_guard&) = delete;
        copy_guard& operator=(const copy_guard&) = delete;
        stream& s_;
    };

    /// The socket, destroyed early by release_io (before the io_context goes): a union member
    /// with socket_live_ as its flag is std::optional without the padding of its own flag.
    union socket_slot {
        socket_slot() {}
        ~socket_slot() {}
        socket_type value;
    } socket_;

    // Every idle connection pays for each byte from here on: the fields are ordered and sized so
    // that the object with its shared_ptr control block fills a 256-byte malloc chunk.
    std::unique_ptr<read_buffer> rbuf_;
    wait_slot reader_; // its owner_word: the waiting reader's count (see request_in_extras_)
    std::unique_ptr<extras> extras_;
    // The sticky end of stream or read failure in 5 bytes instead of an error_code's 24: its
    // value, and its category as 0 (none), 1 (system) or 2 (Asio's misc: end of stream); 3 means
    // another category (TLS), whose whole error_code is in extras.
    int read_error_value_ = 0;
    unsigned char read_error_kind_ = 0;
    read_request::kind request_kind_ = read_request::kind::some;
    unsigned char copying_ = 0; // copy_guards alive (a read is refused while one is)
    bool closed_ : 1;
    bool socket_live_ : 1;   // socket_ holds a socket (until release_io)
    bool layered_ : 1;       // extras_->layer is set: the hot paths test this bit instead
    bool read_waiting_ : 1;
    bool drained_ : 1;       // the last read found the socket empty: wait before reading again
    bool write_waiting_ : 1;
    bool request_in_extras_ : 1; // the waiting reader's whole request is in extras

    read_wait_storage read_wait_;
};

} // namespace lasio
