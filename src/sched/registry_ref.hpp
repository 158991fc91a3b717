// SPDX-License-Identifier: MIT
// A Lua value anchored in the registry for as long as its owner lives.
#pragma once

#include <lua.hpp>

#include <utility>

namespace lasio {

class runtime;

/**
 * Releases its registry slot when destroyed or reset, unless the runtime is closing: lua_close
 * frees the registry itself then, and the state may be gone by the time the owner is. Owned by
 * the runtime, or by an object that keeps the runtime alive (an I/O object), so the runtime it
 * names outlives it.
 */
class registry_ref {
public:
    registry_ref() = default;
    /// Anchors the value on top of L (which it pops).
    registry_ref(runtime& rt, lua_State* L);
    registry_ref(registry_ref&& other) noexcept
        : rt_(std::exchange(other.rt_, nullptr)), ref_(std::exchange(other.ref_, LUA_NOREF)) {}
    registry_ref& operator=(registry_ref&& other) noexcept {
        if (this != &other) {
            reset();
            rt_ = std::exchange(other.rt_, nullptr);
            ref_ = std::exchange(other.ref_, LUA_NOREF);
        }
        return *this;
    }
    registry_ref(const registry_ref&) = delete;
    registry_ref& operator=(const registry_ref&) = delete;
    ~registry_ref() { reset(); }

    void reset();
    /// Pushes the value onto L (a thread of the same state).
    void push(lua_State* L) const;
    explicit operator bool() const { return rt_ != nullptr; }

private:
    runtime* rt_ = nullptr;
    int ref_ = LUA_NOREF;
};

} // namespace lasio
