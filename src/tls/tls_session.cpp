// SPDX-License-Identifier: MIT
// TLS handshakes: client setup (SNI, host check), the accept hook of TLS servers, STARTTLS, info.
#include "tls/tls_session.hpp"

#include "base/lua_bridge.hpp"
#include "lua/tls_context_lua.hpp" // until its bindings move to lua/
#include "net/server.hpp"
#include "tls/tls_layer.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#if LASIO_WITH_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#endif

#include <algorithm>
#include <cctype>
#include <cstring>
#include <vector>

namespace lasio {

tls_server_options check_tls_server_options(lua_State* L, int idx, const char* fn) {
    tls_server_options o;
    if (!lua_istable(L, idx)) return o;
    lua_getfield(L, idx, "handshake_timeout");
    if (lua_type(L, -1) == LUA_TNUMBER) {
        o.handshake_timeout = lua_tonumber(L, -1);
        if (!(o.handshake_timeout >= 0))
            luaL_error(L, "bad argument #%d to '%s' (handshake_timeout must be >= 0)", idx, fn);
    } else if (!lua_isnil(L, -1)) {
        luaL_error(L, "bad argument #%d to '%s' (option 'handshake_timeout' must be a number)", idx, fn);
    }
    lua_pop(L, 1);
    o.ctx = opt_tls_field(L, idx, fn, true);
    return o;
}

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
        s->set_tls(std::make_unique<tls_layer>(s->socket(), ctx));
    } catch (const std::exception&) {
        return net::error::no_memory;
    }
    bool client = ctx->mode() == tls_context::role::client;
    SSL* h = s->tls()->ssl().native_handle();
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
    ++s->rt().stats().pending;
    s->tls()->ssl().async_handshake(client ? ssl::stream_base::client : ssl::stream_base::server,
                                    [s, done = std::move(done)](const error_code& ec) {
                                        s->set_handshaking(false);
                                        --s->rt().stats().pending;
                                        if (s->rt().closing()) return;
                                        done(ec);
                                    });
    return {};
}

