// SPDX-License-Identifier: MIT
// Unix domain sockets: path endpoints, the stale socket file rule, the socket file's identity.
#include "net/unix_socket.hpp"

#include "base/errors.hpp"

#include "base/socket_headers.hpp"

#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>

namespace lasio {

#if !defined(_WIN32)
namespace {
error_code last_errno() { return error_code(errno, boost::system::system_category()); }
} // namespace

/**
 * A socket file left by a process that died cannot be bound again, but removing a file someone
 * still listens on would silently steal their address. So connect first: refused means stale.
 */
error_code clear_stale_socket(const std::string& path, const net::generic::stream_protocol::endpoint& ep) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return errno == ENOENT ? error_code() : last_errno();
    if (!S_ISSOCK(st.st_mode)) return net::error::address_in_use; // never remove other files
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return last_errno();
    int rc = ::connect(fd, ep.data(), static_cast<socklen_t>(ep.size()));
    int e = rc == 0 ? 0 : errno;
    ::close(fd);
    // EAGAIN: a listener whose backlog is full is still a listener.
    if (rc == 0 || e == EAGAIN || e == EINPROGRESS) return net::error::address_in_use;
    if (e != ECONNREFUSED) return error_code(e, boost::system::system_category());
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return last_errno();
    return {};
}

/// Identifies the file at path (device and inode), or nullopt when there is none.
std::optional<socket_file_id> file_identity(const std::string& path) {
    struct stat st{};
    if (::lstat(path.c_str(), &st) != 0) return std::nullopt;
    return socket_file_id{static_cast<std::uintmax_t>(st.st_dev), static_cast<std::uintmax_t>(st.st_ino)};
}

void remove_file(const std::string& path) { ::unlink(path.c_str()); }
#else
// Windows (10 and later) keeps an AF_UNIX socket's file too. Without lstat's socket type and
// inode, a file there is taken for stale only when nobody accepts on it.
error_code clear_stale_socket(const std::string& path, const net::generic::stream_protocol::endpoint& ep) {
    std::error_code fec;
    if (!std::filesystem::exists(path, fec)) return {};
    net::io_context probe_ctx;
    net::generic::stream_protocol::socket probe(probe_ctx);
    error_code ec;
    probe.connect(ep, ec);
    if (!ec) return net::error::address_in_use;
    if (ec != net::error::connection_refused) return ec;
    std::filesystem::remove(path, fec);
    return {};
}

std::optional<socket_file_id> file_identity(const std::string& path) {
    std::error_code fec;
    if (!std::filesystem::exists(path, fec)) return std::nullopt;
    return socket_file_id{0, 0};
}

void remove_file(const std::string& path) {
    std::error_code fec;
    std::filesystem::remove(path, fec);
}
#endif

std::optional<net::generic::stream_protocol::endpoint> unix_endpoint(const std::string& path) {
    sockaddr_un sa{};
    if (path.empty() || path.size() >= sizeof sa.sun_path || path.find('\0') != std::string::npos)
        return std::nullopt;
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path.data(), path.size());
    std::size_t len = offsetof(sockaddr_un, sun_path) + path.size() + 1;
    return net::generic::stream_protocol::endpoint(&sa, len, 0);
}

} // namespace lasio
