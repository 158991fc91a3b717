// SPDX-License-Identifier: MIT
// Lua bindings of watches on foreign descriptors: asio.watch and w:wait, w:close.
#include "base/lua_bridge.hpp"
#include "lua/io_handle.hpp"
#include "lua/os_lua.hpp"
#include "lua/stream_lua.hpp"
#include "os/fd_watch.hpp"
#include "os/os_config.hpp"
#include "os/stdin_pump.hpp"

#include <cerrno>
#include <climits>
#include <cstring>

#if defined(LASIO_HAS_DAEMON)
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace lasio {

#if defined(LASIO_HAS_DAEMON)
namespace {

inline constexpr char watch_metatable[] = "asio.watch";

struct watch_handle {
    std::shared_ptr<fd_watch> s;
};

fd_watch& check_watch(lua_State* L, int idx) { return *check_object<watch_handle>(L, idx, watch_metatable).s; }

int l_watch_wait(lua_State* L) {
    auto& rt = runtime::from(L);
    fd_watch& w = check_watch(L, 1);
    double timeout = opt_timeout(L, 2);
    if (w.closed()) return push_fail(L, err::closed);
    if (w.waiting()) return luaL_error(L, "wait: another light thread is waiting on this watch");
    if (char which = w.ready_now()) {
        const char text[2] = {which, '\0'};
        lua_pushstring(L, text);
        // Ready every time (nobody consumes): let the others run now and then.
        if (!rt.in_light_thread() || rt.take_fast_path()) return 1;
        return rt.bounce(L, rt.current(L, "wait"), 1);
    }
    if (timeout == 0) return push_fail(L, err::timeout);
    return w.wait(L, rt.current(L, "wait"), timeout);
}

int l_watch_close(lua_State* L) {
    check_watch(L, 1).close();
    return 0;
}

int l_watch_tostring(lua_State* L) { return push_description(L, "asio.watch", check_watch(L, 1)); }

int l_watch_gc(lua_State* L) { return gc_handle<watch_handle>(L, watch_metatable); }

const luaL_Reg watch_methods[] = {
    {"wait", l_watch_wait},
    {"close", l_watch_close},
    {"__tostring", l_watch_tostring},
    {"__gc", l_watch_gc},
    {nullptr, nullptr},
};

} // namespace

int l_watch(lua_State* L) {
    auto& rt = runtime::from(L);
    int fd = static_cast<int>(check_integer_in(L, 1, 0, INT_MAX));
    static const char* const modes[] = {"r", "w", "rw", nullptr};
    int mode = luaL_checkoption(L, 2, "r", modes);
    // A duplicate, close-on-exec: the caller's descriptor is never touched (see fd_watch).
    int dup_fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (dup_fd < 0) {
        if (errno == EBADF) return push_fail(L, err::bad_descriptor);
        return push_fail(L, error_code(errno, boost::system::system_category()));
    }
    std::shared_ptr<fd_watch> w;
    error_code ec;
    try {
        w = std::make_shared<fd_watch>(rt.shared_from_this(), mode != 1, mode != 0);
        ec = w->assign(dup_fd);
    } catch (const std::exception&) {
        ec = net::error::no_memory;
    }
    if (ec) {
        ::close(dup_fd);
        if (w) w->release_io();
        return push_fail(L, ec);
    }
    new_object<watch_handle>(L, watch_metatable, watch_handle{std::move(w)});
    return 1;
}

void open_watch(lua_State* L, runtime& rt) {
    rt.push_upvalue(L);
    register_metatable(L, watch_metatable, watch_methods);
}

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
int l_watch(lua_State* L) { return luaL_error(L, "watch: " LASIO_NO_DAEMON_WHY); }
int l_stdin(lua_State* L) { return luaL_error(L, "stdin: " LASIO_NO_DAEMON_WHY); }
void open_watch(lua_State*, runtime&) {}
#endif

} // namespace lasio
