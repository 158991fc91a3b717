// SPDX-License-Identifier: MIT
// Lua bindings of servers (TCP and Unix).
#pragma once

#include "net/server.hpp"

#include <lua.hpp>

#include <memory>

namespace lasio {

inline constexpr char server_metatable[] = "asio.server";

struct server_handle {
    std::shared_ptr<server> s;
};

/// Pushes a new server userdata owning s.
void push_server(lua_State* L, std::shared_ptr<server> s);
/// holder, err = asio.server(ip, port, handler [, options])
int l_server(lua_State* L);
/// Registers the server metatable.
void open_server(lua_State* L, runtime& rt);
/// holder, err = asio.unix_server(path, handler [, { backlog =, tls = }])
int l_unix_server(lua_State* L);

} // namespace lasio
