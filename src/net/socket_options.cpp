// SPDX-License-Identifier: MIT
// Socket options set before bind/connect, and the local bind of a connecting socket.
#include "net/socket_options.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cerrno>

namespace lasio {

namespace {

error_code last_socket_error() {
#if defined(_WIN32)
    return error_code(::WSAGetLastError(), boost::system::system_category());
#else
    return error_code(errno, boost::system::system_category());
#endif
}

error_code set_int(native_socket fd, int level, int name, int value) {
    // Winsock takes the value as const char*.
    if (::setsockopt(fd, level, name, reinterpret_cast<const char*>(&value), sizeof value) == 0) return {};
    return last_socket_error();
}

} // namespace

error_code apply_socket_options(native_socket fd, const socket_options& o) {
    error_code ec;
#if defined(_WIN32)
    // SO_REUSEADDR on Windows lets another socket bind the same port and steal its traffic; what
    // it gives on Linux (binding over connections in TIME_WAIT) Windows does without it. So
    // reuseaddr sets nothing, and listeners are exclusive (exclusive_address below). Options
    // Windows has no equivalent for fail rather than doing nothing.
    if ((o.reuseport && *o.reuseport) || (o.transparent && *o.transparent) || o.mark || o.bindtodevice)
        return net::error::operation_not_supported;
#else
    if (o.reuseaddr && (ec = set_int(fd, SOL_SOCKET, SO_REUSEADDR, *o.reuseaddr))) return ec;
#endif
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
            return last_socket_error();
    }
#endif
    return ec;
}

error_code listener_address_rule(native_socket fd) {
#if defined(_WIN32)
    return set_int(fd, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, 1);
#else
    // Binding over connections of an earlier run still in TIME_WAIT; never shares a listening port.
    return set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
#endif
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
