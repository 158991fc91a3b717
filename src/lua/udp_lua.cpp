// SPDX-License-Identifier: MIT
// Lua bindings of UDP sockets: asio.udp, send/receive, connect, options, multicast groups.
#include "base/close_on_exec.hpp"
#include "base/endpoint.hpp"
#include "base/lua_bridge.hpp"
#include "lua/udp_lua.hpp"
#include "lua/io_handle.hpp"
#include "net/resolve.hpp"
#include "lua/options.hpp"
#include "net/udp_socket.hpp"

#include <boost/asio/ip/multicast.hpp>

#include "base/socket_headers.hpp"

#include <climits>

namespace lasio {

namespace {

using udp = net::ip::udp;

/// Larger than any UDP payload (65507 over IPv4), so the default never truncates.
constexpr std::size_t default_receive_max = 65536;

struct udp_handle {
    std::shared_ptr<udp_socket> s;
};

udp_socket& check_udp(lua_State* L, int idx) {
    return *check_object<udp_handle>(L, idx, udp_metatable).s;
}

std::size_t opt_receive_max(lua_State* L, int idx) {
    if (lua_isnoneornil(L, idx)) return default_receive_max;
    lua_Number v = luaL_checknumber(L, idx);
    if (!(v >= 1)) luaL_argerror(L, idx, "max must be at least 1");
    return v > static_cast<lua_Number>(runtime::scratch_size) ? runtime::scratch_size
                                                               : static_cast<std::size_t>(v);
}

std::string_view check_data(lua_State* L, int idx) {
    size_t len;
    const char* s = luaL_checklstring(L, idx, &len);
    return {s, len};
}

/// The IP literal at idx, or nullopt; raises when it is not a string.
std::optional<net::ip::address> check_ip(lua_State* L, int idx) {
    size_t len;
    const char* s = luaL_checklstring(L, idx, &len);
    return parse_ip(std::string_view(s, len));
}

int l_udp_sendto(lua_State* L) {
    auto& rt = runtime::from(L);
    udp_socket& u = check_udp(L, 1);
    std::string_view data = check_data(L, 2);
    auto ip = check_ip(L, 3);
    auto port = check_port(L, 4, "sendto");
    light_thread& th = rt.current(L, "sendto");
    if (!ip) return push_fail(L, err::invalid_address);
    if (!port || *port == 0) return push_fail(L, err::invalid_port);
    udp::endpoint to(*ip, *port);
    return u.send(L, th, data, &to);
}

int l_udp_send(lua_State* L) {
    auto& rt = runtime::from(L);
    udp_socket& u = check_udp(L, 1);
    std::string_view data = check_data(L, 2);
    light_thread& th = rt.current(L, "send");
    if (!u.closed() && !u.connected())
        return luaL_error(L, "send: the socket is not connected (use connect, or sendto)");
    return u.send(L, th, data, nullptr);
}

int l_udp_recvfrom(lua_State* L) {
    auto& rt = runtime::from(L);
    udp_socket& u = check_udp(L, 1);
    std::size_t max = opt_receive_max(L, 2);
    return u.receive(L, rt.current(L, "recvfrom"), max, true);
}

int l_udp_recv(lua_State* L) {
    auto& rt = runtime::from(L);
    udp_socket& u = check_udp(L, 1);
    std::size_t max = opt_receive_max(L, 2);
    return u.receive(L, rt.current(L, "recv"), max, false);
}

int connect_to(lua_State* L, udp_socket& u, const net::ip::address& addr, unsigned short port) {
    if (u.closed()) return push_fail(L, err::closed);
    error_code ec;
    u.socket().connect(udp::endpoint(addr, port), ec);
    if (ec) return push_fail(L, ec);
    u.set_connected();
    lua_pushboolean(L, 1);
    return 1;
}

int l_udp_connect(lua_State* L) {
    auto& rt = runtime::from(L);
    udp_socket& u = check_udp(L, 1);
    size_t len;
    const char* host = luaL_checklstring(L, 2, &len);
    auto port = check_port(L, 3, "connect");
    if (!port || *port == 0) return push_fail(L, err::invalid_port);
    if (!could_name_host(std::string_view(host, len))) return push_fail(L, err::host_not_found);
    std::string name(host, len);
    error_code ec;
    auto literal = net::ip::make_address(name, ec);
    if (!ec) return connect_to(L, u, literal, *port);
    // A name: resolve it (in a light thread) to an address of the socket's own family.
    light_thread& th = rt.current(L, "connect");
    if (u.closed()) return push_fail(L, err::closed);
    int family = u.socket().local_endpoint(ec).protocol() == udp::v6() ? AF_INET6 : AF_INET;
    auto self = check_object<udp_handle>(L, 1, udp_metatable).s;
    unsigned short p = *port;
    return resolve_and_yield(L, rt, th, name, family, u.timeout(),
                             [self, p](lua_State* co, const error_code& ec,
                                       const std::vector<net::ip::address>& addrs) {
                                 if (ec) return push_fail(co, ec);
                                 return connect_to(co, *self, addrs.front(), p);
                             },
                             1);
}

int l_udp_setoption(lua_State* L) {
    udp_socket& u = check_udp(L, 1);
    static const char* const names[] = {"broadcast", "multicast_loop", "multicast_ttl",
                                        "multicast_interface", "rcvbuf", "sndbuf", "reuseaddr",
                                        "reuseport", nullptr};
    int which = luaL_checkoption(L, 2, nullptr, names);
    luaL_checkany(L, 3);
    // Flags take booleans; sizes and counts integers in their range (checked before closed, so
    // a bad call is an error whatever the socket's state).
    bool on = false;
    if (which <= 1 || which >= 6) on = check_flag(L, 3);
    else if (which == 2) check_integer_in(L, 3, 0, 255);
    else if (which == 4 || which == 5) check_integer_in(L, 3, 1, INT_MAX);
    if (u.closed()) return push_fail(L, err::closed);
    auto& sock = u.socket();
    error_code ec;
    switch (which) {
    case 0:
        sock.set_option(net::socket_base::broadcast(on), ec);
        break;
    case 1:
        sock.set_option(net::ip::multicast::enable_loopback(on), ec);
        break;
    case 2:
        sock.set_option(net::ip::multicast::hops(static_cast<int>(luaL_checkinteger(L, 3))), ec);
        break;
    case 3: {
        // IPv4: the interface's address; IPv6: the interface index.
        if (lua_type(L, 3) == LUA_TNUMBER) {
            sock.set_option(net::ip::multicast::outbound_interface(
                                static_cast<unsigned int>(check_integer_in(L, 3, 0, UINT_MAX))), ec);
            break;
        }
        auto a = check_ip(L, 3);
        if (!a || !a->is_v4()) return push_fail(L, err::invalid_address);
        sock.set_option(net::ip::multicast::outbound_interface(a->to_v4()), ec);
        break;
    }
    case 4:
        sock.set_option(net::socket_base::receive_buffer_size(static_cast<int>(luaL_checkinteger(L, 3))), ec);
        break;
    case 5:
        sock.set_option(net::socket_base::send_buffer_size(static_cast<int>(luaL_checkinteger(L, 3))), ec);
        break;
    case 6:
        sock.set_option(net::socket_base::reuse_address(on), ec);
        break;
    case 7: {
        socket_options o;
        o.reuseport = on;
        ec = apply_socket_options(sock.native_handle(), o);
        break;
    }
    }
    if (ec) return push_fail(L, ec);
    lua_pushboolean(L, 1);
    return 1;
}

int group_op(lua_State* L, bool join) {
    udp_socket& u = check_udp(L, 1);
    auto group = check_ip(L, 2);
    std::optional<net::ip::address> iface;
    unsigned int index = 0;
    bool by_index = lua_type(L, 3) == LUA_TNUMBER;
    if (by_index) index = static_cast<unsigned int>(check_integer_in(L, 3, 0, UINT_MAX));
    else if (!lua_isnoneornil(L, 3) && !(iface = check_ip(L, 3))) return push_fail(L, err::invalid_address);
    if (!group || !group->is_multicast()) return push_fail(L, err::invalid_address);
    // The IPv4 socket API names the interface by its address only.
    if (by_index && group->is_v4()) luaL_argerror(L, 3, "an IPv4 group takes the interface's address");
    if (u.closed()) return push_fail(L, err::closed);
    error_code ec;
    if (group->is_v4()) {
        if (iface && !iface->is_v4()) return push_fail(L, err::invalid_address);
        auto local = iface ? iface->to_v4() : net::ip::address_v4::any();
        if (join) u.socket().set_option(net::ip::multicast::join_group(group->to_v4(), local), ec);
        else u.socket().set_option(net::ip::multicast::leave_group(group->to_v4(), local), ec);
    } else {
        if (join) u.socket().set_option(net::ip::multicast::join_group(group->to_v6(), index), ec);
        else u.socket().set_option(net::ip::multicast::leave_group(group->to_v6(), index), ec);
    }
    if (ec) return push_fail(L, ec);
    lua_pushboolean(L, 1);
    return 1;
}

int l_udp_join_group(lua_State* L) { return group_op(L, true); }
int l_udp_leave_group(lua_State* L) { return group_op(L, false); }

int l_udp_settimeout(lua_State* L) {
    check_udp(L, 1).timeout() = opt_timeout(L, 2);
    return 0;
}

int l_udp_local_address(lua_State* L) {
    udp_socket& u = check_udp(L, 1);
    return push_address(L, u, [&](error_code& ec) { return u.socket().local_endpoint(ec); });
}

int l_udp_remote_address(lua_State* L) {
    udp_socket& u = check_udp(L, 1);
    return push_address(L, u, [&](error_code& ec) { return u.socket().remote_endpoint(ec); },
                        err::not_connected);
}

int l_udp_close(lua_State* L) {
    check_udp(L, 1).close();
    return 0;
}

int l_udp_tostring(lua_State* L) { return push_description(L, "asio.udp_socket", check_udp(L, 1)); }

int l_udp_gc(lua_State* L) { return gc_handle<udp_handle>(L, udp_metatable); }

const luaL_Reg udp_methods[] = {
    {"sendto", l_udp_sendto},
    {"send", l_udp_send},
    {"recvfrom", l_udp_recvfrom},
    {"recv", l_udp_recv},
    {"connect", l_udp_connect},
    {"setoption", l_udp_setoption},
    {"join_group", l_udp_join_group},
    {"leave_group", l_udp_leave_group},
    {"settimeout", l_udp_settimeout},
    {"local_address", l_udp_local_address},
    {"remote_address", l_udp_remote_address},
    {"close", l_udp_close},
    {"__tostring", l_udp_tostring},
    {"__gc", l_udp_gc},
    {nullptr, nullptr},
};

} // namespace

int l_udp(lua_State* L) {
    auto& rt = runtime::from(L);
    std::string ip = "0.0.0.0";
    if (!lua_isnoneornil(L, 1)) {
        size_t len;
        const char* s = luaL_checklstring(L, 1, &len);
        ip.assign(s, len);
    }
    std::optional<unsigned short> port = 0;
    if (!lua_isnoneornil(L, 2)) port = check_port(L, 2, "udp");
    if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
    socket_options opts = check_socket_options(L, 3, "udp");
    if (!port) return push_fail(L, err::invalid_port);
    auto addr = parse_ip(ip);
    if (!addr) return push_fail(L, err::invalid_address);
    error_code ec;
    udp::endpoint ep(*addr, *port);
    udp::socket sock(rt.io());
    sock.open(ep.protocol(), ec);
    if (!ec) close_on_exec(sock.native_handle());
    if (!ec) ec = apply_socket_options(sock.native_handle(), opts);
    if (!ec) sock.bind(ep, ec);
    if (ec) return push_fail(L, ec);
    auto u = std::make_shared<udp_socket>(rt.shared_from_this(), std::move(sock));
    new_object<udp_handle>(L, udp_metatable, udp_handle{std::move(u)});
    return 1;
}

void open_udp(lua_State* L, runtime& rt) {
    rt.push_upvalue(L);
    register_metatable(L, udp_metatable, udp_methods);
}

} // namespace lasio
