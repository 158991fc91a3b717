// SPDX-License-Identifier: MIT
// Option tables of asio.connect / asio.server, and the Linux socket options they set.
#include "lua/socket_options.hpp"

#include "base/endpoint.hpp"
#include "base/lua_bridge.hpp"
#include "tls/tls_context.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>

namespace lasio {

namespace {

error_code set_int(int fd, int level, int name, int value) {
    if (::setsockopt(fd, level, name, &value, sizeof value) == 0) return {};
    return error_code(errno, boost::system::system_category());
}

} // namespace

socket_options check_socket_options(lua_State* L, int idx, const char* fn) {
    socket_options o;
    if (lua_isnoneornil(L, idx)) return o;
    o.reuseaddr = opt_bool_field(L, idx, "reuseaddr", fn);
    o.reuseport = opt_bool_field(L, idx, "reuseport", fn);
    o.transparent = opt_bool_field(L, idx, "transparent", fn);
    o.nodelay = opt_bool_field(L, idx, "nodelay", fn);
    if (auto m = opt_integer_field(L, idx, "mark", fn, 0, UINT32_MAX)) o.mark = static_cast<int>(*m);
    o.bindtodevice = opt_string_field(L, idx, "bindtodevice", fn);
    return o;
}

connect_options check_connect_options(lua_State* L, int idx, const char* fn) {
    connect_options o;
    if (lua_isnoneornil(L, idx)) return o;
    if (!lua_istable(L, idx)) luaL_typerror(L, idx, "table");
    if (auto t = opt_number_field(L, idx, "timeout", fn)) {
        if (!(*t >= 0)) luaL_error(L, "bad argument #%d to '%s' (timeout must be >= 0)", idx, fn);
        o.timeout = *t;
    }
    o.bind = opt_string_field(L, idx, "bind", fn);
    if (o.bind && !parse_ip(*o.bind))
        luaL_error(L, "bad argument #%d to '%s' (option 'bind' must be an IP address)", idx, fn);
    o.socket = check_socket_options(L, idx, fn);
    o.server_name = opt_string_field(L, idx, "server_name", fn);
    // An empty name would verify a certificate without checking whom it names.
    if (o.server_name && o.server_name->empty())
        luaL_error(L, "bad argument #%d to '%s' (option 'server_name' must not be empty)", idx, fn);
    o.tls = opt_tls_field(L, idx, fn, false);
    return o;
}

error_code apply_socket_options(int fd, const socket_options& o) {
    error_code ec;
    if (o.reuseaddr && (ec = set_int(fd, SOL_SOCKET, SO_REUSEADDR, *o.reuseaddr))) return ec;
#ifdef SO_REUSEPORT
    if (o.reuseport && (ec = set_int(fd, SOL_SOCKET, SO_REUSEPORT, *o.reuseport))) return ec;
#endif
    if (o.nodelay && (ec = set_int(fd, IPPROTO_TCP, TCP_NODELAY, *o.nodelay))) return ec;
#ifdef __linux__
    if (o.transparent && (ec = set_int(fd, SOL_IP, IP_TRANSPARENT, *o.transparent))) return ec;
    if (o.mark && (ec = set_int(fd, SOL_SOCKET, SO_MARK, *o.mark))) return ec;
    if (o.bindtodevice) {
        const std::string& dev = *o.bindtodevice;
        if (::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev.c_str(),
                         static_cast<socklen_t>(dev.size())) != 0)
            return error_code(errno, boost::system::system_category());
    }
#endif
    return ec;
}

error_code bind_local(stream::socket_type& s, const std::string& ip, bool v6) {
    error_code ec;
    auto addr = net::ip::make_address(ip, ec);
    if (ec) return ec;
    if (addr.is_v6() != v6) return net::error::address_family_not_supported;
    net::ip::tcp::endpoint ep(addr, 0);
    s.bind(net::generic::stream_protocol::endpoint(ep.data(), ep.size(), IPPROTO_TCP), ec);
    return ec;
}

} // namespace lasio
