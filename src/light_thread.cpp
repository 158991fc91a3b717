// SPDX-License-Identifier: MIT
// Lua bindings of light threads: spawn, current, park/wake, sleep/yield/now, join, kill, status.
#include "light_thread.hpp"

#include "errors.hpp"
#include "lua_bridge.hpp"
#include "runtime.hpp"

#include <vector>

namespace lasio {

namespace {

/// Free blocks of dead light threads, per OS thread (a runtime never leaves its OS thread).
struct thread_memory_pool {
    std::vector<void*> free;
    ~thread_memory_pool() {
        for (void* p : free) ::operator delete(p);
    }
};
thread_local thread_memory_pool pool;
constexpr std::size_t pool_limit = 4096;

/// The live thread of the handle at idx, or nullptr once it is dead.
light_thread* check_thread(lua_State* L, int idx) {
    return check_object<thread_handle>(L, idx, thread_metatable).th;
}

int l_spawn(lua_State* L) {
    auto& rt = runtime::from(L);
    luaL_checktype(L, 1, LUA_TFUNCTION);
    thread_ptr th = rt.spawn(L, lua_gettop(L) - 1);
    rt.push_handle(L, *th);
    return 1;
}

int l_current(lua_State* L) {
    auto& rt = runtime::from(L);
    light_thread* th = rt.running();
    if (th == nullptr || th->co() != L) {
        lua_pushnil(L);
        return 1;
    }
    rt.push_handle(L, *th);
    return 1;
}

int l_park(lua_State* L) {
    auto& rt = runtime::from(L);
    double timeout = opt_timeout(L, 1);
    light_thread& th = rt.current(L, "park");
    rt.begin_wait(th, wait_kind::park, nullptr, timeout);
    return lua_yield(L, 0);
}

int l_wake(lua_State* L) {
    auto& rt = runtime::from(L);
    light_thread* live = check_thread(L, 1);
    if (live == nullptr || live->status() != thread_status::waiting ||
        live->waiting_for() != wait_kind::park) {
        lua_pushboolean(L, 0);
        return 1;
    }
    light_thread& th = *live;
    lua_State* co = rt.claim(th, th.token());
    int n = lua_gettop(L) - 1;
    luaL_checkstack(co, n, "too many values");
    lua_xmove(L, co, n);
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
    rt.begin_wait(th, wait_kind::sleep, nullptr, seconds);
    return lua_yield(L, 0);
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
    light_thread* live = check_thread(L, 1);
    double timeout = opt_timeout(L, 2);
    if (live == nullptr) return push_dead_outcome(L, 1);
    light_thread& target = *live;
    light_thread& self = rt.current(L, "join");
    if (&self == &target) return luaL_error(L, "join: a light thread cannot join itself");
    std::uint32_t token = rt.begin_wait(self, wait_kind::join, nullptr, timeout);
    rt.add_joiner(target, self, token);
    return lua_yield(L, 0);
}

int l_thread_kill(lua_State* L) {
    auto& rt = runtime::from(L);
    light_thread* live = check_thread(L, 1);
    if (live == nullptr) return 0;
    light_thread& target = *live;
    if (&target == rt.running()) {
        if (target.co() != L)
            return luaL_error(L, "kill: a light thread cannot kill itself from a nested coroutine");
        rt.kill(target);
        return lua_yield(L, 0); // never resumed: it ends here
    }
    rt.kill(target);
    return 0;
}

int l_thread_status(lua_State* L) {
    light_thread* th = check_thread(L, 1);
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

int l_thread_tostring(lua_State* L) {
    light_thread* th = check_thread(L, 1);
    lua_pushfstring(L, "asio.thread (%s%p)", th == nullptr ? "dead, " : "", lua_touserdata(L, 1));
    return 1;
}

const luaL_Reg thread_methods[] = {
    {"join", l_thread_join},
    {"kill", l_thread_kill},
    {"status", l_thread_status},
    {"__tostring", l_thread_tostring},
    {nullptr, nullptr},
};

const luaL_Reg thread_functions[] = {
    {"spawn_light_thread", l_spawn},
    {"current", l_current},
    {"park", l_park},
    {"wake", l_wake},
    {"sleep", l_sleep},
    {"yield", l_yield},
    {"now", l_now},
    {nullptr, nullptr},
};

} // namespace

void* light_thread::operator new(std::size_t size) {
    if (size == sizeof(light_thread) && !pool.free.empty()) {
        void* p = pool.free.back();
        pool.free.pop_back();
        return p;
    }
    return ::operator new(size);
}

void light_thread::operator delete(void* p) noexcept {
    if (pool.free.size() < pool_limit) {
        try {
            pool.free.push_back(p);
            return;
        } catch (...) {
        }
    }
    ::operator delete(p);
}

void open_light_thread(lua_State* L, runtime& rt) {
    lua_pushlightuserdata(L, &rt);
    register_metatable(L, thread_metatable, thread_methods);
    lua_pushlightuserdata(L, &rt);
    luaL_setfuncs(L, thread_functions, 1);
}

} // namespace lasio
