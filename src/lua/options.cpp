// SPDX-License-Identifier: MIT
// Option tables of asio.connect / asio.server.
#include "lua/options.hpp"

#include "base/endpoint.hpp"
#include "base/lua_bridge.hpp"
#include "lua/tls_context_lua.hpp"

#include <climits>
#include <cstdint>

namespace lasio {

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

} // namespace lasio