failure describe_handshake_failure(const stream& s, const error_code& ec) {
    const char* msg = "handshake failed";
    std::string detail;
    if (s.closed() && ec == net::error::operation_aborted) {
        msg = err::closed;
        detail = "closed during the handshake";
    } else if (is_ssl_error(ec) && ERR_GET_REASON(ec.value()) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        msg = "certificate verify failed";
        long v = s.tls() != nullptr ? SSL_get_verify_result(s.tls()->ssl().native_handle()) : X509_V_OK;
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
        ++rt_->stats().pending;
        // A client that never completes its handshake must not hold a descriptor forever.
        timer_->async_wait([self = shared_from_this()](const error_code& ec) {
            --self->rt_->stats().pending;
            if (!ec && !self->done_) self->abort();
        });
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
        push_stream(rt_->aux(), std::move(conn));
        srv->spawn_handler();
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

/**
 * conn:tls_handshake or conn:tls_shutdown in progress. Owned by the handshake's handler; the waiting thread names it as
 * its wait target. A handshake cut short (timeout, kill) cannot be resumed: it closes the connection.
 */
class handshake_wait final : public wait_target {
public:
    explicit handshake_wait(std::shared_ptr<stream> s, bool shutdown = false)
        : s_(std::move(s)), shutdown_(shutdown) {}

    void wait(light_thread& th, std::uint32_t token) {
        th_ = th.shared_from_this();
        token_ = token;
    }

    int cancel_wait(light_thread&, lua_State* co) override {
        th_.reset();
        s_->close();
        return co != nullptr ? push_fail(co, err::timeout) : 0;
    }

    void on_done(const error_code& ec) {
        thread_ptr th = std::move(th_);
        if (th == nullptr) return;
        runtime& rt = s_->rt();
        lua_State* co = rt.claim(*th, token_);
        if (co == nullptr) return;
        // A peer that answers close_notify by closing the TCP connection has shut down too.
        bool peer_closed = ec == net::error::eof || ec == ssl::error::stream_truncated;
        if (shutdown_ && ec && !peer_closed) {
            push_fail(co, ec);
        } else if (ec && !shutdown_) {
            push_fail(co, describe_handshake_failure(*s_, ec));
            s_->close();
        } else {
            lua_pushboolean(co, 1);
        }
        rt.resume_now(*th);
    }

private:
    std::shared_ptr<stream> s_;
    bool shutdown_;
    thread_ptr th_;
    std::uint32_t token_ = 0;
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

int l_tls_handshake(lua_State* L) {
    auto& rt = runtime::from(L);
    stream& s = check_stream(L, 1);
    std::shared_ptr<tls_context> ctx = check_tls_context(L, 2);
    if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
    std::string name;
    // The handshake completes the connection: the connect timeout applies, else the read one.
    double timeout = s.timeouts().connect >= 0 ? s.timeouts().connect : s.timeouts().read;
    if (lua_istable(L, 3)) {
        if (auto given = opt_string_field(L, 3, "server_name", "tls_handshake")) {
            if (given->empty()) luaL_argerror(L, 3, "option 'server_name' must not be empty");
            name = std::move(*given);
        }
        lua_getfield(L, 3, "timeout");
        if (lua_type(L, -1) == LUA_TNUMBER) {
            timeout = lua_tonumber(L, -1);
            if (!(timeout >= 0)) luaL_argerror(L, 3, "timeout must be >= 0");
        } else if (!lua_isnil(L, -1)) {
            luaL_argerror(L, 3, "option 'timeout' must be a number");
        }
        lua_pop(L, 1);
    }
    light_thread& th = rt.current(L, "tls_handshake");
    if (s.closed()) return push_fail(L, err::closed);
    if (s.tls() != nullptr) return luaL_error(L, "tls_handshake: the connection already uses TLS");
    if (s.busy()) return luaL_error(L, "tls_handshake: another light thread is reading or writing this connection");
    // Bytes received in clear text before the upgrade must never pass for TLS-protected ones.
    if (s.has_buffered_input()) return push_fail(L, "clear text still buffered");
    if (ctx->mode() == tls_context::role::client && name.empty() && ctx->verify()) {
        error_code ec;
        auto peer = s.socket().remote_endpoint(ec);
        if (!ec && (peer.protocol().family() == AF_INET || peer.protocol().family() == AF_INET6)) {
            net::ip::tcp::endpoint ip;
            std::memcpy(ip.data(), peer.data(), std::min(peer.size(), ip.capacity()));
            name = ip.address().to_string();
        } else {
            return luaL_error(L, "tls_handshake: server_name is needed to verify the peer (or a context with verify = false)");
        }
    }
    std::shared_ptr<stream> sp = s.shared_from_this();
    auto w = std::make_shared<handshake_wait>(sp);
    error_code ec = start_handshake(sp, ctx, name, [w](const error_code& ec) { w->on_done(ec); });
    if (ec) {
        s.close();
        return push_fail(L, ec);
    }
    // Where the coroutine cannot yield this raises, and the handshake goes on with nobody
    // waiting for it; commit the wait only once the yield is certain.
    int suspended = rt.yield_holding(L, 1);
    w->wait(th, rt.begin_wait(th, wait_kind::io, w.get(), timeout));
    return suspended;
}

int l_tls_shutdown(lua_State* L) {
    auto& rt = runtime::from(L);
    stream& s = check_stream(L, 1);
    double timeout = lua_isnoneornil(L, 2) ? s.timeouts().send : opt_timeout(L, 2);
    light_thread& th = rt.current(L, "tls_shutdown");
    if (s.closed()) return push_fail(L, err::closed);
    if (s.tls() == nullptr) return luaL_error(L, "tls_shutdown: the connection does not use TLS");
    if (s.busy() || s.handshaking())
        return luaL_error(L, "tls_shutdown: another light thread is using this connection");
    // A read whose reader timed out stays in flight; a second read by the shutdown would clash.
    if (s.io_in_flight()) return push_fail(L, "busy");
    if (s.write_error()) return push_fail(L, s.write_error());
    std::shared_ptr<stream> sp = s.shared_from_this();
    auto w = std::make_shared<handshake_wait>(sp, true);
    s.set_handshaking(true);
    ++rt.stats().pending;
    s.tls()->ssl().async_shutdown([w, sp](const error_code& ec) {
        sp->set_handshaking(false);
        --sp->rt().stats().pending;
        if (sp->rt().closing()) return;
        w->on_done(ec);
    });
    int suspended = rt.yield_holding(L, 1); // first, as in tls_handshake
    w->wait(th, rt.begin_wait(th, wait_kind::io, w.get(), timeout));
    return suspended;
}

int l_tls_info(lua_State* L) {
    stream& s = check_stream(L, 1);
    if (s.closed() || s.tls() == nullptr || s.handshaking()) {
        lua_pushnil(L);
        return 1;
    }
    SSL* h = s.tls()->ssl().native_handle();
    lua_createtable(L, 0, 5);
    lua_pushstring(L, SSL_get_version(h));
    lua_setfield(L, -2, "version");
    lua_pushstring(L, SSL_get_cipher_name(h));
    lua_setfield(L, -2, "cipher");
    const unsigned char* alpn = nullptr;
    unsigned int alpn_len = 0;
    SSL_get0_alpn_selected(h, &alpn, &alpn_len);
    if (alpn != nullptr && alpn_len > 0) {
        lua_pushlstring(L, reinterpret_cast<const char*>(alpn), alpn_len);
        lua_setfield(L, -2, "alpn");
    }
    if (const char* sni = SSL_get_servername(h, TLSEXT_NAMETYPE_host_name)) {
        lua_pushstring(L, sni);
        lua_setfield(L, -2, "server_name");
    }
    X509* peer = SSL_get_peer_certificate(h);
    lua_pushboolean(L, peer != nullptr && s.tls()->context().verify() &&
                           SSL_get_verify_result(h) == X509_V_OK);
    lua_setfield(L, -2, "peer_verified");
    if (peer != nullptr) {
        char buf[256];
        X509_NAME_oneline(X509_get_subject_name(peer), buf, sizeof buf);
        lua_pushstring(L, buf);
        lua_setfield(L, -2, "peer_subject");
        X509_free(peer);
    }
    return 1;
}

#else

void use_tls_on_accept(server&, tls_server_options) {}

int l_tls_handshake(lua_State* L) { return luaL_error(L, "tls_handshake: built without TLS"); }

int l_tls_shutdown(lua_State* L) { return luaL_error(L, "tls_shutdown: built without TLS"); }

int l_tls_info(lua_State* L) {
    check_stream(L, 1);
    lua_pushnil(L);
    return 1;
}

#endif

} // namespace lasio
