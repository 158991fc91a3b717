// SPDX-License-Identifier: MIT
// Lua bindings of shared channels: the handle's non-blocking operations and the waiter that
// parks a light thread on several channels (asio.sync.shared_channel builds send/recv/select).
#pragma once

#include <lua.hpp>

namespace lasio {

class runtime;

/// Registers the handle's and the waiter's metatables and adds shared_channel, _sc_try_send,
/// _sc_try_recv, _sc_waiter and _sc_methods to the table on top.
void open_shared_channel(lua_State* L, runtime& rt);

} // namespace lasio
