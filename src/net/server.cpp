// SPDX-License-Identifier: MIT
// Listening TCP servers: bind/listen, the accept loop, and their Lua bindings.
#include "net/server.hpp"

#include "base/endpoint.hpp"
#include "base/errors.hpp"
#include "base/lua_bridge.hpp"
#include "lua/options.hpp"
#include "net/stream.hpp"
#include "tls/tls_session.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <climits>

namespace lasio {

namespace {

/// Pause after EMFILE/ENFILE/ENOBUFS so a full descriptor table does not spin the loop.
constexpr auto accept_backoff = std::chrono::milliseconds(100);

bool resource_exhausted(const error_code& ec) {
    return ec == net::error::no_descriptors || ec == net::error::no_buffer_space ||
           ec == net::error::no_memory || ec.value() == ENFILE;
}

} // namespace

server::server(runtime_ptr rt, acceptor_type acceptor, int handler_ref)
    : io_object(std::move(rt)), handler_ref_(handler_ref) {
    acceptor_.emplace(std::move(acceptor));
    ++rt_->stats().servers;
}

server::~server() {
    if (!closed_) {
        closed_ = true;
        --rt_->stats().servers;
    }
}

void server::start() {
    if (closed_) return;
    ++rt_->stats().pending;
    acceptor_->async_accept([self = shared_from_this()](const error_code& ec, socket_type peer) {
        self->on_accept(ec, std::move(peer));
    });
}

void server::on_accept(const error_code& ec, socket_type peer) {
    --rt_->stats().pending;
    if (closed_ || rt_->closing()) return;
    if (!ec) {
        if (hook_) {
            hook_(*this, std::move(peer));
        } else {
            push_stream(rt_->aux(), std::make_shared<stream>(rt_, std::move(peer)));
            spawn_handler();
        }
    } else if (resource_exhausted(ec)) {
        if (!backoff_) backoff_.emplace(rt_->io());
        backoff_->expires_after(accept_backoff);
        ++rt_->stats().pending;
        backoff_->async_wait([self = shared_from_this()](const error_code&) {
            --self->rt_->stats().pending;
            self->start();
        });
        return;
    }
    start();
}

void server::spawn_handler() {
    lua_State* A = rt_->aux();
    if (closed_) {
        // A deferred accept (a TLS handshake) finished after close: nobody takes the connection.
        if (auto* h = static_cast<stream_handle*>(lua_touserdata(A, -1)); h != nullptr && h->s)
            h->s->close();
        lua_pop(A, 1);
        return;
    }
    // stack of aux: connection
    std::weak_ptr<io_object> conn;
    if (auto* h = static_cast<stream_handle*>(lua_touserdata(A, -1)); h != nullptr) conn = h->s;
    push_ref(A, handler_ref_);
    lua_insert(A, -2); // stack of aux: handler connection
    light_thread& th = rt_->spawn_with_record(A, 1);
    rt_->close_on_error(th, std::move(conn));
    lua_pop(A, 1); // the handle: nobody joins an accept handler
}

void server::close() {
    if (closed_) return;
    closed_ = true;
    --rt_->stats().servers;
    error_code ec;
    if (acceptor_) acceptor_->close(ec);
    if (backoff_) backoff_->cancel();
    if (!rt_->closing()) unref_value(rt_->aux(), handler_ref_);
    auto actions = std::move(close_actions_);
    close_actions_.clear();
    for (auto& action : actions) action();
    hook_ = nullptr;
}

void server::release_io() {
    close();
    backoff_.reset();
    acceptor_.reset();
}

namespace {

server& check_server(lua_State* L, int idx) {
    return *check_object<server_handle>(L, idx, server_metatable).s;
}

int l_server_close(lua_State* L) {
    check_server(L, 1).close();
    return 0;
}

int l_server_local_address(lua_State* L) {
    server& s = check_server(L, 1);
    if (s.closed()) return push_fail(L, err::closed);
    error_code ec;
    auto ep = s.acceptor().local_endpoint(ec);
    if (ec) return push_fail(L, ec);
    return push_endpoint(L, ep);
}

int l_server_tostring(lua_State* L) {
    server& s = check_server(L, 1);
    lua_pushfstring(L, "asio.server (%s%p)", s.closed() ? "closed, " : "", static_cast<void*>(&s));
    return 1;
}

int l_server_gc(lua_State* L) {
    auto* h = finalizable_object<server_handle>(L, 1, server_metatable);
    if (h == nullptr) return 0;
    if (h->s) {
        h->s->close();
        h->s->rt().release_later(std::move(h->s));
    }
    destroy_object<server_handle>(L, 1);
    return 0;
}

const luaL_Reg server_methods[] = {
    {"close", l_server_close},
    {"local_address", l_server_local_address},
    {"__tostring", l_server_tostring},
    {"__gc", l_server_gc},
    {nullptr, nullptr},
};

} // namespace

int l_server(lua_State* L) {
    auto& rt = runtime::from(L);
    size_t len;
    const char* ip = luaL_checklstring(L, 1, &len);
    auto port = check_port(L, 2, "server");
    luaL_checktype(L, 3, LUA_TFUNCTION);
    if (!lua_isnoneornil(L, 4)) luaL_checktype(L, 4, LUA_TTABLE);
    socket_options opts = check_socket_options(L, 4, "server");
    tls_server_options tls = check_tls_server_options(L, 4, "server");
    int backlog = net::socket_base::max_listen_connections;
    if (lua_istable(L, 4)) {
        if (auto b = opt_integer_field(L, 4, "backlog", "server", 1, INT_MAX)) backlog = static_cast<int>(*b);
    }
    if (!port) return push_fail(L, "invalid port");
    auto addr = parse_ip(std::string_view(ip, len));
    if (!addr) return push_fail(L, "invalid address");
    error_code ec;
    net::ip::tcp::endpoint ep(*addr, *port);
    server::acceptor_type acceptor(rt.io());
    acceptor.open(net::generic::stream_protocol(ep.protocol().family(), IPPROTO_TCP), ec);
    if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) ec = apply_socket_options(acceptor.native_handle(), opts);
    if (!ec) acceptor.bind(to_generic(ep), ec);
    if (!ec) acceptor.listen(backlog, ec);
    if (ec) return push_fail(L, ec);
    lua_pushvalue(L, 3);
    int handler_ref = ref_value(L);
    auto s = std::make_shared<server>(rt.shared_from_this(), std::move(acceptor), handler_ref);
    new_object<server_handle>(L, server_metatable, server_handle{s});
    use_tls_on_accept(*s, std::move(tls));
    s->start();
    return 1;
}

void push_server(lua_State* L, std::shared_ptr<server> s) {
    new_object<server_handle>(L, server_metatable, server_handle{std::move(s)});
}

void open_server(lua_State* L, runtime& rt) {
    rt.push_upvalue(L);
    register_metatable(L, server_metatable, server_methods);
}

} // namespace lasio
