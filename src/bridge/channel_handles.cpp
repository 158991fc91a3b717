// SPDX-License-Identifier: MIT
// A state's handles of shared channels, and its membership of each channel until it closes.
#include "bridge/channel_handles.hpp"

#include "base/lua_bridge.hpp"
#include "sched/runtime.hpp"

#include <unordered_map>

namespace lasio {

namespace {

// Registry keys (their addresses).
char handles_key;    // weak-valued table: light userdata (the channel) -> its handle here
char membership_key; // the state_channels userdata

/**
 * The channels a state holds, kept until lua_close finalizes this userdata: a state counts as a
 * holder from its first handle of a channel to its end, whatever its collector does meanwhile
 * (a worker that got a channel for one job still counts, so the channel is not closed under the
 * state that sent it there).
 */
struct state_channels {
    struct holding {
        std::weak_ptr<shared_channel> ch;
        bool close_at_end = false; // see close_with_state
    };
    std::unordered_map<const shared_channel*, holding> held;

    ~state_channels() {
        for (auto& entry : held) {
            std::shared_ptr<shared_channel> ch = entry.second.ch.lock();
            if (ch == nullptr) continue;
            if (entry.second.close_at_end) ch->close(nullptr);
            ch->leave_state(nullptr);
        }
    }
};

constexpr char state_channels_metatable[] = "asio.state_channels";

int l_state_channels_gc(lua_State* L) {
    // Reachable from the registry only, so finalized once, by lua_close.
    destroy_object<state_channels>(L, 1);
    return 0;
}

/// L's record of the channels it holds, made on first use.
state_channels& membership(lua_State* L) {
    lua_pushlightuserdata(L, &membership_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    auto* s = static_cast<state_channels*>(lua_touserdata(L, -1));
    lua_pop(L, 1);
    if (s != nullptr) return *s;
    s = static_cast<state_channels*>(lua_newuserdata(L, sizeof(state_channels)));
    new (s) state_channels();
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, l_state_channels_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    lua_pushlightuserdata(L, &membership_key);
    lua_insert(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
    return *s;
}

void push_handles_table(lua_State* L) {
    lua_pushlightuserdata(L, &handles_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    if (lua_istable(L, -1)) return;
    lua_pop(L, 1);
    lua_createtable(L, 0, 4);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "v");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushlightuserdata(L, &handles_key);
    lua_pushvalue(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
}

/// Makes L a holder of ch unless it is one; false when no memory was left to record it.
bool join(lua_State* L, const std::shared_ptr<shared_channel>& ch) {
    state_channels& s = membership(L);
    try {
        auto it = s.held.find(ch.get());
        if (it != s.held.end() && !it->second.ch.expired()) return true;
        // An expired entry there named a freed channel at the same address.
        s.held[ch.get()] = state_channels::holding{ch, false};
        // Pruning now and then keeps a state that sees many short-lived channels small.
        if (s.held.size() > 64 && s.held.size() % 64 == 0) {
            for (auto i = s.held.begin(); i != s.held.end();)
                i = i->second.ch.expired() ? s.held.erase(i) : std::next(i);
        }
    } catch (...) {
        return false;
    }
    ch->join_state(runtime::of_state(L));
    return true;
}

} // namespace

void close_with_state(lua_State* L, const std::shared_ptr<shared_channel>& ch) {
    state_channels& s = membership(L);
    auto it = s.held.find(ch.get());
    if (it != s.held.end() && it->second.ch.lock() == ch) it->second.close_at_end = true;
}

std::shared_ptr<shared_channel> channel_of(lua_State* L, int idx) {
    auto* h = static_cast<channel_handle*>(test_userdata(L, idx, shared_channel_metatable));
    return h != nullptr ? h->ch : nullptr;
}

void push_channel_handle(lua_State* L, const std::shared_ptr<shared_channel>& ch) {
    push_handles_table(L); // stack: handles
    lua_pushlightuserdata(L, ch.get());
    lua_rawget(L, -2);
    if (lua_isuserdata(L, -1)) {
        lua_remove(L, -2);
        return;
    }
    lua_pop(L, 1);
    push_metatable(L, shared_channel_metatable);
    if (!lua_istable(L, -1)) luaL_error(L, "shared channel: asio is not loaded in this state");
    lua_pop(L, 1);
    if (!join(L, ch)) luaL_error(L, "not enough memory");
    new_object<channel_handle>(L, shared_channel_metatable)->ch = ch; // stack: handles h
    lua_pushlightuserdata(L, ch.get());
    lua_pushvalue(L, -2);
    lua_rawset(L, -4);
    lua_remove(L, -2);
}

} // namespace lasio
