// SPDX-License-Identifier: MIT
// Unix domain stream sockets: path endpoints and the socket files of listeners.
#pragma once

#include "base/errors.hpp"

#include <boost/asio/generic/stream_protocol.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace lasio {

namespace net = boost::asio;

/// The endpoint of a filesystem path; nullopt when the path is empty or too long for sun_path.
std::optional<net::generic::stream_protocol::endpoint> unix_endpoint(const std::string& path);

/**
 * A socket file left by a process that died cannot be bound again, but removing a file someone
 * still listens on would silently steal their address: a file nobody accepts on is removed,
 * any other is reported as address_in_use.
 */
error_code clear_stale_socket(const std::string& path, const net::generic::stream_protocol::endpoint& ep);

/// What tells one file at a path from another that replaced it (device and inode on POSIX).
struct socket_file_id {
    std::uintmax_t device;
    std::uintmax_t inode;
    bool operator==(const socket_file_id& o) const { return device == o.device && inode == o.inode; }
};
/// The identity of the file at path, or nullopt when there is none.
std::optional<socket_file_id> file_identity(const std::string& path);
/// Removes the file at path, if any.
void remove_file(const std::string& path);

} // namespace lasio
