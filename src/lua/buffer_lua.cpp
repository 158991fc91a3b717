// SPDX-License-Identifier: MIT
// conn:read_into(buf) and conn:write_from(buf) for LuaJIT's string buffers: bytes go between the
// socket and a buffer the script owns, with no Lua string made for them (lua/asio/buffers.lua).
// The three functions here take raw pointers: they are handed to that module alone and are on
// no table, so only the debug library (which can break anything) reaches them.
#include "lua/stream_lua.hpp"

#include "base/errors.hpp"
#include "base/lua_bridge.hpp"

#include <algorithm>

namespace lasio {

namespace {

/// LuaJIT's type number of cdata (lua.h has no name for it).
constexpr int cdata_type = 10;

/// The pointer a `uint8_t *` cdata at idx holds (what buf:reserve and buf:ref return).
char* cdata_pointer(lua_State* L, int idx) {
    if (lua_type(L, idx) != cdata_type) luaL_argerror(L, idx, "pointer expected");
    return *static_cast<char* const*>(lua_topointer(L, idx));
}

std::size_t check_size(lua_State* L, int idx) {
    lua_Number n = luaL_checknumber(L, idx);
    if (!(n >= 0) || n > 2147483647.0) luaL_argerror(L, idx, "size out of range");
    return static_cast<std::size_t>(n);
}

/// n | nil, err = read_now(conn, ptr, cap): the bytes here now, never waiting (0: none yet).
int l_read_now(lua_State* L) {
    auto& rt = runtime::from(L);
    stream& s = check_stream(L, 1);
    char* dst = cdata_pointer(L, 2);
    std::size_t cap = check_size(L, 3);
    rt.current(L, "read_into");
    if (s.closed()) return push_fail(L, err::closed);
    s.refuse_read(L, "read_into");
    // A thread that keeps finding bytes must still let the others run now and then.
    if (!rt.take_fast_path()) {
        lua_pushinteger(L, 0);
        return 1;
    }
    error_code ec;
    std::size_t n = s.read_now(dst, cap, ec);
    if (n == 0 && ec) return push_fail(L, error_string(ec).c_str());
    lua_pushinteger(L, static_cast<lua_Integer>(n));
    return 1;
}

/// true | nil, err = wait_readable(conn): waits until bytes are buffered or the stream ended.
int l_wait_readable(lua_State* L) {
    auto& rt = runtime::from(L);
    stream& s = check_stream(L, 1);
    read_request req;
    req.what = read_request::kind::ready;
    return s.read(L, rt.current(L, "read_into"), std::move(req));
}

/// true | nil, err, sent = write_now(conn, ptr, len): as conn:write with those bytes.
int l_write_now(lua_State* L) {
    auto& rt = runtime::from(L);
    stream& s = check_stream(L, 1);
    const char* src = cdata_pointer(L, 2);
    std::size_t len = check_size(L, 3);
    net::const_buffer piece(src, len);
    return s.write(L, rt.current(L, "write_from"), write_buffers{&piece, 1, len});
}

} // namespace

void open_stream_buffers(lua_State* L, runtime& rt) {
    lua_getglobal(L, "require");
    lua_pushliteral(L, "asio.buffers");
    if (lua_pcall(L, 1, 1, 0) != 0 || !lua_isfunction(L, -1)) {
        lua_pop(L, 1); // no asio/buffers.lua, or no string buffers in this LuaJIT: no methods
        return;
    }
    const lua_CFunction fns[] = {l_read_now, l_wait_readable, l_write_now};
    for (lua_CFunction fn : fns) {
        rt.push_upvalue(L);
        lua_pushcclosure(L, fn, 1);
    }
    push_metatable(L, stream_metatable);
    if (lua_pcall(L, 4, 2, 0) != 0) {
        lua_pop(L, 1);
        return;
    }
    if (!lua_isfunction(L, -2) || !lua_isfunction(L, -1)) {
        lua_pop(L, 2);
        return;
    }
    push_metatable(L, stream_metatable); // its own __index
    lua_insert(L, -3);
    lua_setfield(L, -3, "write_from");
    lua_setfield(L, -2, "read_into");
    lua_pop(L, 1);
}

} // namespace lasio
