// SPDX-License-Identifier: MIT
// Options given when a socket is created (asio.connect / asio.server), and applying them.
#pragma once

#include "base/socket_headers.hpp"
#include "net/stream.hpp"

#include <memory>
#include <optional>
#include <string>

namespace lasio {

/// Linux socket options applied before bind/connect; unset fields are left alone. On Windows
/// reuseaddr sets nothing and the options it has no equivalent of fail (operation_not_supported).
struct socket_options {
    std::optional<bool> reuseaddr;
    std::optional<bool> reuseport;
    std::optional<bool> transparent;
    std::optional<bool> nodelay;
    std::optional<int> mark;
    std::optional<std::string> bindtodevice;
};

class tls_context;

struct connect_options {
    double timeout = -1;       // whole connect (resolve + connect), seconds
    stream_timeouts timeouts;  // initial timeouts of the connection
    std::optional<std::string> bind;
    socket_options socket;
    std::shared_ptr<tls_context> tls;      // handshake as a client before returning
    std::optional<std::string> server_name; // SNI and verified name; default: the host
};

/// Applies o to an open descriptor; the first failure is returned.
error_code apply_socket_options(native_socket fd, const socket_options& o);

/// What a listening socket sets before its options and bind: SO_REUSEADDR on POSIX, and on
/// Windows SO_EXCLUSIVEADDRUSE (no other socket may bind its port while it is open).
error_code listener_address_rule(native_socket fd);

/// Binds s to a local IP literal (port 0) before connecting.
error_code bind_local(stream::socket_type& s, const std::string& ip, bool v6);

} // namespace lasio
