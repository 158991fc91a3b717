// SPDX-License-Identifier: MIT
// TLS sessions: client setup (SNI, host check), failures, the accept hook of TLS servers, shutdown, info.
#include "tls/tls_session.hpp"

#include "net/server.hpp"
#include "tls/tls_layer.hpp"
#include "sched/pending.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>

#if LASIO_WITH_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#endif

#include <algorithm>
#include <cctype>
#include <vector>

namespace lasio {

#if LASIO_WITH_TLS

namespace {

namespace ssl = net::ssl;

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

/// OpenSSL's reason without the library suffix: "wrong version number".
std::string reason_of(const error_code& ec) {
    std::string msg = ec.message();
    if (auto paren = msg.find(" ("); paren != std::string::npos) msg.resize(paren);
    return lower(msg);
}

bool is_ssl_error(const error_code& ec) { return ec.category() == net::error::get_ssl_category(); }

} // namespace

error_code start_handshake(const std::shared_ptr<stream>& s, const std::shared_ptr<tls_context>& ctx,
                           const std::string& server_name, handshake_done done) {
    try {
        s->set_layer(std::make_unique<tls_layer>(s->socket(), ctx));
    } catch (const std::exception&) {
        return net::error::no_memory;
    }
    bool client = ctx->mode() == tls_context::role::client;
    SSL* h = tls_of(*s)->ssl().native_handle();
    // Callers refuse empty names; should one slip through, never verify without a name.
    if (client && ctx->verify() && server_name.empty()) return net::error::invalid_argument;
    if (client && !server_name.empty()) {
        error_code ec;
        net::ip::make_address(server_name, ec);
        bool literal = !ec;
        // SNI carries host names only; an address is checked against the certificate's IP SANs.
        if (!literal && SSL_set_tlsext_host_name(h, server_name.c_str()) != 1)
            return net::error::invalid_argument;
        if (ctx->verify()) {
            int ok = literal ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(h), server_name.c_str())
                             : SSL_set1_host(h, server_name.c_str());
            if (ok != 1) return net::error::invalid_argument;
        }
    }
    s->set_handshaking(true);
    tls_of(*s)->ssl().async_handshake(client ? ssl::stream_base::client : ssl::stream_base::server,
                                      counted(s->rt(), [s, done = std::move(done)](const error_code& ec) {
                                          s->set_handshaking(false);
                                          if (s->rt().closing()) return;
                                          done(ec);
                                      }));
    return {};
}

failure describe_handshake_failure(const stream& s, const error_code& ec) {
    const char* msg = err::handshake_failed;
    std::string detail;
    if (s.closed() && ec == net::error::operation_aborted) {
        msg = err::closed;
        detail = "closed during the handshake";
    } else if (is_ssl_error(ec) && ERR_GET_REASON(ec.value()) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        msg = err::certificate_verify_failed;
        long v = s.layer() != nullptr ? SSL_get_verify_result(tls_of(s)->ssl().native_handle()) : X509_V_OK;
        detail = v != X509_V_OK ? lower(X509_verify_cert_error_string(v)) : reason_of(ec);
    } else if (ec == net::error::eof || ec == ssl::error::stream_truncated ||
               ec == net::error::connection_reset) {
        detail = "the peer closed the connection";
    } else if (is_ssl_error(ec)) {
        detail = reason_of(ec);
    } else {
        detail = error_string(ec);
    }
    return failure{msg, std::move(detail)};
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

void start_shutdown(const std::shared_ptr<stream>& s, handshake_done done) {
    s->set_handshaking(true);
    tls_of(*s)->ssl().async_shutdown(counted(s->rt(), [s, done = std::move(done)](const error_code& ec) {
        s->set_handshaking(false);
        if (s->rt().closing()) return;
        // A peer that answers close_notify by closing the TCP connection has shut down too.
        bool peer_closed = ec == net::error::eof || ec == ssl::error::stream_truncated;
        done(peer_closed ? error_code() : ec);
    }));
}

std::optional<tls_session_info> session_info(const stream& s) {
    if (s.closed() || s.layer() == nullptr || s.handshaking()) return std::nullopt;
    auto text = [](const char* p) { return p != nullptr ? std::optional<std::string>(p) : std::nullopt; };
    SSL* h = tls_of(s)->ssl().native_handle();
    tls_session_info info;
    info.version = text(SSL_get_version(h));
    info.cipher = text(SSL_get_cipher_name(h));
    const unsigned char* alpn = nullptr;
    unsigned int alpn_len = 0;
    SSL_get0_alpn_selected(h, &alpn, &alpn_len);
    if (alpn != nullptr && alpn_len > 0) info.alpn.emplace(reinterpret_cast<const char*>(alpn), alpn_len);
    info.server_name = text(SSL_get_servername(h, TLSEXT_NAMETYPE_host_name));
    X509* peer = SSL_get_peer_certificate(h);
    info.peer_verified = peer != nullptr && tls_of(s)->context().verify() && SSL_get_verify_result(h) == X509_V_OK;
    if (peer != nullptr) {
        char buf[256];
        X509_NAME_oneline(X509_get_subject_name(peer), buf, sizeof buf);
        info.peer_subject = buf;
        X509_free(peer);
    }
    return info;
}

#else

void use_tls_on_accept(server&, tls_server_options) {}

#endif

} // namespace lasio
