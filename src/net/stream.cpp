// SPDX-License-Identifier: MIT
// Connection mechanics: the read buffer, reactor-style reads and writes, close and timeouts.
#include "net/stream.hpp"

#include "base/lua_bridge.hpp"
#include "sched/pending.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <cstring>
#include <string>

namespace lasio {

namespace {

/// A consumed buffer larger than this is released, so idle connections stay small.
constexpr std::size_t keep_buffer_capacity = 4096;

} // namespace

stream::stream(runtime_ptr rt, socket_type socket) : io_object(std::move(rt)) {
    socket_.emplace(std::move(socket));
    error_code ec;
    socket_->non_blocking(true, ec);
    ++rt_->stats().sockets;
}

stream::~stream() {
    // The Lua side is gone; make sure the descriptor is too.
    if (!closed_) {
        closed_ = true;
        --rt_->stats().sockets;
    }
    layer_.reset();
}

stream::socket_type& stream::socket() { return *socket_; }

void stream::set_layer(std::unique_ptr<stream_layer> layer) { layer_ = std::move(layer); }

// --- reading --------------------------------------------------------------------------------

void stream::consume(std::size_t n) {
    rpos_ += n;
    scanned_ = 0;
    if (rpos_ < rbuf_.size()) {
        // Keep the live part at the front once the dead prefix dominates.
        if (rpos_ > rbuf_.size() / 2 && rpos_ > 4096) {
            rbuf_.erase(0, rpos_);
            rpos_ = 0;
        }
        return;
    }
    rpos_ = 0;
    if (rbuf_.capacity() > keep_buffer_capacity) std::string().swap(rbuf_);
    else rbuf_.clear();
}

int stream::deliver(lua_State* L, const read_request& req, const frame& f) {
    if (f.found == frame::state::too_long) {
        scanned_ = 0;
        return push_fail(L, err::too_long); // the bytes stay buffered
    }
    if (req.what == read_request::kind::ready) {
        lua_pushboolean(L, 1);
        return 1;
    }
    copy_guard copying(*this);
    lua_pushlstring(L, rbuf_.data() + rpos_, f.length);
    consume(f.consume);
    return 1;
}

int stream::deliver_failure(lua_State* L, const read_request& req, const char* msg) {
    copy_guard copying(*this);
    std::string_view partial = buffered();
    if (req.what == read_request::kind::some || req.what == read_request::kind::ready || partial.empty())
        return push_fail(L, msg);
    int n = push_fail(L, msg, partial);
    consume(partial.size());
    return n;
}

/// Completes req from the buffer and from what the socket has now. Returns the number of
/// results pushed onto stack() or 0 when it must wait; stack() is called only to deliver.
template <class Stack>
int stream::advance_read(const read_request& req, Stack&& stack) {
    for (;;) {
        frame f = find_frame(req, buffered(), scanned_);
        if (f.found != frame::state::need_more) return deliver(stack(), req, f);
        if (read_error_) return deliver_failure(stack(), req, error_string(read_error_).c_str());
        // A layer's bytes arrive only through its asynchronous read; a drained socket is left to
        // the reactor, which reads as soon as the kernel reports data (no EAGAIN round trip).
        if (layer_ || drained_ || req.what == read_request::kind::ready) return 0;
        error_code ec;
        scratch_lease lease(*rt_);
        if (lease.get() == nullptr) {
            // A finalizer reading while another copy holds the scratch buffer: read in place.
            std::size_t old = rbuf_.size();
            rbuf_.resize(old + runtime::scratch_size);
            std::size_t got = socket_->read_some(net::buffer(&rbuf_[old], runtime::scratch_size), ec);
            rbuf_.resize(old + got);
            if (would_block(ec)) {
                drained_ = true;
                return 0;
            }
            if (ec) read_error_ = ec;
            else drained_ = got < runtime::scratch_size;
            continue;
        }
        char* scratch = lease.get();
        std::size_t got = socket_->read_some(net::buffer(scratch, runtime::scratch_size), ec);
        if (would_block(ec)) {
            drained_ = true;
            return 0;
        }
        if (ec) {
            read_error_ = ec;
            continue;
        }
        drained_ = got < runtime::scratch_size;
        if (req.what == read_request::kind::some && rpos_ == rbuf_.size()) {
            // Hand the bytes straight from the scratch buffer: no copy for the echo path. The
            // rest is kept first: the copy may run a finalizer that closes this stream.
            std::size_t k = std::min(got, req.n);
            if (got > k) {
                rbuf_.assign(scratch + k, got - k);
                rpos_ = 0;
            }
            copy_guard copying(*this);
            lua_pushlstring(stack(), scratch, k);
            return 1;
        }
        rbuf_.append(scratch, got);
    }
}

void stream::refuse_read(lua_State* L, const char* fn) const {
    if (reader_.th != nullptr)
        luaL_error(L, "%s: another light thread is already reading this connection", fn);
    if (copying_ > 0) luaL_error(L, "%s: this connection is delivering a read (a finalizer may not read it)", fn);
    if (handshaking_) luaL_error(L, "%s: a TLS handshake or shutdown is in progress on this connection", fn);
}

std::size_t stream::read_now(char* dst, std::size_t cap, error_code& ec) {
    if (rpos_ < rbuf_.size()) {
        std::size_t n = std::min(cap, rbuf_.size() - rpos_);
        std::memcpy(dst, rbuf_.data() + rpos_, n);
        consume(n);
        return n;
    }
    if (read_error_) {
        ec = read_error_;
        return 0;
    }
    // A layer's bytes arrive only through its asynchronous read; a receive still in flight (its
    // reader timed out or was killed) may hold the next bytes already: reading past it would
    // hand out later bytes before them. Both deliver into the buffer, for the next call.
    if (layer_ || read_waiting_) return 0;
    std::size_t got = socket_->read_some(net::buffer(dst, cap), ec);
    if (would_block(ec)) {
        ec = {};
        drained_ = true;
        return 0;
    }
    if (ec) {
        read_error_ = ec;
        return 0;
    }
    drained_ = got < cap;
    return got;
}

int stream::read(lua_State* L, light_thread& th, read_request req) {
    if (closed_) return push_fail(L, err::closed);
    refuse_read(L, "read");
    bool fast = rt_->take_fast_path();
    if (fast) {
        if (int n = advance_read(req, [L] { return L; })) return n;
    }
    // Yield first: where the coroutine cannot yield (inside a call from C) it raises, and no
    // wait has been committed yet. Nothing below touches L's stack.
    int suspended = rt_->yield_holding(L, 1);
    request_ = std::move(req);
    reader_.begin(*rt_, th, this, timeouts_.read);
    if (fast) {
        start_read_wait();
    } else {
        // Out of budget: let the others run once, then try again as if the socket were ready.
        read_waiting_ = true;
        net::post(rt_->io(), counted(*rt_, [self = shared_from_this()] { self->on_read_ready({}); }));
    }
    return suspended;
}

void stream::start_read_wait() {
    if (read_waiting_) return; // the wait in flight will serve the current reader
    read_waiting_ = true;
    if (layer_) {
        ++rt_->stats().pending; // the layer's handler is counted down in on_layer_read
        return layer_->start_read(shared_from_this());
    }
    socket_->async_receive(net::buffer(inbox_),
                           counted(*rt_, [self = shared_from_this()](const error_code& ec, std::size_t n) {
                               self->on_received(ec, n);
                           }));
}

void stream::on_received(const error_code& ec, std::size_t n) {
    // Bytes that arrive after their reader left (timeout, kill) stay for the next reader.
    if (n > 0 && !closed_ && !rt_->closing()) {
        if (layer_) {
            // Clear text that raced a STARTTLS upgrade must never pass for TLS-protected data.
            close();
        } else {
            rbuf_.append(inbox_, n);
            drained_ = n < sizeof inbox_;
        }
    }
    on_read_ready(ec);
}

void stream::on_read_ready(const error_code& ec) {
    read_waiting_ = false;
    if (closed_) end_wait_closed(*rt_, reader_); // close() woke it: only a bug would leave one
    if (rt_->closing() || closed_ || reader_.th == nullptr) return;
    if (ec && ec != net::error::operation_aborted) read_error_ = ec;
    if (ec == net::error::operation_aborted) drained_ = false; // nothing was read: look again
    // The reader leaves the slot before its results are made: a finalizer run by making them
    // may close this stream, and must find nobody left to wake.
    claimed_waiter w;
    int n = advance_read(request_, [this, &w] {
        w = reader_.take(*rt_);
        return w.co;
    });
    if (n == 0) {
        start_read_wait();
        return;
    }
    rt_->resume_now(*w.th);
}

void stream::on_layer_read(const error_code& layer_ec, const char* data, std::size_t n) {
    --rt_->stats().pending;
    error_code ec = adopt_error(layer_ec);
    if (!rt_->closing() && !closed_ && n > 0) rbuf_.append(data, n);
    if (ec && ec != net::error::operation_aborted && !read_error_) read_error_ = ec;
    on_read_ready(ec);
}

// --- writing --------------------------------------------------------------------------------

bool stream::flush_now(error_code& ec) {
    while (wpos_ < wbuf_.size()) {
        std::size_t n = socket_->write_some(net::buffer(wbuf_.data() + wpos_, wbuf_.size() - wpos_), ec);
        if (ec) return false;
        wpos_ += n;
    }
    return true;
}

int stream::write(lua_State* L, light_thread& th, const write_buffers& data) {
    if (closed_) return push_fail(L, err::closed);
    if (writer_.th != nullptr)
        return luaL_error(L, "write: another light thread is already writing this connection");
    if (handshaking_) return luaL_error(L, "write: a TLS handshake or shutdown is in progress on this connection");
    if (write_error_) return push_fail(L, write_error_);
    const net::const_buffer* first = data.pieces;
    std::size_t nbuf = data.count;
    std::size_t total = data.total;
    std::size_t written = 0;
    bool fast = rt_->take_fast_path();
    if (!layer_ && fast) {
        error_code ec;
        if (nbuf == 1) {
            while (written < total && !ec) written += socket_->write_some(first[0] + written, ec);
        } else {
            std::vector<net::const_buffer> seq(first, first + nbuf);
            while (written < total) {
                std::size_t n = socket_->write_some(seq, ec);
                if (ec) break;
                written += n;
                // Drop what went out, keep the rest for the next attempt.
                std::size_t i = 0;
                while (i < seq.size() && n >= seq[i].size()) n -= seq[i++].size();
                seq.erase(seq.begin(), seq.begin() + static_cast<long>(i));
                if (!seq.empty()) seq.front() += n;
            }
        }
        if (written == total) {
            lua_pushboolean(L, 1);
            return 1;
        }
        if (!would_block(ec)) return push_fail(L, ec);
    }
    // Keep what is left in our own buffer: the Lua strings may be collected while we wait.
    wbuf_.clear();
    wpos_ = 0;
    std::size_t skip = written;
    for (std::size_t i = 0; i < nbuf; ++i) {
        const char* p = static_cast<const char*>(first[i].data());
        std::size_t len = first[i].size();
        if (skip >= len) {
            skip -= len;
            continue;
        }
        wbuf_.append(p + skip, len - skip);
        skip = 0;
    }
    wtotal_ = total;
    // Yield only now that the rest is copied (the next write starts by clearing the buffer, so a
    // yield that raises inside a call from C leaves nothing behind); commit the wait after it.
    int suspended = rt_->yield_holding(L, 1);
    writer_.begin(*rt_, th, this, timeouts_.send);
    if (fast || layer_) {
        start_write_wait();
    } else {
        write_waiting_ = true;
        net::post(rt_->io(), counted(*rt_, [self = shared_from_this()] { self->on_write_ready({}); }));
    }
    return suspended;
}

void stream::start_write_wait() {
    if (write_waiting_) return;
    write_waiting_ = true;
    if (layer_) {
        ++rt_->stats().pending; // counted down in on_layer_write
        return layer_->start_write(shared_from_this(), net::buffer(wbuf_.data() + wpos_, wbuf_.size() - wpos_));
    }
    socket_->async_wait(socket_type::wait_write, counted(*rt_, [self = shared_from_this()](const error_code& ec) {
                            self->on_write_ready(ec);
                        }));
}

void stream::on_write_ready(const error_code& ec) {
    write_waiting_ = false;
    if (closed_) {
        release_buffers();
        end_wait_closed(*rt_, writer_);
    }
    if (rt_->closing() || closed_ || writer_.th == nullptr) return;
    error_code wec = ec == net::error::operation_aborted ? error_code() : ec;
    if (!wec && flush_now(wec)) return finish_write({});
    if (would_block(wec)) return start_write_wait();
    finish_write(wec);
}

void stream::on_layer_write(const error_code& layer_ec, std::size_t n) {
    --rt_->stats().pending;
    error_code ec = adopt_error(layer_ec);
    write_waiting_ = false;
    wpos_ += n;
    // A TLS session that failed to write cannot write again (a record may be cut short, and
    // OpenSSL may wait for a transport that is gone): later writes fail at once with the error.
    if (ec && ec != net::error::operation_aborted) write_error_ = ec;
    if (closed_) {
        release_buffers(); // close() left the buffer to this handler
        end_wait_closed(*rt_, writer_);
    }
    if (rt_->closing() || closed_ || writer_.th == nullptr) return;
    finish_write(ec);
}

void stream::finish_write(const error_code& ec) {
    wbuf_.clear();
    wpos_ = 0;
    if (wbuf_.capacity() > keep_buffer_capacity) std::string().swap(wbuf_);
    finish_wait(*rt_, writer_, ec);
}

// --- cancel and close ---------------------------------------------------------------------------

/**
 * Cancelling uses socket.cancel(), which aborts the other direction's operation too: both
 * handlers take a bare operation_aborted as "look again" and carry on, so the waiter on the other
 * side never notices. A per-operation cancellation slot would avoid that at the price of memory
 * per connection and work per operation.
 */
int stream::cancel_wait(light_thread& th, lua_State* co) {
    if (reader_.th.get() == &th) {
        reader_ = {};
        // A cancelled receive has transferred nothing, so no byte is lost. A TLS read stays in
        // flight and appends what it gets to the buffer for the next reader.
        if (!layer_) {
            error_code ec;
            socket_->cancel(ec);
        }
        if (co == nullptr) return 0;
        return deliver_failure(co, request_, err::timeout);
    }
    if (writer_.th.get() == &th) {
        writer_ = {};
        std::size_t sent = wtotal_ - (wbuf_.size() - wpos_);
        if (layer_) {
            // A TLS record cut in the middle cannot be resumed: the session is over. The write
            // in flight still reads the buffer: close() leaves it to the write's handler.
            close();
        } else {
            wbuf_.clear();
            wpos_ = 0;
            error_code ec;
            socket_->cancel(ec);
        }
        if (co == nullptr) return 0;
        lua_pushnil(co);
        lua_pushstring(co, err::timeout);
        lua_pushinteger(co, static_cast<lua_Integer>(sent));
        return 3;
    }
    return 0;
}

void stream::close() {
    if (closed_) return;
    closed_ = true;
    --rt_->stats().sockets;
    error_code ec;
    if (socket_) socket_->close(ec); // pending waits complete with operation_aborted
    end_wait_closed(*rt_, reader_);
    end_wait_closed(*rt_, writer_);
    release_buffers();
}

void stream::release_buffers() {
    // A copy into Lua in progress (see copy_guard) releases the read buffer when it ends; a
    // TLS write in flight reads the write buffer until its handler runs, which releases it.
    if (copying_ == 0) {
        std::string().swap(rbuf_);
        rpos_ = 0;
        scanned_ = 0;
    }
    if (!write_waiting_) {
        std::string().swap(wbuf_);
        wpos_ = 0;
    }
}

void stream::release_io() {
    close();
    layer_.reset();
    socket_.reset();
}

} // namespace lasio
