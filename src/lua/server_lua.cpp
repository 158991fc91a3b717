// SPDX-License-Identifier: MIT
// Lua bindings of servers: asio.server, asio.unix_server and the server methods.
#include "lua/server_lua.hpp"

#include "base/close_on_exec.hpp"
#include "base/endpoint.hpp"
#include "base/errors.hpp"
#include "base/lua_bridge.hpp"
#include "lua/stream_lua.hpp"
#include "lua/io_handle.hpp"
#include "lua/options.hpp"
#include "lua/tls_lua.hpp"
#include "net/stream.hpp"
#include "net/unix_socket.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <climits>

namespace lasio {

namespace {

/**
 * A server whose connections each run the script's handler (the function at handler_idx) in a
 * light thread of its own. The handler stays in the registry until the server closes.
 */
std::shared_ptr<server> make_server(lua_State* L, runtime& rt, server::acceptor_type acceptor, int handler_idx) {
    lua_pushvalue(L, handler_idx);
    // Owned by the accept hook, which the server owns: released when the server goes, or (below)
    // when it closes.
    auto handler = std::make_shared<registry_ref>(rt, L);
    auto run_handler = [handler](server& srv, std::shared_ptr<stream> conn) {
        runtime& rt = srv.rt();
        lua_State* A = rt.aux();
        // Nobody else knows of the connection: should the handler raise, the runtime closes it.
        std::weak_ptr<io_object> owned = conn;
        handler->push(A);
        push_stream(A, std::move(conn));
        light_thread& th = rt.spawn_with_record(A, 1);
        rt.close_on_error(th, std::move(owned));
        lua_pop(A, 1); // the handle: nobody joins an accept handler
    };
    auto s = std::make_shared<server>(rt.shared_from_this(), std::move(acceptor), std::move(run_handler));
    s->on_close([handler] { handler->reset(); });
    return s;
}

server& check_server(lua_State* L, int idx) {
    return *check_object<server_handle>(L, idx, server_metatable).s;
}

int l_server_close(lua_State* L) {
    check_server(L, 1).close();
    return 0;
}

int l_server_local_address(lua_State* L) {
    server& s = check_server(L, 1);
    return push_address(L, s, [&](error_code& ec) { return s.acceptor().local_endpoint(ec); });
}

int l_server_tostring(lua_State* L) { return push_description(L, "asio.server", check_server(L, 1)); }

int l_server_gc(lua_State* L) { return gc_handle<server_handle>(L, server_metatable); }

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
    if (!port) return push_fail(L, err::invalid_port);
    auto addr = parse_ip(std::string_view(ip, len));
    if (!addr) return push_fail(L, err::invalid_address);
    error_code ec;
    net::ip::tcp::endpoint ep(*addr, *port);
    server::acceptor_type acceptor(rt.io());
    acceptor.open(net::generic::stream_protocol(ep.protocol().family(), IPPROTO_TCP), ec);
    if (!ec) close_on_exec(acceptor.native_handle());
    if (!ec) ec = listener_address_rule(acceptor.native_handle());
    if (!ec) ec = apply_socket_options(acceptor.native_handle(), opts);
    if (!ec) acceptor.bind(to_generic(ep), ec);
#if defined(_WIN32)
    // A port another socket holds exclusively (or one Windows reserves) is refused as WSAEACCES.
    if (ec == net::error::access_denied) ec = net::error::address_in_use;
#endif
    if (!ec) acceptor.listen(backlog, ec);
    if (ec) return push_fail(L, ec);
    auto s = make_server(L, rt, std::move(acceptor), 3);
    s->set_nodelay(opts.nodelay.value_or(true));
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


int l_unix_server(lua_State* L) {
    auto& rt = runtime::from(L);
    size_t len;
    const char* p = luaL_checklstring(L, 1, &len);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
    int backlog = net::socket_base::max_listen_connections;
    if (lua_istable(L, 3)) {
        if (auto b = opt_integer_field(L, 3, "backlog", "unix_server", 1, INT_MAX)) backlog = static_cast<int>(*b);
    }
    tls_server_options tls = check_tls_server_options(L, 3, "unix_server");
    std::string path(p, len);
    auto ep = unix_endpoint(path);
    if (!ep) return push_fail(L, err::invalid_path);
    error_code ec = clear_stale_socket(path, *ep);
    if (ec) return push_fail(L, ec);
    server::acceptor_type acceptor(rt.io());
    acceptor.open(net::generic::stream_protocol(AF_UNIX, 0), ec);
    if (!ec) close_on_exec(acceptor.native_handle());
    if (!ec) acceptor.bind(*ep, ec);
    auto identity = ec ? std::nullopt : file_identity(path);
    if (!ec) acceptor.listen(backlog, ec);
    if (ec) {
        if (identity) remove_file(path);
        return push_fail(L, ec);
    }
    auto s = make_server(L, rt, std::move(acceptor), 2);
    push_server(L, s);
    // Remove the file on close, but only if it is still ours (not replaced by another server).
    s->on_close([path, identity] {
        if (identity && file_identity(path) == identity) remove_file(path);
    });
    use_tls_on_accept(*s, std::move(tls));
    s->start();
    return 1;
}

} // namespace lasio
