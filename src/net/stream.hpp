// SPDX-License-Identifier: MIT
// A connected byte stream (TCP or Unix, plain or TLS): buffered reads, writes, close, timeouts.
#pragma once

#include "base/errors.hpp"
#include "net/framing.hpp"
#include "net/stream_layer.hpp"
#include "sched/runtime.hpp"
#include "sched/wait_slot.hpp"

#include <boost/asio/generic/stream_protocol.hpp>

#include <memory>
#include <optional>
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
 * wait in the reactor, with a small receive into inbox_. Cancelling a wait (timeout, kill) never
 * loses data: a receive still in flight appends what it gets to the buffer, where the next read
 * finds it before anything the socket has after it.
 */
class stream final : public io_object,
                     public wait_target,
                     public layer_owner,
                     public std::enable_shared_from_this<stream> {
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

    socket_type& socket();
    stream_timeouts& timeouts() { return timeouts_; }
    /// The layer the stream's bytes pass through (TLS), or null; see stream_layer.
    stream_layer* layer() const { return layer_.get(); }
    /// Puts a layer over the socket (TLS: at connect or accept, or STARTTLS in place).
    void set_layer(std::unique_ptr<stream_layer> layer);
    /// What the layer's operations report (see stream_layer).
    void on_layer_read(const error_code& ec, const char* data, std::size_t n) override;
    void on_layer_write(const error_code& ec, std::size_t n) override;
    /// Whether bytes received in clear text are still buffered (a STARTTLS upgrade refuses them).
    bool has_buffered_input() const { return rpos_ < rbuf_.size(); }
    bool busy() const { return reader_.th != nullptr || writer_.th != nullptr; }
    /**
     * Raises "<fn>: ..." when a read cannot start now: another light thread waits to read, a
     * read is being delivered (a finalizer's read), or a TLS handshake or shutdown owns the
     * socket. Every way of reading checks this first.
     */
    void refuse_read(lua_State* L, const char* fn) const;
    /// Set while a TLS handshake owns the socket: reads and writes are refused meanwhile.
    void set_handshaking(bool on) { handshaking_ = on; }
    bool handshaking() const { return handshaking_; }
    /// Whether an Asio read or write is still in flight (e.g. a TLS read its reader left).
    bool io_in_flight() const { return read_waiting_ || write_waiting_; }
    /// Set once a TLS write failed; every later write (and tls_shutdown) fails with it.
    const error_code& write_error() const { return write_error_; }

    int cancel_wait(light_thread& th, lua_State* co) override;
    void release_io() override;
    void close_from_runtime() override { close(); }

private:
    std::string_view buffered() const { return std::string_view(rbuf_).substr(rpos_); }
    void consume(std::size_t n);
    /// Pushes f's bytes (or nil, "too long") and consumes them; f came from find_frame.
    int deliver(lua_State* L, const read_request& req, const frame& f);
    int deliver_failure(lua_State* L, const read_request& req, const char* msg);
    template <class Stack> int advance_read(const read_request& req, Stack&& stack);
    void start_read_wait();
    void on_read_ready(const error_code& ec);
    void on_received(const error_code& ec, std::size_t n);

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

    std::optional<socket_type> socket_;
    std::unique_ptr<stream_layer> layer_;
    stream_timeouts timeouts_;
    bool closed_ = false;
    bool handshaking_ = false;
    int copying_ = 0; // copy_guards alive

    std::string rbuf_;       // received, not yet consumed: rbuf_[rpos_..]
    std::size_t rpos_ = 0;
    std::size_t scanned_ = 0; // read_until/read_line: bytes already searched (see find_frame)
    error_code read_error_;   // sticky: end of stream or a failed read
    wait_slot reader_;
    read_request request_;
    bool read_waiting_ = false;
    bool drained_ = false;    // the last read found the socket empty: wait before reading again
    /// Where a waiting plain read lands. Small, because idle connections wait here; when it fills
    /// up, the rest is read straight into the runtime's scratch buffer.
    char inbox_[128];

    std::string wbuf_;        // output the socket has not taken yet: wbuf_[wpos_..]
    std::size_t wpos_ = 0;
    std::size_t wtotal_ = 0;  // bytes of the current write call
    wait_slot writer_;
    bool write_waiting_ = false;
    error_code write_error_;
};

} // namespace lasio
