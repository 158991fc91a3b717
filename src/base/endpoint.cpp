// SPDX-License-Identifier: MIT
// Lua <-> endpoint conversions.
#include "base/endpoint.hpp"

#include "base/socket_headers.hpp"

#include <cstdlib>
#include <cstring>

namespace lasio {

std::optional<net::ip::address> parse_ip(std::string_view text) {
    if (text.empty() || text.find('\0') != std::string_view::npos) return std::nullopt;
    boost::system::error_code ec;
    auto a = net::ip::make_address(std::string(text), ec);
    if (ec) return std::nullopt;
    return a;
}

std::optional<unsigned short> check_port(lua_State* L, int idx, const char* fn) {
    int t = lua_type(L, idx);
    if (t != LUA_TNUMBER && t != LUA_TSTRING) {
        luaL_error(L, "bad argument #%d to '%s' (number expected, got %s)", idx, fn,
                   lua_typename(L, t));
    }
    double v;
    if (t == LUA_TNUMBER) {
        v = lua_tonumber(L, idx);
    } else {
        const char* s = lua_tostring(L, idx);
        char* end = nullptr;
        v = std::strtod(s, &end);
        if (*s == '\0' || *end != '\0') return std::nullopt;
    }
    if (!(v >= 0 && v <= 65535) || v != static_cast<double>(static_cast<long>(v))) return std::nullopt;
    return static_cast<unsigned short>(v);
}

int push_endpoint(lua_State* L, const void* data, std::size_t size) {
    const auto* sa = static_cast<const sockaddr*>(data);
    char text[INET6_ADDRSTRLEN] = {0};
    if (size >= sizeof(sockaddr_in) && sa->sa_family == AF_INET) {
        const auto* in = static_cast<const sockaddr_in*>(data);
        inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
        lua_pushstring(L, text);
        lua_pushinteger(L, ntohs(in->sin_port));
        return 2;
    }
    if (size >= sizeof(sockaddr_in6) && sa->sa_family == AF_INET6) {
        const auto* in6 = static_cast<const sockaddr_in6*>(data);
        inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
        lua_pushstring(L, text);
        lua_pushinteger(L, ntohs(in6->sin6_port));
        return 2;
    }
    if (sa->sa_family == AF_UNIX) {
        const auto* un = static_cast<const sockaddr_un*>(data);
        std::size_t len = size > offsetof(sockaddr_un, sun_path) ? size - offsetof(sockaddr_un, sun_path) : 0;
        len = strnlen(un->sun_path, len);
        lua_pushlstring(L, un->sun_path, len);
        return 1;
    }
    lua_pushnil(L);
    lua_pushstring(L, "unknown address family");
    return 2;
}

} // namespace lasio
