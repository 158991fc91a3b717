// SPDX-License-Identifier: MIT
// Lua bindings of watches on foreign descriptors: asio.watch and w:wait, w:close.
#include "base/lua_bridge.hpp"
#include "lua/io_handle.hpp"
#include "lua/os_lua.hpp"
#include "os/fd_watch.hpp"
#include "os/os_config.hpp"

#include <cerrno>
#include <climits>

#if defined(LASIO_HAS_DAEMON)
#include <fcntl.h>
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
#else
int l_watch(lua_State* L) { return luaL_error(L, "watch: " LASIO_NO_DAEMON_WHY); }
void open_watch(lua_State*, runtime&) {}
#endif

} // namespace lasio
