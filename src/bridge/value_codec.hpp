// SPDX-License-Identifier: MIT
// The value codec: Lua values copied into an owned byte buffer, and back into another lua_State.
#pragma once

#include "bridge/shared_channel.hpp"

#include <lua.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace lasio {

/**
 * What crosses between Lua states: nil, booleans, numbers (the exact double: -0, nan, inf),
 * strings (binary-safe) and tables of those, nested up to codec_max_depth levels. Table keys are
 * booleans, numbers or strings; metatables are not copied; a table reached twice is copied twice
 * (a cycle is refused), and shared channels, which go by reference: the encoder appends each to
 * refs and writes its index there, and the decoder gives the target state a handle of the same
 * channel. A channel found where refs is null is refused like any userdata. The buffer holds no
 * Lua state: it is made on one OS thread and read on
 * another, and it belongs to whoever holds the std::string.
 *
 * Paths in errors name the value from a root the caller gives: `args[2].opts.cb`,
 * `args[1]["two words"]`, `results[1][3]`, `upvalue config.hosts`. A string key that is a Lua
 * identifier is written `.key`, other keys in brackets (strings quoted, cut after 40 bytes).
 */
inline constexpr int codec_max_depth = 100;

/**
 * Appends the n values from index first of L to out, their paths being root[1] .. root[n].
 * Returns false with the reason in error (out then holds a partial encoding) when a value cannot
 * be copied. Never raises, except Lua's own out-of-memory error.
 */
bool encode_values(lua_State* L, int first, int n, const char* root, std::string& out, std::string& error,
                   codec_refs* refs = nullptr);
/// Appends the value at idx, named path in errors (see encode_values).
bool encode_value(lua_State* L, int idx, const std::string& path, std::string& out, std::string& error,
                  codec_refs* refs = nullptr);
/**
 * Pushes every value encoded in data onto L and returns how many. Safe on any bytes: a buffer
 * that no encoder made raises "malformed value buffer (<why>)", and nothing else happens. refs:
 * what the encoder appended to (a channel index beyond it is malformed).
 */
int decode_values(lua_State* L, std::string_view data, const codec_refs* refs = nullptr);

} // namespace lasio
