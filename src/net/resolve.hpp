// SPDX-License-Identifier: MIT
// Asynchronous name resolution for light threads, as asio.resolve and UDP connect use it.
#pragma once

#include "base/errors.hpp"
#include "sched/runtime.hpp"

#include <boost/asio/ip/address.hpp>

#include <functional>
#include <string>
#include <vector>

namespace lasio {

/**
 * Finishes a resolution: runs from the resolver's handler with the waiting thread's stack
 * (claimed, empty) and pushes what the blocked call returns. Never called when the wait ended
 * another way (timeout, kill, lua_close), so it may capture objects the call needs.
 */
using resolve_done =
    std::function<int(lua_State* co, const error_code& ec, const std::vector<net::ip::address>& addrs)>;

/**
 * Resolves host (a name; IP literals are the caller's fast path) to the addresses of family
 * (AF_UNSPEC, AF_INET or AF_INET6), without duplicates, in the resolver's order. th is the
 * calling light thread; the return value is lua_yield's, so the caller returns it at once.
 * hold_idx, when not 0, is the object the wait is for (see runtime::yield_holding).
 */
int resolve_and_yield(lua_State* L, runtime& rt, light_thread& th, const std::string& host, int family,
                      double timeout, resolve_done done, int hold_idx = 0);

} // namespace lasio
