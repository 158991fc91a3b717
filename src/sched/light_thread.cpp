// SPDX-License-Identifier: MIT
// Light-thread records: their memory pool and the marks an ended thread leaves on its coroutine.
#include "sched/light_thread.hpp"

#include "base/errors.hpp"
#include "base/lua_bridge.hpp"
#include "sched/runtime.hpp"

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
// initial-exec: a spawn and a death each reach the pool, and the default model for a shared
// object costs a __tls_get_addr call per access (the pool is a few bytes of static TLS).
#if defined(__GNUC__)
thread_local thread_memory_pool pool __attribute__((tls_model("initial-exec")));
#else
thread_local thread_memory_pool pool;
#endif
constexpr std::size_t pool_limit = 4096;

/// How each way of ending is marked on the coroutine (only the addresses matter).
const char end_marks[4] = {};
const void* end_mark(thread_outcome how) { return &end_marks[static_cast<int>(how)]; }

} // namespace

// Every idle connection has a record: a 64-byte malloc chunk on 64-bit targets, no more.
static_assert(sizeof(void*) != 8 || sizeof(light_thread) <= 56, "light_thread outgrew its chunk");

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

void push_end_mark(lua_State* co, thread_outcome how) {
    if (how == thread_outcome::returned) lua_pushthread(co);
    else lua_pushlightuserdata(co, const_cast<void*>(end_mark(how)));
}

thread_outcome ended_outcome(lua_State* co) {
    if (lua_gettop(co) == 0) return thread_outcome::none;
    switch (lua_type(co, -1)) {
    case LUA_TTHREAD: {
        // A coroutine that is still running may have itself on top too (coroutine.running()
        // passed to a call): only one that has returned, with no frame left, is marked so.
        lua_Debug ar;
        bool returned = lua_tothread(co, -1) == co && lua_status(co) == 0 &&
                        lua_getstack(co, 0, &ar) == 0;
        return returned ? thread_outcome::returned : thread_outcome::none;
    }
    case LUA_TLIGHTUSERDATA:
        for (auto how : {thread_outcome::raised, thread_outcome::killed})
            if (lua_touserdata(co, -1) == end_mark(how)) return how;
        return thread_outcome::none;
    default:
        return thread_outcome::none;
    }
}

int push_ended_outcome(lua_State* co, lua_State* L) {
    thread_outcome how = ended_outcome(co);
    if (how == thread_outcome::killed) {
        lua_pushboolean(L, 0);
        lua_pushstring(L, err::killed);
        return 2;
    }
    int n = lua_gettop(co) - 1; // the results, or the traceback, lie below the mark
    // Neither stack may raise: L can be a joiner that is not running.
    if (!lua_checkstack(L, n + 2) || !lua_checkstack(co, 1)) {
        lua_pushboolean(L, 0);
        lua_pushliteral(L, "too many results to keep");
        return 2;
    }
    lua_pushboolean(L, how == thread_outcome::returned);
    for (int i = 1; i <= n; ++i) {
        lua_pushvalue(co, i);
        lua_xmove(co, L, 1);
    }
    return n + 1;
}

} // namespace lasio
