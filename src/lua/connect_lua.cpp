// SPDX-License-Identifier: MIT
// asio.connect and asio.unix_connect: arguments and options checked here, connecting in net/connect.
#include "lua/connect_lua.hpp"

#include "base/endpoint.hpp"
#include "base/errors.hpp"
#include "lua/options.hpp"
#include "lua/stream_lua.hpp"
#include "net/connect.hpp"
#include "net/unix_socket.hpp"
#include "net/tls_stream.hpp"

namespace lasio {

namespace {

/// The option 'tls' makes the connect end with a client handshake that checks server_name.
connect_upgrade upgrade_of(const connect_options& opts, std::string server_name) {
    if (opts.tls) return tls_client_upgrade(opts.tls, std::move(server_name));
    return nullptr;
}

} // namespace

int l_unix_connect(lua_State* L) {
    auto& rt = runtime::from(L);
    size_t len;
    const char* path = luaL_checklstring(L, 1, &len);
    connect_options opts = check_connect_options(L, 2, "unix_connect");
    light_thread& th = rt.current(L, "unix_connect");
    if (opts.tls && !opts.server_name)
        return luaL_error(L, "unix_connect: option 'server_name' is needed with 'tls'");
    connect_request req;
    req.local = unix_endpoint(std::string(path, len));
    if (!req.local) return push_fail(L, err::invalid_path);
    req.upgrade = upgrade_of(opts, opts.server_name.value_or(std::string()));
    req.opts = std::move(opts);
    req.push_connection = push_stream;
    return connect_and_yield(L, rt, th, std::move(req));
}

int l_connect(lua_State* L) {
    auto& rt = runtime::from(L);
    size_t len;
    const char* host = luaL_checklstring(L, 1, &len);
    auto port = check_port(L, 2, "connect");
    connect_options opts = check_connect_options(L, 3, "connect");
    light_thread& th = rt.current(L, "connect");
    if (!port || *port == 0) return push_fail(L, err::invalid_port);
    // As asio.resolve: an empty name, or one a zero byte would cut short, names no host.
    if (!could_name_host(std::string_view(host, len))) return push_fail(L, err::host_not_found);
    connect_request req;
    req.host.assign(host, len);
    req.port = *port;
    // The host name is what the certificate must name, unless told otherwise.
    req.upgrade = upgrade_of(opts, opts.server_name.value_or(req.host));
    req.opts = std::move(opts);
    req.push_connection = push_stream;
    return connect_and_yield(L, rt, th, std::move(req));
}

} // namespace lasio
