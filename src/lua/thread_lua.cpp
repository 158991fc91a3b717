// SPDX-License-Identifier: MIT
// Lua bindings of light threads: spawn, current, park/wake, sleep/yield/now, join, kill, status.
#include "lua/thread_lua.hpp"

#include "base/errors.hpp"
#include "base/lua_bridge.hpp"
#include "sched/light_thread.hpp"
#include "sched/runtime.hpp"

namespace lasio {

namespace {

/// A light-thread handle argument: the coroutine and its live thread (nullptr once ended).
struct thread_arg {
    lua_State* co;
    light_thread* live;
};

/// Raises a bad-argument error unless idx holds a light thread, live or ended.
thread_arg check_thread(lua_State* L, int idx) {
    lua_State* co = lua_tothread(L, idx);
    if (co == nullptr) luaL_typerror(L, idx, "light thread");
    light_thread* live = runtime::from(L).find(co);
    if (live == nullptr && ended_outcome(co) == thread_outcome::none)
        luaL_argerror(L, idx, "a coroutine that is not a light thread");
    return {co, live};
}

/// The C spawn: spawn_light_thread where LuaJIT has no FFI, else _spawn_light_thread_c.
/// Upvalues: the runtime, the anchor table (spawning is hot: no lookup for either).
int l_spawn(lua_State* L) {
    if (lua_type(L, 1) != LUA_TFUNCTION) luaL_typerror(L, 1, lua_typename(L, LUA_TFUNCTION));
    runtime::from(L).spawn(L, lua_gettop(L) - 1, lua_upvalueindex(2));
    return 1;
}

// What asio.lua's spawn calls through the FFI: plain C signatures, no lua_State; holder is the
// runtime's userdata (runtime_holder). -2: the runtime is closed.
int reserve_spawn_slot_ffi(void* holder) noexcept {
    const runtime_ptr& rt = static_cast<runtime_holder*>(holder)->rt;
    return rt ? rt->reserve_spawn_slot() : -2;
}

int commit_spawn_slot_ffi(void* holder, int anchor) noexcept {
    const runtime_ptr& rt = static_cast<runtime_holder*>(holder)->rt;
    return rt ? rt->commit_spawn_slot(anchor) : -2;
}

/// give_args(co, ...): puts the arguments of a new light thread on its coroutine's stack.
int l_give_args(lua_State* L) {
    lua_State* co = lua_tothread(L, 1);
    if (co == nullptr) luaL_typerror(L, 1, "coroutine");
    lua_Debug ar;
    // Only a coroutine that has never run holds just its function: arguments go above it.
    if (lua_status(co) != 0 || lua_gettop(co) != 1 || lua_type(co, 1) != LUA_TFUNCTION ||
        lua_getstack(co, 0, &ar) != 0 || co == L)
        luaL_argerror(L, 1, "a coroutine that has not started");
    int n = lua_gettop(L) - 1;
    if (!lua_checkstack(co, n)) { // raised on L, as the C spawn does, without a position
        lua_pushliteral(L, "too many arguments");
        return lua_error(L);
    }
    lua_xmove(L, co, n);
    return 0;
}

int l_current(lua_State* L) {
    if (runtime::from(L).running_coroutine() != L) lua_pushnil(L);
    else lua_pushthread(L);
    return 1;
}

int l_park(lua_State* L) {
    auto& rt = runtime::from(L);
    double timeout = opt_timeout(L, 1);
    light_thread& th = rt.current(L, "park");
    // Yield first: where the coroutine cannot yield it raises, and nothing has changed yet.
    int suspended = lua_yield(L, 0);
    rt.begin_wait(th, wait_kind::park, nullptr, timeout);
    return suspended;
}

int l_wake(lua_State* L) {
    auto& rt = runtime::from(L);
    light_thread* live = check_thread(L, 1).live;
    if (live == nullptr || live->status() != thread_status::waiting ||
        live->waiting_for() != wait_kind::park) {
        lua_pushboolean(L, 0);
        return 1;
    }
    light_thread& th = *live;
    int n = lua_gettop(L) - 1;
    // Room first, and the error raised on L (co is not running): the thread stays parked.
    if (!lua_checkstack(th.co(), n)) return luaL_error(L, "wake: too many values");
    lua_State* co = rt.claim(th, th.token());
    if (co != L) {
        if (lua_checkstack(co, n)) lua_xmove(L, co, n);
    } else if (lua_checkstack(L, n)) {
        // A finalizer calling wake runs on the runtime's results stack: the values are copied
        // above the claim's base (moving from L to L would move nothing).
        for (int i = 2; i <= n + 1; ++i) lua_pushvalue(L, i);
    }
    rt.make_ready(th);
    lua_pushboolean(L, 1);
    return 1;
}

int l_sleep(lua_State* L) {
    auto& rt = runtime::from(L);
    double seconds = luaL_checknumber(L, 1);
    if (seconds != seconds) luaL_argerror(L, 1, "not a number");
    light_thread& th = rt.current(L, "sleep");
    if (seconds <= 0) return rt.bounce(L, th, 0);
    int suspended = lua_yield(L, 0); // first, as in park
    rt.begin_wait(th, wait_kind::sleep, nullptr, seconds);
    return suspended;
}

int l_yield(lua_State* L) {
    auto& rt = runtime::from(L);
    return rt.bounce(L, rt.current(L, "yield"), 0);
}

int l_now(lua_State* L) {
    auto since_epoch = steady_clock::now().time_since_epoch();
    lua_pushnumber(L, std::chrono::duration<double>(since_epoch).count());
    return 1;
}

int l_thread_join(lua_State* L) {
    auto& rt = runtime::from(L);
    auto [co, live] = check_thread(L, 1);
    double timeout = opt_timeout(L, 2);
    if (live == nullptr) return push_ended_outcome(co, L);
    light_thread& target = *live;
    light_thread& self = rt.current(L, "join");
    if (&self == &target) return luaL_error(L, "join: a light thread cannot join itself");
    int suspended = lua_yield(L, 0); // first, as in park
    std::uint32_t token = rt.begin_wait(self, wait_kind::join, nullptr, timeout);
    rt.add_joiner(target, self, token);
    return suspended;
}

int l_thread_kill(lua_State* L) {
    auto& rt = runtime::from(L);
    light_thread* live = check_thread(L, 1).live;
    if (live == nullptr) return 0;
    light_thread& target = *live;
    if (target.co() == rt.running_coroutine()) {
        if (target.co() != L)
            return luaL_error(L, "kill: a light thread cannot kill itself from a nested coroutine");
        // Yield first, as in park; the end mark kill pushes is then what the thread yields,
        // and stays on its stack where join looks. Never resumed: it ends here.
        int suspended = lua_yield(L, 0);
        rt.kill(target);
        return suspended;
    }
    rt.kill(target);
    lua_settop(L, 1);
    rt.notify_kill(L, 1);
    return 0;
}

int l_thread_status(lua_State* L) {
    light_thread* th = check_thread(L, 1).live;
    switch (th != nullptr ? th->status() : thread_status::dead) {
    case thread_status::running:
        lua_pushliteral(L, "running");
        break;
    case thread_status::dead:
        lua_pushliteral(L, "dead");
        break;
    default: // ready to run counts as waiting for its turn
        lua_pushliteral(L, "waiting");
        break;
    }
    return 1;
}

const luaL_Reg thread_methods[] = {
    {"join", l_thread_join},
    {"kill", l_thread_kill},
    {"status", l_thread_status},
    {nullptr, nullptr},
};

const luaL_Reg thread_functions[] = {
    {"current", l_current},
    {"park", l_park},
    {"wake", l_wake},
    {"sleep", l_sleep},
    {"yield", l_yield},
    {"now", l_now},
    {nullptr, nullptr},
};

} // namespace

void open_light_thread(lua_State* L, runtime& rt) {
    // Handles are coroutines, so the methods go on the metatable shared by every coroutine
    // (one per type in Lua). Another library's metatable is extended, not replaced.
    lua_newtable(L); // stack: methods
    rt.push_upvalue(L);
    luaL_setfuncs(L, thread_methods, 1);
    lua_pushthread(L); // any coroutine stands for its type; stack: methods thread
    if (!lua_getmetatable(L, -1)) {
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setmetatable(L, -3);
    }
    lua_remove(L, -2);              // stack: methods mt
    lua_getfield(L, -1, "__index"); // stack: methods mt index
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -2);
        lua_setfield(L, -2, "__index");
    } else if (lua_istable(L, -1)) {
        for (const luaL_Reg* m = thread_methods; m->name != nullptr; ++m) {
            lua_getfield(L, -3, m->name);
            lua_setfield(L, -2, m->name);
        }
        lua_pop(L, 1);
    } else {
        luaL_error(L, "asio: the coroutine metatable's __index is not a table; cannot add "
                      "the light-thread methods");
    }
    lua_pop(L, 2);
    rt.push_upvalue(L);
    luaL_setfuncs(L, thread_functions, 1);
    rt.push_upvalue(L);
    rt.push_anchors(L);
    lua_pushcclosure(L, l_spawn, 2);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "_spawn_light_thread_c"); // for comparisons (bench, specs)
    push_lua_spawn(L, rt);
    lua_setfield(L, -2, "spawn_light_thread");
}

void push_lua_spawn(lua_State* L, runtime& rt) {
    // The factory gets what it needs as arguments, so the anchor table only ever sits in the
    // spawn function's upvalues: user code that could reach it could overwrite a waiting
    // thread's coroutine and have it collected.
    int c_spawn = lua_gettop(L);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "asio.spawn");
    if (lua_pcall(L, 1, 1, 0) != 0 || !lua_isfunction(L, -1)) {
        lua_pop(L, 1); // no asio/spawn.lua (a host that ships the core alone): the C spawn
        return;
    }
    rt.push_anchors(L);
    lua_pushlightuserdata(L, reinterpret_cast<void*>(&reserve_spawn_slot_ffi));
    lua_pushlightuserdata(L, reinterpret_cast<void*>(&commit_spawn_slot_ffi));
    rt.push_upvalue(L);
    lua_pushcfunction(L, l_give_args);
    lua_pushvalue(L, c_spawn);
    if (lua_pcall(L, 6, 1, 0) != 0 || !lua_isfunction(L, -1)) {
        lua_pop(L, 1);
        return;
    }
    lua_replace(L, c_spawn);
}

} // namespace lasio
