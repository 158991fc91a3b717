// SPDX-License-Identifier: MIT
// Lua bindings of connections: read*, write, close, shutdown, addresses, options, timeouts.
#include "base/endpoint.hpp"
#include "base/errors.hpp"
#include "base/lua_bridge.hpp"
#include "lua/stream_lua.hpp"
#include "lua/io_handle.hpp"
#include "lua/tls_lua.hpp"
#include "net/stream.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/socket_base.hpp>

#include "base/socket_headers.hpp"

#include <algorithm>
#include <climits>
#include <forward_list>
#include <string>
#include <vector>
#include <cstring>

namespace lasio {

namespace {

constexpr std::size_t default_read_max = 64 * 1024;
/// 2^53: every integer up to it is a double, and no buffer comes near it. Larger maxima (up to
/// math.huge) mean "no limit" and are clamped to it, so the conversion is always defined.
constexpr lua_Number largest_count = 9007199254740992.0;

std::size_t opt_max(lua_State* L, int idx) {
    if (lua_isnoneornil(L, idx)) return default_read_max;
    lua_Number v = luaL_checknumber(L, idx);
    if (!(v >= 1)) luaL_argerror(L, idx, "max must be at least 1");
    return static_cast<std::size_t>(std::min(v, largest_count));
}

int l_read(lua_State* L) {
    auto& rt = runtime::from(L);
    stream& s = check_stream(L, 1);
    lua_Number n = luaL_checknumber(L, 2);
    if (!(n >= 0) || n > largest_count || n != static_cast<lua_Number>(static_cast<long long>(n)))
        luaL_argerror(L, 2, "byte count must be a non-negative integer up to 2^53");
    light_thread& th = rt.current(L, "read");
    if (n == 0 && !s.closed()) {
        lua_pushliteral(L, "");
        return 1;
    }
    read_request req;
    req.what = read_request::kind::exact;
    req.n = static_cast<std::size_t>(n);
    return s.read(L, th, std::move(req));
}

/// conn:read_some([max]) and conn:read_line([max]): a framer whose only argument is its maximum.
int read_up_to(lua_State* L, read_request::kind what, const char* fn) {
    auto& rt = runtime::from(L);
    stream& s = check_stream(L, 1);
    read_request req;
    req.what = what;
    req.n = opt_max(L, 2);
    return s.read(L, rt.current(L, fn), std::move(req));
}

int l_read_some(lua_State* L) { return read_up_to(L, read_request::kind::some, "read_some"); }

int l_read_until(lua_State* L) {
    auto& rt = runtime::from(L);
    stream& s = check_stream(L, 1);
    size_t len;
    const char* d = luaL_checklstring(L, 2, &len);
    if (len == 0) luaL_argerror(L, 2, "delimiter must not be empty");
    read_request req;
    req.what = read_request::kind::until;
    req.delim.assign(d, len);
    req.n = opt_max(L, 3);
    return s.read(L, rt.current(L, "read_until"), std::move(req));
}

int l_read_line(lua_State* L) { return read_up_to(L, read_request::kind::line, "read_line"); }

/**
 * The pieces of a write argument (a string, a number, or an array of them), gathered without
 * copying: a Lua string's bytes are used in place (the argument keeps it alive for the call),
 * a number in an array is formatted into storage of our own.
 */
class gathered_write {
public:
    /// Gathers the value at idx (a string, or an array already checked to be a table).
    gathered_write(lua_State* L, int idx) {
        if (!lua_istable(L, idx)) {
            size_t len;
            const char* s = lua_tolstring(L, idx, &len);
            add(net::const_buffer(s, len), false);
            return;
        }
        int n = static_cast<int>(lua_objlen(L, idx));
        bool spill = n > inline_pieces;
        if (spill) many_.reserve(static_cast<std::size_t>(n));
        for (int i = 1; i <= n; ++i) {
            lua_rawgeti(L, idx, i);
            size_t len = 0;
            const char* s = nullptr;
            if (lua_type(L, -1) == LUA_TNUMBER) {
                // lua_tolstring would make a string only this stack slot holds, gone at the pop.
                char text[32];
                int k = format_number(lua_tonumber(L, -1), text);
                numbers_.emplace_front(text, static_cast<std::size_t>(k));
                s = numbers_.front().data();
                len = numbers_.front().size();
            } else if (lua_type(L, -1) == LUA_TSTRING) {
                s = lua_tolstring(L, -1, &len);
            }
            if (s == nullptr) luaL_error(L, "bad argument #1 to 'write' (item %d is not a string)", i);
            lua_pop(L, 1); // the table keeps a string item alive
            add(net::const_buffer(s, len), spill);
        }
    }
    gathered_write(const gathered_write&) = delete;
    gathered_write& operator=(const gathered_write&) = delete;

