// SPDX-License-Identifier: MIT
// luaasio_fd: a descriptor that is readable whenever the loop has work, for a host's own poll.
#pragma once

#include <lua.hpp>

namespace lasio {

class runtime;

/**
 * The descriptor of rt's loop, made on first use and closed with the state: on Linux an epoll
 * set of its own holding Asio's epoll set, which holds every socket, the timer descriptor and
 * the wake-up event of the loop; so it is readable exactly when Asio's own wait would return.
 * LUAASIO_ENOTSUP elsewhere; an error code (never a Lua error) when it cannot be made.
 */
int loop_descriptor(lua_State* L, runtime& rt);

} // namespace lasio
