// SPDX-License-Identifier: MIT
// TLS on streams through the installed engine: handshakes, failures, the accept hook of TLS
// servers, shutdown, info. The engine does the TLS; this keeps the stream's state around it.
#include "net/tls_stream.hpp"

#include "net/server.hpp"
#include "sched/pending.hpp"

#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <vector>

namespace lasio {

namespace {

std::atomic<tls_engine*> engine{nullptr};

const char* engine_error_string(const error_code& ec) {
    tls_engine* e = engine.load(std::memory_order_acquire);
    return e != nullptr ? e->error_string(ec) : nullptr;
}

/// Runs done (the caller's) from a TLS operation's handler: counted as pending until then, and
/// dropped once the runtime is closing.
tls_done finishing(const std::shared_ptr<stream>& s, tls_done done) {
    ++s->rt().stats().pending;
    return [s, done = std::move(done)](const error_code& ec) {
        --s->rt().stats().pending;
        s->set_handshaking(false);
        if (s->rt().closing()) return;
        done(ec);
    };
}

} // namespace

void install_tls_engine(tls_engine& e) {
    engine.store(&e, std::memory_order_release);
    add_error_strings(engine_error_string);
}

tls_engine* installed_tls_engine() { return engine.load(std::memory_order_acquire); }

error_code start_handshake(const std::shared_ptr<stream>& s, const std::shared_ptr<tls_context>& ctx,
                           const std::string& server_name, tls_done done) {
    tls_engine* e = installed_tls_engine();
    if (e == nullptr) return net::error::operation_not_supported; // no context without an engine
    error_code ec;
    std::unique_ptr<tls_session> session;
    try {
        session = e->make_session(s->socket(), ctx, server_name, ec);
    } catch (const std::exception&) {
        return net::error::no_memory;
    }
    if (session == nullptr) return ec ? ec : error_code(net::error::invalid_argument);
    tls_session& started = *session;
    s->set_layer(std::move(session));
    s->set_handshaking(true);
    started.start_handshake(finishing(s, std::move(done)));
    return {};
}

failure describe_handshake_failure(const stream& s, const error_code& given) {
    error_code ec = adopt_error(given);
    if (s.closed() && ec == net::error::operation_aborted) return failure{err::closed, "closed during the handshake"};
    if (tls_session* session = tls_of(s)) {
        failure f = session->describe_failure(given);
        if (f.message != nullptr) return f;
    }
    if (ec == net::error::eof || ec == net::error::connection_reset)
        return failure{err::handshake_failed, "the peer closed the connection"};
    return failure{err::handshake_failed, error_string(ec)};
}

connect_upgrade tls_client_upgrade(std::shared_ptr<tls_context> ctx, std::string server_name) {
    return [ctx = std::move(ctx), name = std::move(server_name)](const std::shared_ptr<stream>& s,
                                                                 upgrade_done done) {
        return start_handshake(s, ctx, name, [s, done = std::move(done)](const error_code& ec) {
            done(ec, ec ? describe_handshake_failure(*s, ec) : failure{});
        });
    };
}

namespace {

/**
 * A TLS server's handshake with one accepted client, before any light thread exists for it.
 * Owned by its pending handlers; the server's close aborts it through a weak reference.
 */
class tls_accept final : public io_object, public std::enable_shared_from_this<tls_accept> {
public:
    tls_accept(runtime_ptr rt, std::shared_ptr<server> srv, std::shared_ptr<stream> conn)
        : io_object(std::move(rt)), srv_(std::move(srv)), conn_(std::move(conn)) {}

    void start(const tls_server_options& opts) {
        timer_.emplace(rt_->io());
        timer_->expires_after(std::chrono::duration_cast<steady_clock::duration>(
            std::chrono::duration<double>(std::min(opts.handshake_timeout, 1e9))));
        // A client that never completes its handshake must not hold a descriptor forever.
        timer_->async_wait(counted(*rt_, [self = shared_from_this()](const error_code& ec) {
            if (!ec && !self->done_) self->abort();
        }));
        error_code ec = start_handshake(conn_, opts.ctx, std::string(),
                                        [self = shared_from_this()](const error_code& ec) {
                                            self->on_handshake(ec);
                                        });
        if (ec) abort();
    }

    void abort() {
        done_ = true;
        if (conn_) conn_->close();
        if (timer_) timer_->cancel();
    }

    void release_io() override {
        abort();
        timer_.reset();
    }

    /// Never called: no light thread waits on the object itself.
    int cancel_wait(light_thread&, lua_State*) override { return 0; }
    void close_from_runtime() override { abort(); }

private:
    void on_handshake(const error_code& ec) {
        bool was_done = done_;
        done_ = true;
        if (timer_) timer_->cancel();
        std::shared_ptr<stream> conn = std::move(conn_);
        std::shared_ptr<server> srv = std::move(srv_);
        if (rt_->closing()) return;
        if (ec || was_done || conn->closed() || srv->closed()) {
            conn->close();
            return;
        }
        srv->hand_over(std::move(conn));
    }

    std::shared_ptr<server> srv_;
    std::shared_ptr<stream> conn_;
    std::optional<net::steady_timer> timer_;
    bool done_ = false;
};

/// Shared by the accept hook and the close action of one TLS server.
struct tls_accept_state {
    tls_server_options opts;
    std::vector<std::weak_ptr<tls_accept>> inflight;
};

} // namespace

void use_tls_on_accept(server& s, tls_server_options opts) {
    if (!opts.ctx) return;
    auto state = std::make_shared<tls_accept_state>();
    state->opts = std::move(opts);
    s.set_accept_hook([state](server& srv, server::socket_type peer) {
        auto& list = state->inflight;
        list.erase(std::remove_if(list.begin(), list.end(), [](const auto& w) { return w.expired(); }),
                   list.end());
        runtime_ptr rt = srv.rt().shared_from_this();
        auto conn = std::make_shared<stream>(rt, std::move(peer));
        auto op = std::make_shared<tls_accept>(rt, srv.shared_from_this(), std::move(conn));
        list.push_back(op);
        op->start(state->opts);
    });
    s.on_close([state] {
        auto list = std::move(state->inflight);
        state->inflight.clear();
        for (auto& w : list)
            if (auto op = w.lock()) op->abort();
    });
}

void start_shutdown(const std::shared_ptr<stream>& s, tls_done done) {
    s->set_handshaking(true);
    tls_of(*s)->start_shutdown(finishing(s, std::move(done)));
}

std::optional<tls_session_info> session_info(const stream& s) {
    if (s.closed() || s.layer() == nullptr || s.handshaking()) return std::nullopt;
    return tls_of(s)->info();
}

} // namespace lasio
