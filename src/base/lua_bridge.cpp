// SPDX-License-Identifier: MIT
// Lua C API helpers: registry anchors, metatables, common argument checks.
#include "base/lua_bridge.hpp"

#include <cstdio>
#include <cstring>
#include <string>

namespace lasio {

int ref_value(lua_State* L) {
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

void unref_value(lua_State* L, int& ref) {
    if (ref == LUA_NOREF || ref == LUA_REFNIL) return;
    luaL_unref(L, LUA_REGISTRYINDEX, ref);
    ref = LUA_NOREF;
}

void push_ref(lua_State* L, int ref) {
    if (ref == LUA_NOREF) {
        lua_pushnil(L);
        return;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
}

int format_number(lua_Number n, char (&text)[32]) {
    return std::snprintf(text, sizeof text, "%.14g", n);
}

double opt_timeout(lua_State* L, int idx) {
    if (lua_isnoneornil(L, idx)) return -1.0;
    double t = luaL_checknumber(L, idx);
    if (t != t || t < 0) luaL_argerror(L, idx, "timeout must be a non-negative number");
    return t;
}

int push_packed(lua_State* L, int idx) {
    idx = abs_index(L, idx);
    lua_getfield(L, idx, "n");
    int n = static_cast<int>(lua_tointeger(L, -1));
    lua_pop(L, 1);
    luaL_checkstack(L, n, "too many results");
    for (int i = 1; i <= n; ++i) lua_rawgeti(L, idx, i);
    return n;
}

void push_metatable(lua_State* L, const char* name) {
    lua_pushlightuserdata(L, const_cast<char*>(name));
    lua_rawget(L, LUA_REGISTRYINDEX);
}

void* test_userdata(lua_State* L, int idx, const char* name) {
    void* p = lua_touserdata(L, idx);
    if (p != nullptr && lua_type(L, idx) == LUA_TUSERDATA && lua_getmetatable(L, idx)) {
        push_metatable(L, name);
        bool same = lua_rawequal(L, -1, -2) != 0;
        lua_pop(L, 2);
        if (same) return p;
    }
    return nullptr;
}

void* check_userdata(lua_State* L, int idx, const char* name) {
    if (void* p = test_userdata(L, idx, name)) return p;
    luaL_typerror(L, idx, name);
    return nullptr;
}

void key_metatable(lua_State* L, const char* name) {
    lua_pushlightuserdata(L, const_cast<char*>(name));
    lua_pushvalue(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
}

void register_metatable(lua_State* L, const char* name, const luaL_Reg* methods) {
    int upvalue = lua_gettop(L);
    luaL_newmetatable(L, name);
    key_metatable(L, name);
    lua_pushvalue(L, -1);
    lua_setfield(L, -2, "__index");
    lua_pushvalue(L, upvalue);
    luaL_setfuncs(L, methods, 1);
    lua_pushstring(L, name);
    lua_setfield(L, -2, "__name");
    lua_pop(L, 2); // stack: (empty of ours)
}

std::optional<bool> opt_bool_field(lua_State* L, int idx, const char* key, const char* fn) {
    lua_getfield(L, idx, key);
    std::optional<bool> v;
    if (lua_isboolean(L, -1)) v = lua_toboolean(L, -1) != 0;
    else if (!lua_isnil(L, -1))
        luaL_error(L, "bad argument #%d to '%s' (option '%s' must be a boolean)", idx, fn, key);
    lua_pop(L, 1);
    return v;
}

std::optional<double> opt_number_field(lua_State* L, int idx, const char* key, const char* fn) {
    lua_getfield(L, idx, key);
    std::optional<double> v;
    if (lua_type(L, -1) == LUA_TNUMBER) v = lua_tonumber(L, -1);
    else if (!lua_isnil(L, -1))
        luaL_error(L, "bad argument #%d to '%s' (option '%s' must be a number)", idx, fn, key);
    lua_pop(L, 1);
    return v;
}

namespace {

bool integer_in(lua_State* L, int idx, long long lo, long long hi, long long& out) {
    if (lua_type(L, idx) != LUA_TNUMBER) return false;
    double d = lua_tonumber(L, idx);
    // (double)hi may round up past hi (LLONG_MAX becomes 2^63): compare below it, so that the
    // cast is always defined.
    bool in_range = d >= static_cast<double>(lo) && d < static_cast<double>(hi) + 1.0 &&
                    d < 9223372036854775808.0;
    if (!in_range || d != static_cast<double>(static_cast<long long>(d))) return false;
    out = static_cast<long long>(d);
    return true;
}

} // namespace

std::optional<long long> opt_integer_field(lua_State* L, int idx, const char* key, const char* fn,
                                           long long lo, long long hi) {
    lua_getfield(L, idx, key);
    std::optional<long long> v;
    long long n = 0;
    if (integer_in(L, -1, lo, hi, n)) v = n;
    else if (!lua_isnil(L, -1))
        // lua_pushfstring knows no long long: format the bounds here.
        luaL_error(L, "bad argument #%d to '%s' (option '%s' must be an integer from %s to %s)", idx, fn, key,
                   std::to_string(lo).c_str(), std::to_string(hi).c_str());
    lua_pop(L, 1);
    return v;
}

long long check_integer_in(lua_State* L, int idx, long long lo, long long hi) {
    long long n = 0;
    if (!integer_in(L, idx, lo, hi, n)) {
        lua_pushfstring(L, "integer from %s to %s expected, got %s", std::to_string(lo).c_str(),
                        std::to_string(hi).c_str(),
                        lua_type(L, idx) == LUA_TNUMBER ? lua_tostring(L, idx) : luaL_typename(L, idx));
        luaL_argerror(L, idx, lua_tostring(L, -1));
    }
    return n;
}

bool check_flag(lua_State* L, int idx) {
    luaL_checktype(L, idx, LUA_TBOOLEAN);
    return lua_toboolean(L, idx) != 0;
}

std::optional<std::string> opt_string_field(lua_State* L, int idx, const char* key, const char* fn) {
    lua_getfield(L, idx, key);
    std::optional<std::string> v;
    if (lua_type(L, -1) == LUA_TSTRING) {
        size_t len;
        const char* s = lua_tolstring(L, -1, &len);
        // Names, paths and PEM text never hold a zero byte; C APIs would cut them short at one.
        if (std::memchr(s, '\0', len) != nullptr)
            luaL_error(L, "bad argument #%d to '%s' (option '%s' must not contain a zero byte)", idx, fn,
                       key);
        v.emplace(s, len);
    } else if (!lua_isnil(L, -1)) {
        luaL_error(L, "bad argument #%d to '%s' (option '%s' must be a string)", idx, fn, key);
    }
    lua_pop(L, 1);
    return v;
}

namespace {
int append_to_string(lua_State*, const void* p, std::size_t size, void* ud) {
    try {
        static_cast<std::string*>(ud)->append(static_cast<const char*>(p), size);
        return 0;
    } catch (...) {
        return 1;
    }
}
} // namespace

bool dump_function(lua_State* L, int idx, std::string& out) {
    lua_pushvalue(L, idx);
    int rc = lua_dump(L, append_to_string, &out);
    lua_pop(L, 1);
    return rc == 0;
}

} // namespace lasio
