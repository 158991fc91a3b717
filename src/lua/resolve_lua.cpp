// SPDX-License-Identifier: MIT
// asio.resolve: IP literals answered at once, names through net/resolve, addresses as a list.
#include "lua/resolve_lua.hpp"

#include "base/endpoint.hpp"
#include "base/lua_bridge.hpp"
#include "net/resolve.hpp"

#include "base/socket_headers.hpp"

namespace lasio {

namespace {

int push_addresses(lua_State* L, const std::vector<net::ip::address>& addrs) {
    lua_createtable(L, static_cast<int>(addrs.size()), 0);
    int i = 0;
    for (const auto& a : addrs) {
        std::string s = a.to_string();
        lua_pushlstring(L, s.data(), s.size());
        lua_rawseti(L, -2, ++i);
    }
    return 1;
}

} // namespace

int l_resolve(lua_State* L) {
    auto& rt = runtime::from(L);
    size_t len;
    const char* host = luaL_checklstring(L, 1, &len);
    static const char* const families[] = {"inet", "inet6", nullptr};
    int family = AF_UNSPEC;
    if (!lua_isnoneornil(L, 2)) family = luaL_checkoption(L, 2, nullptr, families) == 0 ? AF_INET : AF_INET6;
    double timeout = opt_timeout(L, 3);
    light_thread& th = rt.current(L, "resolve");
    if (!could_name_host(std::string_view(host, len))) return push_fail(L, err::host_not_found);
    std::string name(host, len);
    error_code ec;
    auto literal = net::ip::make_address(name, ec);
    if (!ec) {
        // An address resolves to itself, without a trip through the resolver thread.
        if ((family == AF_INET && !literal.is_v4()) || (family == AF_INET6 && !literal.is_v6()))
            return push_fail(L, err::family_not_supported);
        return push_addresses(L, {literal});
    }
    // Like every timed wait of the library, 0 never waits: only a literal answers at once.
    if (timeout == 0) return push_fail(L, err::timeout);
    return resolve_and_yield(L, rt, th, name, family, timeout,
                             [](lua_State* co, const error_code& ec, const std::vector<net::ip::address>& addrs) {
                                 if (ec) return push_fail(co, ec);
                                 return push_addresses(co, addrs);
                             });
}

} // namespace lasio