    write_buffers buffers() const {
        if (!many_.empty()) return {many_.data(), many_.size(), total_};
        return {pieces_, count_, total_};
    }

private:
    static constexpr int inline_pieces = 64;

    void add(net::const_buffer b, bool spill) {
        if (spill) many_.push_back(b);
        else pieces_[count_++] = b;
        total_ += b.size();
    }

    net::const_buffer pieces_[inline_pieces];
    std::size_t count_ = 0;
    std::size_t total_ = 0;
    std::vector<net::const_buffer> many_;
    // Text of number items (the table holds only the numbers): nodes never move, and an empty
    // list allocates nothing, unlike a deque, on every write.
    std::forward_list<std::string> numbers_;
};

int l_write(lua_State* L) {
    auto& rt = runtime::from(L);
    stream* s = &check_stream(L, 1);
    int t = lua_type(L, 2);
    if (t != LUA_TSTRING && t != LUA_TNUMBER && t != LUA_TTABLE)
        luaL_typerror(L, 2, "string or array of strings");
    if (t == LUA_TNUMBER) {
        // A number becomes a string before the connection's state is looked at: converting
        // allocates, and a finalizer run by it may close the connection (or finalize it).
        lua_tolstring(L, 2, nullptr);
        s = &check_stream(L, 1);
    }
    light_thread& th = rt.current(L, "write");
    gathered_write data(L, 2);
    write_buffers buffers = data.buffers();
    if (t != LUA_TTABLE) buffers.string_idx = 2; // a number was made a string in place above
    return s->write(L, th, buffers);
}

int l_close(lua_State* L) {
    check_stream(L, 1).close();
    return 0;
}

int l_shutdown(lua_State* L) {
    stream& s = check_stream(L, 1);
    static const char* const hows[] = {"send", "receive", "both", nullptr};
    int how = luaL_checkoption(L, 2, "both", hows);
    if (s.closed()) return push_fail(L, err::closed);
    constexpr net::socket_base::shutdown_type types[] = {
        net::socket_base::shutdown_send, net::socket_base::shutdown_receive,
        net::socket_base::shutdown_both};
    error_code ec;
    s.socket().shutdown(types[how], ec);
    if (ec) return push_fail(L, ec);
    lua_pushboolean(L, 1);
    return 1;
}

int l_local_address(lua_State* L) {
    stream& s = check_stream(L, 1);
    return push_address(L, s, [&](error_code& ec) { return s.socket().local_endpoint(ec); });
}

int l_remote_address(lua_State* L) {
    stream& s = check_stream(L, 1);
    return push_address(L, s, [&](error_code& ec) { return s.socket().remote_endpoint(ec); });
}

/// ip, port the client originally asked for, before a netfilter REDIRECT/DNAT (Linux).
int l_original_dst(lua_State* L) {
    stream& s = check_stream(L, 1);
    if (s.closed()) return push_fail(L, err::closed);
#ifdef __linux__
    // SO_ORIGINAL_DST and IP6T_SO_ORIGINAL_DST, without the kernel headers that clash with libc.
    constexpr int so_original_dst = 80;
    sockaddr_storage sa{};
    socklen_t len = sizeof sa;
    native_socket fd = s.socket().native_handle();
    error_code ec;
    int family = s.socket().local_endpoint(ec).protocol().family();
    int rc = -1;
    if (!ec && family == AF_INET) rc = ::getsockopt(fd, SOL_IP, so_original_dst, &sa, &len);
    else if (!ec && family == AF_INET6) rc = ::getsockopt(fd, SOL_IPV6, so_original_dst, &sa, &len);
    // No conntrack entry (ENOENT), no NAT support loaded (ENOPROTOOPT), or not an IP socket.
    if (rc != 0) return push_fail(L, err::not_available);
    return push_endpoint(L, &sa, len);
#else
    return push_fail(L, err::not_available);
#endif
}

/// The options of conn:setoption and conn:getoption, in this order.
const char* const option_names[] = {"nodelay", "keepalive", "rcvbuf", "sndbuf", "reuseaddr", "linger", nullptr};

int l_setoption(lua_State* L) {
    stream& s = check_stream(L, 1);
    int which = luaL_checkoption(L, 2, nullptr, option_names);
    luaL_checkany(L, 3);
    // Flags take booleans, sizes integers in their range; linger takes false or seconds.
    if (which <= 1 || which == 4) check_flag(L, 3);
    else if (which <= 3) check_integer_in(L, 3, 1, INT_MAX);
    else if (lua_type(L, 3) != LUA_TBOOLEAN || lua_toboolean(L, 3)) check_integer_in(L, 3, 0, 65535);
    if (s.closed()) return push_fail(L, err::closed);
    error_code ec;
    auto& sock = s.socket();
    switch (which) {
    case 0:
        sock.set_option(net::ip::tcp::no_delay(lua_toboolean(L, 3) != 0), ec);
        break;
    case 1:
        sock.set_option(net::socket_base::keep_alive(lua_toboolean(L, 3) != 0), ec);
        break;
    case 2:
        sock.set_option(net::socket_base::receive_buffer_size(static_cast<int>(luaL_checkinteger(L, 3))), ec);
        break;
    case 3:
        sock.set_option(net::socket_base::send_buffer_size(static_cast<int>(luaL_checkinteger(L, 3))), ec);
        break;
    case 4:
        sock.set_option(net::socket_base::reuse_address(lua_toboolean(L, 3) != 0), ec);
        break;
    case 5: {
        // false/nil: default close; a number: linger that many seconds (0 resets on close).
        bool on = lua_type(L, 3) == LUA_TNUMBER;
        sock.set_option(net::socket_base::linger(on, on ? static_cast<int>(lua_tointeger(L, 3)) : 0), ec);
        break;
    }
    }
    if (ec) return push_fail(L, ec);
    lua_pushboolean(L, 1);
    return 1;
}

/// value = conn:getoption(name): what setoption sets (a Unix socket has no nodelay: nil, err).
int l_getoption(lua_State* L) {
    stream& s = check_stream(L, 1);
    int which = luaL_checkoption(L, 2, nullptr, option_names);
    if (s.closed()) return push_fail(L, err::closed);
    error_code ec;
    auto& sock = s.socket();
    auto flag = [&](auto option) {
        sock.get_option(option, ec);
        if (!ec) lua_pushboolean(L, option.value());
    };
    auto size = [&](auto option) {
        sock.get_option(option, ec);
        if (!ec) lua_pushinteger(L, option.value());
    };
    switch (which) {
    case 0: flag(net::ip::tcp::no_delay()); break;
    case 1: flag(net::socket_base::keep_alive()); break;
    case 2: size(net::socket_base::receive_buffer_size()); break;
    case 3: size(net::socket_base::send_buffer_size()); break;
    case 4: flag(net::socket_base::reuse_address()); break;
    default: {
        net::socket_base::linger option;
        sock.get_option(option, ec);
        if (ec) break;
        if (option.enabled()) lua_pushinteger(L, option.timeout());
        else lua_pushboolean(L, 0);
        break;
    }
    }
    if (ec) return push_fail(L, ec);
    return 1;
}

int l_settimeout(lua_State* L) {
    stream& s = check_stream(L, 1);
    double t = opt_timeout(L, 2);
    s.set_timeouts(stream_timeouts{t, t, t});
    return 0;
}

int l_settimeouts(lua_State* L) {
    stream& s = check_stream(L, 1);
    s.set_timeouts(stream_timeouts{opt_timeout(L, 2), opt_timeout(L, 3), opt_timeout(L, 4)});
    return 0;
}

int l_tostring(lua_State* L) { return push_description(L, "asio.connection", check_stream(L, 1)); }

int l_gc(lua_State* L) { return gc_handle<stream_handle>(L, stream_metatable); }

const luaL_Reg methods[] = {
    {"read", l_read},
    {"read_some", l_read_some},
    {"read_until", l_read_until},
    {"read_line", l_read_line},
    {"write", l_write},
    {"close", l_close},
    {"shutdown", l_shutdown},
    {"local_address", l_local_address},
    {"remote_address", l_remote_address},
    {"original_dst", l_original_dst},
    {"setoption", l_setoption},
    {"getoption", l_getoption},
    {"settimeout", l_settimeout},
    {"settimeouts", l_settimeouts},
    {"tls_handshake", l_tls_handshake},
    {"tls_shutdown", l_tls_shutdown},
    {"tls_info", l_tls_info},
    {"__tostring", l_tostring},
    {"__gc", l_gc},
    {nullptr, nullptr},
};

} // namespace

void push_stream(lua_State* L, std::shared_ptr<stream> s) {
    new_object<stream_handle>(L, stream_metatable, stream_handle{std::move(s)});
}

stream& check_stream(lua_State* L, int idx) {
    auto& h = check_object<stream_handle>(L, idx, stream_metatable);
    return *h.s;
}

void open_stream(lua_State* L, runtime& rt) {
    rt.push_upvalue(L);
    register_metatable(L, stream_metatable, methods);
}

} // namespace lasio
