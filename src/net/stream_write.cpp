// SPDX-License-Identifier: MIT
// Connection writes: straight to the socket when it takes them, else copied and waited out.
#include "net/stream.hpp"

#include "base/lua_bridge.hpp"
#include "net/stream_extras.hpp"
#include "sched/pending.hpp"

#include <boost/asio/post.hpp>

#include <string>
#include <vector>

namespace lasio {

bool stream::flush_now(error_code& ec) {
    extras& x = *extras_;
    while (x.wpos < x.output_size()) {
        std::size_t n = socket_.value.write_some(net::buffer(x.output() + x.wpos, x.output_size() - x.wpos), ec);
        if (ec) return false;
        x.wpos += n;
    }
    return true;
}

int stream::write(lua_State* L, light_thread& th, const write_buffers& data) {
    if (closed_) return push_fail(L, err::closed);
    if (extras_ && extras_->writer.th != nullptr)
        return luaL_error(L, "write: another light thread is already writing this connection");
    if (handshaking()) return luaL_error(L, "write: a TLS handshake or shutdown is in progress on this connection");
    if (extras_ && extras_->write_error) return push_fail(L, extras_->write_error);
    const net::const_buffer* first = data.pieces;
    std::size_t nbuf = data.count;
    std::size_t total = data.total;
    std::size_t written = 0;
    bool fast = rt_->take_fast_path();
    if (!layered_ && fast) {
        error_code ec;
        if (nbuf == 1) {
            while (written < total && !ec) written += socket_.value.write_some(first[0] + written, ec);
        } else {
            std::vector<net::const_buffer> seq(first, first + nbuf);
            while (written < total) {
                std::size_t n = socket_.value.write_some(seq, ec);
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
    extras& x = more();
    x.clear_output();
    // One string on a plain socket: the waiter's stack keeps it (below), and the rest goes out
    // from it. Anything else is copied into our own buffer: the strings of an array may be
    // collected while we wait (the script may empty the table), and a layer's write in flight
    // reads its bytes even after its writer left.
    bool hold = data.string_idx != 0 && nbuf == 1 && !layered_;
    if (hold) {
        x.held = static_cast<const char*>(first[0].data());
        x.held_size = total;
        x.wpos = written;
    }
    std::size_t skip = written;
    for (std::size_t i = 0; i < nbuf && !hold; ++i) {
        const char* p = static_cast<const char*>(first[i].data());
        std::size_t len = first[i].size();
        if (skip >= len) {
            skip -= len;
            continue;
        }
        x.wbuf.append(p + skip, len - skip);
        skip = 0;
    }
    x.wtotal = total;
    // Yield only now that the rest is copied (the next write starts by clearing the buffer, so a
    // yield that raises inside a call from C leaves nothing behind); commit the wait after it.
    int suspended = hold ? rt_->yield_holding(L, 1, data.string_idx) : rt_->yield_holding(L, 1);
    x.writer.begin(*rt_, th, this, x.timeouts.send);
    if (fast || layered_) {
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
    extras& x = *extras_;
    if (layered_) {
        ++rt_->stats().pending; // counted down in on_layer_write
        return x.layer->start_write(as_layer_owner(), net::buffer(x.output() + x.wpos, x.output_size() - x.wpos));
    }
    socket_.value.async_wait(socket_type::wait_write, counted(*rt_, [self = shared_from_this()](const error_code& ec) {
                            self->on_write_ready(ec);
                        }));
}

void stream::on_write_ready(const error_code& ec) {
    write_waiting_ = false;
    extras& x = *extras_; // a write waits only once it has its extras
    if (closed_) {
        release_buffers();
        end_wait_closed(*rt_, x.writer);
    }
    if (rt_->closing() || closed_ || x.writer.th == nullptr) return;
    error_code wec = ec == net::error::operation_aborted ? error_code() : ec;
    if (!wec && flush_now(wec)) return finish_write({});
    if (would_block(wec)) return start_write_wait();
    finish_write(wec);
}

void stream::on_layer_write(const error_code& layer_ec, std::size_t n) {
    --rt_->stats().pending;
    error_code ec = adopt_error(layer_ec);
    write_waiting_ = false;
    extras& x = *extras_;
    x.wpos += n;
    // A TLS session that failed to write cannot write again (a record may be cut short, and
    // OpenSSL may wait for a transport that is gone): later writes fail at once with the error.
    if (ec && ec != net::error::operation_aborted) x.write_error = ec;
    if (closed_) {
        release_buffers(); // close() left the buffer to this handler
        end_wait_closed(*rt_, x.writer);
    }
    if (rt_->closing() || closed_ || x.writer.th == nullptr) return;
    finish_write(ec);
}

void stream::finish_write(const error_code& ec) {
    extras& x = *extras_;
    x.clear_output();
    if (x.wbuf.capacity() > keep_buffer_capacity) std::string().swap(x.wbuf);
    finish_wait(*rt_, x.writer, ec);
}

} // namespace lasio
