// SPDX-License-Identifier: MIT
// conn:tls_handshake (STARTTLS), conn:tls_shutdown, conn:tls_info and the TLS options of servers.
#include "lua/tls_lua.hpp"

#include "base/errors.hpp"
#include "base/lua_bridge.hpp"
#include "lua/stream_lua.hpp"
#include "lua/tls_context_lua.hpp"
#include "net/stream.hpp"

#include <boost/asio/ip/tcp.hpp>

#include "base/socket_headers.hpp"

#include <algorithm>
#include <cstring>

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

namespace {

/**
 * conn:tls_handshake or conn:tls_shutdown in progress. Owned by the handshake's handler; the waiting thread names it as
 * its wait target. A handshake cut short (timeout, kill) cannot be resumed: it closes the connection.
 */
class handshake_wait final : public wait_target {
public:
    explicit handshake_wait(std::shared_ptr<stream> s, bool shutdown = false)
        : s_(std::move(s)), shutdown_(shutdown) {}

    void wait(light_thread& th, std::uint32_t token) {
        waiter_.th = th.shared_from_this();
        waiter_.token = token;
    }

    int cancel_wait(light_thread&, lua_State* co) override {
        waiter_ = {};
        s_->close();
        return co != nullptr ? push_fail(co, err::timeout) : 0;
    }

    void on_done(const error_code& ec) {
        runtime& rt = s_->rt();
        claimed_waiter w = waiter_.take(rt);
        if (w.co == nullptr) return;
        if (shutdown_ && ec) {
            push_fail(w.co, ec);
        } else if (ec) {
            push_fail(w.co, describe_handshake_failure(*s_, ec));
            s_->close();
        } else {
            lua_pushboolean(w.co, 1);
        }
        rt.resume_now(*w.th);
    }

private:
    std::shared_ptr<stream> s_;
    bool shutdown_;
    wait_slot waiter_;
};

/// Sets t[key] = text on the table on top, when there is a text.
void set_text_field(lua_State* L, const char* key, const std::optional<std::string>& text) {
    if (!text) return;
    lua_pushlstring(L, text->data(), text->size());
    lua_setfield(L, -2, key);
}

} // namespace

int l_tls_handshake(lua_State* L) {
    auto& rt = runtime::from(L);
    stream& s = check_stream(L, 1);
    checked_tls_context ctx = check_tls_context(L, 2);
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
    if (s.layer() != nullptr) return luaL_error(L, "tls_handshake: the connection already uses TLS");
    if (s.busy()) return luaL_error(L, "tls_handshake: another light thread is reading or writing this connection");
    // Bytes received in clear text before the upgrade must never pass for TLS-protected ones.
    if (s.has_buffered_input()) return push_fail(L, err::clear_text_buffered);
    if (!ctx.server && name.empty() && ctx.verify) {
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
    error_code ec = start_handshake(sp, ctx.ctx, name, [w](const error_code& ec) { w->on_done(ec); });
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
    if (s.layer() == nullptr) return luaL_error(L, "tls_shutdown: the connection does not use TLS");
    if (s.busy() || s.handshaking())
        return luaL_error(L, "tls_shutdown: another light thread is using this connection");
    // A read whose reader timed out stays in flight; a second read by the shutdown would clash.
    if (s.io_in_flight()) return push_fail(L, err::busy);
    if (s.write_error()) return push_fail(L, s.write_error());
    std::shared_ptr<stream> sp = s.shared_from_this();
    auto w = std::make_shared<handshake_wait>(sp, true);
    start_shutdown(sp, [w](const error_code& ec) { w->on_done(ec); });
    int suspended = rt.yield_holding(L, 1); // first, as in tls_handshake
    w->wait(th, rt.begin_wait(th, wait_kind::io, w.get(), timeout));
    return suspended;
}

int l_tls_info(lua_State* L) {
    std::optional<tls_session_info> info = session_info(check_stream(L, 1));
    if (!info) {
        lua_pushnil(L);
        return 1;
    }
    lua_createtable(L, 0, 5);
    set_text_field(L, "version", info->version);
    set_text_field(L, "cipher", info->cipher);
    set_text_field(L, "alpn", info->alpn);
    set_text_field(L, "server_name", info->server_name);
    lua_pushboolean(L, info->peer_verified);
    lua_setfield(L, -2, "peer_verified");
    set_text_field(L, "peer_subject", info->peer_subject);
    return 1;
}


} // namespace lasio
