// SPDX-License-Identifier: MIT
// asio.stdin(): standard input as a connection. A stream socket is taken as it is; anything else
// (a pipe, a terminal, a file) is copied by a pump (os/stdin_pump) into a socket pair, because a
// connection's socket cannot read those descriptors itself.
#include "base/lua_bridge.hpp"
#include "lua/io_handle.hpp"
#include "lua/os_lua.hpp"
#include "lua/stream_lua.hpp"
#include "os/os_config.hpp"
#include "os/stdin_pump.hpp"

#include <cerrno>

#if defined(LASIO_HAS_DAEMON)
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace lasio {

#if defined(LASIO_HAS_DAEMON)
int l_stdin(lua_State* L) {
    auto& rt = runtime::from(L);
    auto fail = [L](int e) { return push_fail(L, error_code(e, boost::system::system_category())); };
    int input = ::fcntl(0, F_DUPFD_CLOEXEC, 3);
    if (input < 0) return errno == EBADF ? push_fail(L, err::bad_descriptor) : fail(errno);
    error_code ec;
    int type = 0;
    socklen_t len = sizeof type;
    struct stat st;
    if (::fstat(input, &st) == 0 && S_ISSOCK(st.st_mode) &&
        ::getsockopt(input, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM) {
        // A stream socket already (inetd, systemd, a parent's socket pair): a connection as is.
        stream::socket_type sock(rt.io());
        sock.assign(net::generic::stream_protocol(AF_UNIX, SOCK_STREAM), input, ec);
        if (ec) {
            ::close(input);
            return push_fail(L, ec);
        }
        push_stream(L, std::make_shared<stream>(rt.shared_from_this(), std::move(sock)));
        return 1;
    }
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        int e = errno;
        ::close(input);
        return fail(e);
    }
    ::shutdown(sv[1], SHUT_RD); // the pump's end only writes
    std::shared_ptr<stdin_pump> pump;
    std::shared_ptr<stream> conn;
    try {
        pump = std::make_shared<stdin_pump>(rt.shared_from_this());
        ec = pump->assign(input, sv[1]);
        if (!ec) {
            stream::socket_type sock(rt.io());
            sock.assign(net::generic::stream_protocol(AF_UNIX, SOCK_STREAM), sv[0], ec);
            if (!ec) conn = std::make_shared<stream>(rt.shared_from_this(), std::move(sock));
            else ::close(sv[0]);
        } else {
            ::close(input);
            ::close(sv[0]);
            ::close(sv[1]);
        }
    } catch (const std::exception&) {
        ec = net::error::no_memory;
    }
    if (ec || !conn) {
        if (pump) pump->release_io();
        return push_fail(L, ec ? ec : error_code(net::error::no_memory));
    }
    push_stream(L, std::move(conn));
    pump->start();
    return 1;
}
#else
int l_stdin(lua_State* L) { return luaL_error(L, "stdin: " LASIO_NO_DAEMON_WHY); }
#endif

} // namespace lasio
