// SPDX-License-Identifier: MIT
// Lua bindings of shared channels. The blocking calls (send, recv, iter, select) are Lua, in
// asio.sync.shared_channel, on top of the non-blocking ones here and the waiter.
#include "lua/shared_channel_lua.hpp"

#include "base/lua_bridge.hpp"
#include "bridge/channel_handles.hpp"
#include "bridge/value_codec.hpp"
#include "sched/runtime.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>

namespace lasio {

namespace {

constexpr char waiter_metatable[] = "asio.shared_channel_waiter";

/// The waiter's userdata. It holds its runtime so that rt stays valid for the waiter's
/// loop-thread side for as long as Lua can reach it.
struct waiter_handle {
    runtime_ptr rt;
    std::shared_ptr<channel_waiter> w;
};

shared_channel& check_channel(lua_State* L, int idx) {
    return *check_object<channel_handle>(L, idx, shared_channel_metatable).ch;
}

const std::shared_ptr<shared_channel>& check_channel_ptr(lua_State* L, int idx) {
    return check_object<channel_handle>(L, idx, shared_channel_metatable).ch;
}

/// asio.shared_channel([capacity]) -> ch
int l_new(lua_State* L) {
    auto& rt = runtime::from(L);
    std::size_t capacity = 0;
    if (!lua_isnoneornil(L, 1)) {
        if (lua_type(L, 1) != LUA_TNUMBER) luaL_typerror(L, 1, "number");
        double c = lua_tonumber(L, 1);
        if (c == HUGE_VAL) capacity = shared_channel::unbounded;
        else if (!(c >= 0) || c != std::floor(c) || c > 1e15)
            luaL_argerror(L, 1, "capacity must be a non-negative integer or math.huge");
        else capacity = static_cast<std::size_t>(c);
    }
    (void)rt;
    bool ok = true;
    {
        std::shared_ptr<shared_channel> ch;
        try {
            ch = std::make_shared<shared_channel>(capacity);
        } catch (const std::exception&) {
            ok = false;
        }
        if (ok) push_channel_handle(L, ch); // raises only on out of memory, as any allocation
    }
    if (!ok) return luaL_error(L, "not enough memory");
    return 1;
}

/// ch:_try_send(v) -> true | nil, "closed" | false (would wait)
int l_try_send(lua_State* L) {
    auto& rt = runtime::from(L);
    shared_channel& ch = check_channel(L, 1);
    if (lua_isnoneornil(L, 2)) return luaL_argerror(L, 2, "value expected, got nil");
    shared_channel::result r;
    bool encoded;
    {
        channel_message m;
        std::string error;
        // Encoded where the capacity stays from one send to the next, then copied into the
        // message (inline when small). Encoding runs no Lua code, so nothing reenters here.
        static thread_local std::string encoded_bytes;
        static const std::string root = "value";
        encoded_bytes.clear();
        encoded = encode_value(L, 2, root, encoded_bytes, error, &m.refs);
        if (encoded) {
            m.bytes.assign(encoded_bytes.data(), encoded_bytes.size());
            r = ch.try_send(m, &rt);
        } else {
            lua_pushfstring(L, "send: %s", error.c_str());
        }
        if (encoded_bytes.capacity() > 64 * 1024) std::string().swap(encoded_bytes); // not kept for a rare big value
    }
    if (!encoded) return lua_error(L);
    switch (r) {
    case shared_channel::result::done:
        lua_pushboolean(L, 1);
        return 1;
    case shared_channel::result::closed:
        lua_pushnil(L);
        lua_pushliteral(L, "closed");
        return 2;
    default:
        lua_pushboolean(L, 0);
        return 1;
    }
}

/// ch:_try_recv() -> true, v | true, nil, "closed" | false (would wait)
int l_try_recv(lua_State* L) {
    auto& rt = runtime::from(L);
    shared_channel& ch = check_channel(L, 1);
    lua_settop(L, 1);
    shared_channel::result r;
    {
        channel_message m;
        r = ch.try_recv(m, &rt);
        if (r == shared_channel::result::done) {
            lua_pushboolean(L, 1); // 2
            // The message's references become handles of this state before m lets them go. A
            // raise (out of memory) unwinds through m's destructor where LuaJIT unwinds C++
            // frames (x86-64, arm64); elsewhere a raise leaks the message.
            int n = decode_values(L, std::string_view(m.bytes.data(), m.bytes.size()), &m.refs);
            if (n != 1) lua_settop(L, 3); // an encoder makes one value per message
        }
    }
    switch (r) {
    case shared_channel::result::done:
        return 2;
    case shared_channel::result::closed:
        lua_pushboolean(L, 1);
        lua_pushnil(L);
        lua_pushliteral(L, "closed");
        return 3;
    default:
        lua_pushboolean(L, 0);
        return 1;
    }
}

/// ch:close() -> true if this call closed it
int l_close(lua_State* L) {
    auto& rt = runtime::from(L);
    lua_pushboolean(L, check_channel(L, 1).close(&rt));
    return 1;
}

/// ch:_close_with_state(): this state's end closes the channel (the offload pool's queue)
int l_close_with_state(lua_State* L) {
    close_with_state(L, check_channel_ptr(L, 1));
    return 0;
}

int l_len(lua_State* L) {
    lua_pushinteger(L, static_cast<lua_Integer>(check_channel(L, 1).size()));
    return 1;
}

int l_capacity(lua_State* L) {
    std::size_t c = check_channel(L, 1).capacity();
    if (c == shared_channel::unbounded) lua_pushnumber(L, HUGE_VAL);
    else lua_pushinteger(L, static_cast<lua_Integer>(c));
    return 1;
}

int l_is_closed(lua_State* L) {
    lua_pushboolean(L, check_channel(L, 1).closed());
    return 1;
}

int l_tostring(lua_State* L) {
    shared_channel& ch = check_channel(L, 1);
    char cap[32];
    if (ch.capacity() == shared_channel::unbounded) std::snprintf(cap, sizeof cap, "inf");
    else std::snprintf(cap, sizeof cap, "%zu", ch.capacity());
    lua_pushfstring(L, "asio.shared_channel(%s): %d buffered, %d states%s", cap, static_cast<int>(ch.size()),
                    ch.members(), ch.closed() ? ", closed" : "");
    return 1;
}

int l_gc(lua_State* L) {
    if (finalizable_object<channel_handle>(L, 1, shared_channel_metatable) != nullptr)
        destroy_object<channel_handle>(L, 1);
    return 0;
}

/// ch == other: handles of one channel are one userdata per state, so this is identity.
int l_eq(lua_State* L) {
    lua_pushboolean(L, lua_rawequal(L, 1, 2));
    return 1;
}

// --- the waiter ------------------------------------------------------------------------------

/// asio.core._sc_waiter() -> a waiter for the running light thread's next waits
int l_waiter(lua_State* L) {
    auto& rt = runtime::from(L);
    auto* h = new_object<waiter_handle>(L, waiter_metatable);
    try {
        h->w = std::make_shared<channel_waiter>(rt);
    } catch (const std::exception&) {
        return luaL_error(L, "not enough memory");
    }
    h->rt = rt.shared_from_this();
    return 1;
}

waiter_handle& check_waiter(lua_State* L, int idx) {
    auto& h = check_object<waiter_handle>(L, idx, waiter_metatable);
    if (h.w == nullptr) luaL_argerror(L, idx, "waiter is finalized");
    return h;
}

channel_op check_op(lua_State* L, int idx) {
    const char* op = luaL_checkstring(L, idx);
    if (op[0] == 'r' && std::strcmp(op, "recv") == 0) return channel_op::recv;
    if (op[0] == 's' && std::strcmp(op, "send") == 0) return channel_op::send;
    luaL_argerror(L, idx, "\"recv\" or \"send\" expected");
    return channel_op::recv;
}

/// waiter:arm(ch, "recv"|"send") -> true when the operation could complete now (not armed)
int l_arm(lua_State* L) {
    auto& rt = runtime::from(L);
    waiter_handle& h = check_waiter(L, 1);
    const auto& ch = check_channel_ptr(L, 2);
    channel_op op = check_op(L, 3);
    light_thread& th = rt.current(L, "wait");
    bool ready;
    try {
        ready = h.w->arm(ch, op, th);
    } catch (const std::exception&) {
        h.w->disarm(nullptr, op);
        return luaL_error(L, "not enough memory");
    }
    lua_pushboolean(L, ready);
    return 1;
}

/// waiter:disarm([done_ch, done_op]): after the retry that followed a wake
int l_disarm(lua_State* L) {
    waiter_handle& h = check_waiter(L, 1);
    const shared_channel* done = nullptr;
    channel_op op = channel_op::recv;
    if (!lua_isnoneornil(L, 2)) {
        done = &check_channel(L, 2);
        op = check_op(L, 3);
    }
    h.w->disarm(done, op);
    return 0;
}

int l_waiter_gc(lua_State* L) {
    auto* h = finalizable_object<waiter_handle>(L, 1, waiter_metatable);
    if (h == nullptr) return 0;
    if (h->w != nullptr) h->w->disarm(nullptr, channel_op::recv);
    destroy_object<waiter_handle>(L, 1);
    return 0;
}

const luaL_Reg channel_methods[] = {
    {"close", l_close},
    {"len", l_len},
    {"capacity", l_capacity},
    {"is_closed", l_is_closed},
    {"_try_send", l_try_send},
    {"_try_recv", l_try_recv},
    {"_close_with_state", l_close_with_state},
    {"__len", l_len},
    {"__eq", l_eq},
    {"__tostring", l_tostring},
    {"__gc", l_gc},
    {nullptr, nullptr},
};

const luaL_Reg waiter_methods[] = {
    {"arm", l_arm},
    {"disarm", l_disarm},
    {"__gc", l_waiter_gc},
    {nullptr, nullptr},
};

/// asio.core._sc_methods() -> the handle's metatable (asio.sync.shared_channel adds the
/// blocking methods to it)
int l_methods(lua_State* L) {
    push_metatable(L, shared_channel_metatable);
    return 1;
}

/// asio._shared_channels() -> channels not freed yet, process-wide (for specs)
int l_live(lua_State* L) {
    lua_pushinteger(L, static_cast<lua_Integer>(shared_channel::live_count()));
    return 1;
}

const luaL_Reg functions[] = {
    {"shared_channel", l_new},
    {"_shared_channels", l_live},
    {"_sc_waiter", l_waiter},
    {"_sc_methods", l_methods},
    {nullptr, nullptr},
};

} // namespace

void open_shared_channel(lua_State* L, runtime& rt) {
    rt.push_upvalue(L);
    register_metatable(L, shared_channel_metatable, channel_methods);
    rt.push_upvalue(L);
    register_metatable(L, waiter_metatable, waiter_methods);
    rt.push_upvalue(L);
    luaL_setfuncs(L, functions, 1);
}

} // namespace lasio
