// SPDX-License-Identifier: MIT
// Unix domain stream servers: path endpoints, the stale socket file rule, removal on close.
#include "net/unix_socket.hpp"

#include "base/errors.hpp"
#include "base/lua_bridge.hpp"
#include "net/server.hpp"
#include "tls/tls_session.hpp"

#include "base/socket_headers.hpp"

#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <functional>

namespace lasio {

namespace {

#if !defined(_WIN32)
error_code last_errno() { return error_code(errno, boost::system::system_category()); }

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
std::optional<std::pair<dev_t, ino_t>> file_identity(const std::string& path) {
    struct stat st{};
    if (::lstat(path.c_str(), &st) != 0) return std::nullopt;
    return std::make_pair(st.st_dev, st.st_ino);
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

std::optional<std::pair<std::uintmax_t, std::uintmax_t>> file_identity(const std::string& path) {
    std::error_code fec;
    if (!std::filesystem::exists(path, fec)) return std::nullopt;
    return std::make_pair(std::uintmax_t{0}, std::uintmax_t{0});
}

void remove_file(const std::string& path) {
    std::error_code fec;
    std::filesystem::remove(path, fec);
}
#endif

} // namespace

std::optional<net::generic::stream_protocol::endpoint> unix_endpoint(const std::string& path) {
    sockaddr_un sa{};
    if (path.empty() || path.size() >= sizeof sa.sun_path || path.find('\0') != std::string::npos)
        return std::nullopt;
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path.data(), path.size());
    std::size_t len = offsetof(sockaddr_un, sun_path) + path.size() + 1;
    return net::generic::stream_protocol::endpoint(&sa, len, 0);
}

int l_unix_server(lua_State* L) {
    auto& rt = runtime::from(L);
    size_t len;
    const char* p = luaL_checklstring(L, 1, &len);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
    int backlog = net::socket_base::max_listen_connections;
    if (lua_istable(L, 3)) {
        if (auto b = opt_integer_field(L, 3, "backlog", "unix_server", 1, INT_MAX)) backlog = static_cast<int>(*b);
    }
    tls_server_options tls = check_tls_server_options(L, 3, "unix_server");
    std::string path(p, len);
    auto ep = unix_endpoint(path);
    if (!ep) return push_fail(L, "invalid path");
    error_code ec = clear_stale_socket(path, *ep);
    if (ec) return push_fail(L, ec);
    server::acceptor_type acceptor(rt.io());
    acceptor.open(net::generic::stream_protocol(AF_UNIX, 0), ec);
    if (!ec) acceptor.bind(*ep, ec);
    auto identity = ec ? std::nullopt : file_identity(path);
    if (!ec) acceptor.listen(backlog, ec);
    if (ec) {
        if (identity) remove_file(path);
        return push_fail(L, ec);
    }
    lua_pushvalue(L, 2);
    int handler_ref = ref_value(L);
    auto s = std::make_shared<server>(rt.shared_from_this(), std::move(acceptor), handler_ref);
    push_server(L, s);
    // Remove the file on close, but only if it is still ours (not replaced by another server).
    s->on_close([path, identity] {
        if (identity && file_identity(path) == identity) remove_file(path);
    });
    use_tls_on_accept(*s, std::move(tls));
    s->start();
    return 1;
}

} // namespace lasio
