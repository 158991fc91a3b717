// SPDX-License-Identifier: MIT
// luaasio_fd on Linux: an epoll set of our own over Asio's. Asio keeps its epoll descriptor
// private; an explicit instantiation may name a private member (the access rules do not apply
// to it), which reads it without copying Asio's layout.
#include "embed/loop_descriptor.hpp"

#include "luaasio.h"
#include "sched/runtime.hpp"

#if defined(__linux__)
#include <boost/asio/detail/reactor.hpp>

#include <cstdint>
#include <sys/epoll.h>
#include <unistd.h>
#endif

namespace lasio {

#if defined(__linux__) && defined(BOOST_ASIO_HAS_EPOLL)

namespace {

struct epoll_fd_member {
    using type = int net::detail::epoll_reactor::*;
    friend type member_of(epoll_fd_member);
};

template <class Tag, typename Tag::type Member>
struct expose {
    friend typename Tag::type member_of(Tag) { return Member; }
};

template struct expose<epoll_fd_member, &net::detail::epoll_reactor::epoll_fd_>;

char descriptor_key;
constexpr char descriptor_metatable[] = "asio.loop_descriptor";

struct owned_descriptor {
    int fd;
};

int close_descriptor(lua_State* L) {
    auto* d = static_cast<owned_descriptor*>(lua_touserdata(L, 1));
    if (d != nullptr && d->fd >= 0) ::close(d->fd);
    if (d != nullptr) d->fd = -1;
    return 0;
}

/// Keeps fd in the registry, closed by the userdata's finalizer at lua_close.
int keep_protected(lua_State* L) {
    int fd = static_cast<int>(reinterpret_cast<std::intptr_t>(lua_touserdata(L, 1)));
    auto* d = static_cast<owned_descriptor*>(lua_newuserdata(L, sizeof(owned_descriptor)));
    d->fd = fd;
    if (luaL_newmetatable(L, descriptor_metatable)) {
        lua_pushcfunction(L, close_descriptor);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    lua_pushlightuserdata(L, &descriptor_key);
    lua_insert(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
    return 0;
}

} // namespace

int loop_descriptor(lua_State* L, runtime& rt) {
    lua_pushlightuserdata(L, &descriptor_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    auto* kept = static_cast<owned_descriptor*>(lua_touserdata(L, -1));
    int fd = kept != nullptr ? kept->fd : -1;
    lua_pop(L, 1);
    if (fd >= 0) return fd;
    int inner = net::use_service<net::detail::epoll_reactor>(rt.io()).*member_of(epoll_fd_member{});
    int outer = ::epoll_create1(EPOLL_CLOEXEC);
    if (outer < 0) return LUAASIO_ESYS;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = inner;
    if (::epoll_ctl(outer, EPOLL_CTL_ADD, inner, &ev) != 0) {
        ::close(outer);
        return LUAASIO_ESYS;
    }
    if (lua_cpcall(L, keep_protected, reinterpret_cast<void*>(static_cast<std::intptr_t>(outer))) != 0) {
        lua_pop(L, 1);
        ::close(outer);
        return LUAASIO_ELUA;
    }
    return outer;
}

#else

int loop_descriptor(lua_State*, runtime&) { return LUAASIO_ENOTSUP; }

#endif

} // namespace lasio
