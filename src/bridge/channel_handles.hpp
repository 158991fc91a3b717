// SPDX-License-Identifier: MIT
// A state's handles of shared channels: one userdata per channel per state, and the states a
// channel counts as holding it.
#pragma once

#include "bridge/shared_channel.hpp"

#include <lua.hpp>

#include <memory>

namespace lasio {

inline constexpr char shared_channel_metatable[] = "asio.shared_channel";

/// The userdata of a handle (its metatable is registered by the Lua binding).
struct channel_handle {
    std::shared_ptr<shared_channel> ch;
};

/// The channel whose handle is at idx, or null when the value there is not one.
std::shared_ptr<shared_channel> channel_of(lua_State* L, int idx);

/**
 * Pushes L's handle of ch: the same userdata every time while it lives, so that a channel that
 * comes back compares equal to the one sent. The first handle a state gets makes the state a
 * holder of the channel until the state is closed (see shared_channel). Raises (a Lua error) on
 * out of memory, and when asio's metatables are not registered in L.
 */
void push_channel_handle(lua_State* L, const std::shared_ptr<shared_channel>& ch);

/**
 * Makes the end of L (lua_close) close ch, as well as leave it: for a channel that L's helpers
 * in other states wait on (the offload pool's queue), which would otherwise stay open between
 * them. ch must be held by L (L has a handle of it).
 */
void close_with_state(lua_State* L, const std::shared_ptr<shared_channel>& ch);

} // namespace lasio
