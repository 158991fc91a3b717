// SPDX-License-Identifier: MIT
// Lua C API helpers shared by every binding: userdata objects, registry refs, argument checks.
#pragma once

#include <lua.hpp>

#include <cstddef>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace lasio {

/// Absolute stack index (LuaJIT has no lua_absindex).
inline int abs_index(lua_State* L, int idx) {
    return (idx > 0 || idx <= LUA_REGISTRYINDEX) ? idx : lua_gettop(L) + idx + 1;
}

/// Anchors the value on top of the stack in the registry and pops it. Only place that refs.
int ref_value(lua_State* L);
/// Releases a registry anchor; a no-op for LUA_NOREF, so callers may release twice.
void unref_value(lua_State* L, int& ref);
/// Pushes the anchored value (nil for LUA_NOREF).
void push_ref(lua_State* L, int ref);

/**
 * Pushes the metatable registered under name. Metatables are also keyed by the address of their
 * name (a light userdata), which spares the string interning of luaL_getmetatable on hot paths.
 * So a name must be one object with one address in the whole module: declare it as
 * `inline constexpr char name[] = "...";`, never as a pointer to a literal (copies of a literal
 * in different files may have different addresses).
 */
void push_metatable(lua_State* L, const char* name);
/// Like luaL_checkudata, through the address-keyed metatable.
void* check_userdata(lua_State* L, int idx, const char* name);
/// Like check_userdata, but nullptr instead of an error.
void* test_userdata(lua_State* L, int idx, const char* name);
/// Also keys the metatable on top of the stack by the address of name.
void key_metatable(lua_State* L, const char* name);

/**
 * Creates a full userdata holding a T constructed from args, sets the named metatable and leaves
 * the userdata on the stack. T's destructor runs from the metatable's __gc through destroy_object.
 */
template <class T, class... Args>
T* new_object(lua_State* L, const char* metatable, Args&&... args) {
    void* mem = lua_newuserdata(L, sizeof(T));
    T* obj = new (mem) T(std::forward<Args>(args)...);
    push_metatable(L, metatable);
    lua_setmetatable(L, -2);
    return obj;
}

/// The userdata's T at idx; raises "bad argument #idx (<metatable> expected, got ...)".
template <class T>
T& check_object(lua_State* L, int idx, const char* metatable) {
    return *static_cast<T*>(check_userdata(L, idx, metatable));
}

/**
 * The T a __gc was called on, or nullptr when idx is not one of ours (or was finalized already):
 * metatables are reachable from Lua, so a script can call __gc on anything.
 */
template <class T>
T* finalizable_object(lua_State* L, int idx, const char* metatable) {
    return static_cast<T*>(test_userdata(L, idx, metatable));
}

/// Runs T's destructor once; __gc may be called again on a resurrected object.
template <class T>
void destroy_object(lua_State* L, int idx) {
    auto* obj = static_cast<T*>(lua_touserdata(L, idx));
    if (obj == nullptr) return;
    obj->~T();
    // Mark as destroyed so a second __gc (or a call after __gc) sees no object.
    lua_pushnil(L);
    lua_setmetatable(L, idx);
}

/// Writes n as Lua's tostring does ("%.14g") into text and returns the length; for numbers that
/// must become text without a Lua allocation (a finalizer could run in one).
int format_number(lua_Number n, char (&text)[32]);

/// Appends the bytecode of the Lua function at idx to out (lua_dump); false when it cannot be
/// dumped (a C function) or no memory was left.
bool dump_function(lua_State* L, int idx, std::string& out);

/// Optional timeout argument in seconds: nil/none means forever (returns < 0).
double opt_timeout(lua_State* L, int idx);

/// Optional fields of an option table at idx: nil gives nullopt, a wrong type raises
/// "bad argument #idx to 'fn' (option 'key' must be a ...)".
std::optional<bool> opt_bool_field(lua_State* L, int idx, const char* key, const char* fn);
std::optional<double> opt_number_field(lua_State* L, int idx, const char* key, const char* fn);
/// An optional integer field within [lo, hi]; otherwise "(option 'key' must be an integer from lo to hi)".
std::optional<long long> opt_integer_field(lua_State* L, int idx, const char* key, const char* fn, long long lo,
                                           long long hi);
/// The integer argument at idx within [lo, hi]; otherwise a bad-argument error saying so.
long long check_integer_in(lua_State* L, int idx, long long lo, long long hi);
/// The boolean argument at idx (flags take true/false only, so a typo cannot read as true).
bool check_flag(lua_State* L, int idx);
std::optional<std::string> opt_string_field(lua_State* L, int idx, const char* key, const char* fn);

/// Pushes t[1..t.n] of the table at idx; returns how many.
int push_packed(lua_State* L, int idx);

/// Creates (once) a metatable with __index = itself, the given methods and one upvalue each.
/// Expects the upvalue on top of the stack and pops it.
void register_metatable(lua_State* L, const char* name, const luaL_Reg* methods);

} // namespace lasio
