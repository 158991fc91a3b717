// SPDX-License-Identifier: MIT
// Unix domain stream sockets: path endpoints and asio.unix_server with its stale-file rule.
#pragma once

#include <lua.hpp>

#include <boost/asio/generic/stream_protocol.hpp>

#include <optional>
#include <string>

namespace lasio {

namespace net = boost::asio;

/// The endpoint of a filesystem path; nullopt when the path is empty or too long for sun_path.
std::optional<net::generic::stream_protocol::endpoint> unix_endpoint(const std::string& path);

/// holder, err = asio.unix_server(path, handler [, { backlog =, tls = }])
int l_unix_server(lua_State* L);

} // namespace lasio
