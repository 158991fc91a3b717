// SPDX-License-Identifier: MIT
// The transport under Beast's websocket::stream in asio/websocket.so: it reads the bytes Lua fed
// it (what the connection received) and keeps what Beast writes for Lua to send.
//
// Why not the connection's socket itself: asio/websocket.so shares no symbol with the core (as
// asio/http_parser.so and asio/tls.so do not), and the core's connections already carry TCP, Unix
// and TLS alike, with their light-thread waits and timeouts. Beast does the framing, masking,
// UTF-8 checks, control frames and deflate; the connection moves the bytes.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/require.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lasio::ws {

namespace net = boost::asio;
using boost::beast::error_code;

/**
 * The io_contexts of a state's WebSockets. Beast's stream makes a timer, and a timer gives its
 * io_context a reactor, which every poll then polls too: an epoll_wait per call from Lua. So the
 * timers (never started: no Beast timeout is set) get an io_context of their own that nobody
 * polls, and the handlers run on one without a reactor.
 */
struct ws_contexts {
    /// Only the state's own thread ever touches them: no locking inside the schedulers.
    net::io_context run{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE};
    net::io_context timers{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE};
};

/// Runs handlers on ws_contexts::run (always posted, never inline) and names
/// ws_contexts::timers as its execution context, where Beast's timer and its services live.
class split_executor {
public:
    explicit split_executor(ws_contexts& c) noexcept : c_(&c) {}

    net::execution_context& query(net::execution::context_t) const noexcept { return c_->timers; }
    static constexpr net::execution::blocking_t query(net::execution::blocking_t) noexcept {
        return net::execution::blocking.never;
    }
    split_executor require(net::execution::blocking_t::never_t) const noexcept { return *this; }

    template <class F>
    void execute(F&& f) const {
        net::require(c_->run.get_executor(), net::execution::blocking.never).execute(std::forward<F>(f));
    }

    friend bool operator==(const split_executor& a, const split_executor& b) noexcept { return a.c_ == b.c_; }
    friend bool operator!=(const split_executor& a, const split_executor& b) noexcept { return a.c_ != b.c_; }

private:
    ws_contexts* c_;
};

/**
 * An AsyncStream over two byte queues. A read completes at once from the input fed so far, or
 * waits (its handler kept) until feed or feed_eof; a write appends every byte to the output and
 * completes at once, so a Beast operation that only writes finishes within one poll of the
 * executor. Handlers are always posted, never run inside the call that started them.
 */
class pipe_stream {
public:
    using executor_type = split_executor;

    explicit pipe_stream(executor_type ex) : ex_(std::move(ex)) {}

    executor_type get_executor() const noexcept { return ex_; }

    template <class MutableBufferSequence, class ReadToken>
    auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
        return net::async_initiate<ReadToken, void(error_code, std::size_t)>(
            [this](auto handler, const MutableBufferSequence& b) { start_read(b, std::move(handler)); }, token,
            buffers);
    }

    template <class ConstBufferSequence, class WriteToken>
    auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
        return net::async_initiate<WriteToken, void(error_code, std::size_t)>(
            [this](auto handler, const ConstBufferSequence& b) {
                std::size_t n = 0;
                for (auto it = net::buffer_sequence_begin(b); it != net::buffer_sequence_end(b); ++it) {
                    net::const_buffer piece(*it);
                    out_.append(static_cast<const char*>(piece.data()), piece.size());
                    n += piece.size();
                }
                net::post(ex_, net::append(std::move(handler), error_code{}, n));
            },
            token, buffers);
    }

    /// Bytes the connection received; completes a waiting read.
    void feed(const char* data, std::size_t n) {
        if (in_at_ > 0 && in_at_ * 2 >= in_.size()) {
            in_.erase(0, in_at_);
            in_at_ = 0;
        }
        in_.append(data, n);
        complete_read();
    }
    /// The connection ended: a waiting read and every later one fail with eof.
    void feed_eof() {
        eof_ = true;
        complete_read();
    }
    /// Whether a read waits for input (the connection should be read).
    bool wants_input() const { return reader_.has_value(); }
    bool has_output() const { return !out_.empty(); }
    /// Moves the output out.
    std::string take_output() {
        std::string s;
        s.swap(out_);
        return s;
    }
    /// Set when Beast is done with the transport (close handshake over, or the connection failed).
    bool torn_down() const { return torn_down_; }
    void set_torn_down() { torn_down_ = true; }

private:
    template <class Buffers, class Handler>
    void start_read(const Buffers& b, Handler&& h) {
        read_bufs_.clear();
        for (auto it = net::buffer_sequence_begin(b); it != net::buffer_sequence_end(b); ++it)
            read_bufs_.emplace_back(*it);
        // Emplaced, never assigned: Boost 1.81's move assignment of any_completion_handler recurses.
        reader_.emplace(std::forward<Handler>(h));
        if (in_at_ < in_.size() || eof_ || net::buffer_size(read_bufs_) == 0) complete_read();
    }

    void complete_read() {
        if (!reader_) return;
        auto take = [this] {
            handler_type h(std::move(*reader_));
            reader_.reset();
            return h;
        };
        std::size_t n = net::buffer_copy(read_bufs_, net::buffer(in_.data() + in_at_, in_.size() - in_at_));
        if (n == 0 && eof_ && net::buffer_size(read_bufs_) > 0) {
            net::post(ex_, net::append(take(), error_code(net::error::eof), std::size_t{0}));
            return;
        }
        if (n == 0 && net::buffer_size(read_bufs_) > 0) return;
        in_at_ += n;
        if (in_at_ == in_.size()) {
            in_.clear();
            in_at_ = 0;
        }
        net::post(ex_, net::append(take(), error_code{}, n));
    }

    executor_type ex_;
    std::string in_;
    std::size_t in_at_ = 0;
    bool eof_ = false;
    bool torn_down_ = false;
    std::string out_;
    std::vector<net::mutable_buffer> read_bufs_;
    using handler_type = net::any_completion_handler<void(error_code, std::size_t)>;
    std::optional<handler_type> reader_;
};

// Beast's customization points, found by argument-dependent lookup: the teardown ends the
// WebSocket's use of the transport; Lua closes the connection once the output is sent.
inline void teardown(boost::beast::role_type, pipe_stream& s, error_code& ec) {
    s.set_torn_down();
    ec = {};
}

template <class TeardownHandler>
void async_teardown(boost::beast::role_type, pipe_stream& s, TeardownHandler&& handler) {
    s.set_torn_down();
    net::post(s.get_executor(), net::append(std::forward<TeardownHandler>(handler), error_code{}));
}

inline void beast_close_socket(pipe_stream& s) { s.set_torn_down(); }

} // namespace lasio::ws
