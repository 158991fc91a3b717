// SPDX-License-Identifier: MIT
// What the userdata of every I/O object (connection, UDP socket, server) does the same way:
// its finalizer, its description, and its addresses.
#pragma once

#include "base/endpoint.hpp"
#include "base/errors.hpp"
#include "base/lua_bridge.hpp"
#include "sched/runtime.hpp" // owe_collector, finalized_handle_charge

#include <lua.hpp>

#include <utility>

namespace lasio {

/**
 * __gc of a handle holding `std::shared_ptr<T> s`: closes the object (its waiters get "closed")
 * and leaves destroying it to the loop (runtime::release_later), since a method of it may still
 * be running below the finalizer.
 */
template <class Handle>
int gc_handle(lua_State* L, const char* metatable) {
    auto* h = finalizable_object<Handle>(L, 1, metatable);
    if (h == nullptr) return 0;
    if (h->s) {
        h->s->close();
        // The userdata's memory is freed only by the next cycle: without a debt, an idle loop
        // would leave it (and what else that cycle would find) to the next burst of work.
        h->s->rt().owe_collector(finalized_handle_charge);
        h->s->rt().release_later(std::move(h->s));
    }
    destroy_object<Handle>(L, 1);
    return 0;
}

/// __tostring: "<name> (closed, 0x...)" or "<name> (0x...)".
template <class T>
int push_description(lua_State* L, const char* name, const T& obj) {
    lua_pushfstring(L, "%s (%s%p)", name, obj.closed() ? "closed, " : "",
                    static_cast<const void*>(&obj));
    return 1;
}

/**
 * ip, port of the endpoint get(ec) returns for an open object; nil, "closed" for a closed one;
 * nil and fail (or ec's string when fail is null) when get fails.
 */
template <class T, class Get>
int push_address(lua_State* L, const T& obj, Get&& get, const char* fail = nullptr) {
    if (obj.closed()) return push_fail(L, err::closed);
    error_code ec;
    auto ep = get(ec);
    if (ec) return fail != nullptr ? push_fail(L, fail) : push_fail(L, ec);
    return push_endpoint(L, ep);
}

} // namespace lasio
