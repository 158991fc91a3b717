// SPDX-License-Identifier: MIT
// Conversions between Lua values and socket endpoints (ip + port, or a Unix path).
#pragma once

#include <lua.hpp>

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace lasio {

namespace net = boost::asio;

/// A port argument: an integer or a numeric string in 0..65535; nullopt when it is neither.
/// Raises when the value is not a number or string at all.
std::optional<unsigned short> check_port(lua_State* L, int idx, const char* fn);

/// An IP literal, or nullopt (also for text with a zero byte, which C parsers would cut short).
std::optional<net::ip::address> parse_ip(std::string_view text);
/// Whether text can name a host at all: not empty, no zero byte (callers answer "host not found").
inline bool could_name_host(std::string_view text) {
    return !text.empty() && text.find('\0') == std::string_view::npos;
}

/// Pushes ip, port (IP family) or path (Unix family) of any socket address; returns the count.
int push_endpoint(lua_State* L, const void* sockaddr_data, std::size_t size);

template <class Endpoint>
int push_endpoint(lua_State* L, const Endpoint& ep) {
    return push_endpoint(L, ep.data(), ep.size());
}

/// The generic (protocol independent) form of an IP endpoint.
inline net::generic::stream_protocol::endpoint to_generic(const net::ip::tcp::endpoint& ep) {
    return net::generic::stream_protocol::endpoint(ep.data(), ep.size(), IPPROTO_TCP);
}

} // namespace lasio
