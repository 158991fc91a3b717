// SPDX-License-Identifier: MIT
// The C API of include/luaasio.h: driving the loop of a host's state (opening it is open.cpp's).
// Every entry point checks its state first and runs Lua work under lua_cpcall, so that no Lua
// error unwinds through the host's frames.
#include "luaasio.hpp"

#include "embed/loop_descriptor.hpp"
#include "sched/loop_mailbox.hpp"
#include "sched/runtime.hpp"

#include <cmath>
#include <climits>
#include <memory>
#include <new>


namespace lasio {

namespace {

/// The state's live runtime (the loop may be running); else an error code.
int runtime_of(lua_State* L, runtime*& rt) {
    if (L == nullptr) return LUAASIO_EARG;
    rt = runtime::of_state(L);
    if (rt == nullptr) return LUAASIO_ENOMODULE; // also once lua_close tore it down
    if (rt->closing()) return LUAASIO_ECLOSED;
    return LUAASIO_OK;
}

/// The state's runtime when the loop may be driven from outside now; else an error code.
int loop_of(lua_State* L, runtime*& rt) {
    if (int rc = runtime_of(L, rt)) return rc;
    if (rt->in_loop() || rt->in_light_thread()) return LUAASIO_EINLOOP;
    return LUAASIO_OK;
}

/// A loop entry point and what it reports, run under lua_cpcall.
struct loop_call {
    runtime* rt;
    double seconds; // run_for's wait; < 0: poll
    std::size_t handlers = 0;
};

int run_loop_protected(lua_State* L) {
    auto* call = static_cast<loop_call*>(lua_touserdata(L, 1));
    if (call->seconds < 0) {
        call->handlers = call->rt->poll();
    } else {
        call->rt->run_for(call->seconds);
    }
    return 0;
}

int run_loop(lua_State* L, double seconds) {
    runtime* rt = nullptr;
    if (int rc = loop_of(L, rt)) return rc;
    loop_call call{rt, seconds};
    int top = lua_gettop(L);
    if (lua_cpcall(L, run_loop_protected, &call) != 0) {
        // Only a failure of the loop itself lands here (out of memory while resuming): the
        // scripts' own errors went to their error handler.
        lua_settop(L, top);
        return LUAASIO_ELUA;
    }
    return static_cast<int>(std::min<std::size_t>(call.handlers, INT_MAX));
}

} // namespace

} // namespace lasio

using namespace lasio;

extern "C" {

const char* luaasio_version(void) { return LUAASIO_VERSION; }

const char* luaasio_strerror(int code) {
    switch (code) {
    case LUAASIO_OK: return "no error";
    case LUAASIO_EARG: return "bad argument (a null state or waker, or a negative time)";
    case LUAASIO_ENOMODULE: return "the state has no LuaAsio (call luaasio_open first)";
    case LUAASIO_EINLOOP: return "called while the loop runs (from Lua, a handler or a finalizer)";
    case LUAASIO_ECLOSED: return "the state is being closed";
    case LUAASIO_ELUA: return "Lua raised an error";
    case LUAASIO_ENOTSUP: return "not available on this platform";
    case LUAASIO_ESYS: return "a system call failed (see errno)";
    default: return code >= -1 ? "no error" : "unknown error";
    }
}

int luaasio_poll(lua_State* L) { return run_loop(L, -1); }

int luaasio_run_for(lua_State* L, int ms) {
    if (ms < 0) return LUAASIO_EARG;
    return run_loop(L, ms / 1000.0);
}

int luaasio_next_deadline(lua_State* L) {
    runtime* rt = nullptr;
    if (int rc = loop_of(L, rt)) return rc;
    double s = rt->next_deadline();
    if (s < 0) return -1;
    double ms = std::ceil(s * 1000.0);
    return ms >= INT_MAX ? INT_MAX : static_cast<int>(ms);
}

int luaasio_stop(lua_State* L) {
    runtime* rt = nullptr;
    if (int rc = runtime_of(L, rt)) return rc;
    rt->stop();
    return LUAASIO_OK;
}

struct luaasio_waker {
    std::shared_ptr<loop_mailbox> mailbox;
};

luaasio_waker* luaasio_waker_new(lua_State* L) {
    runtime* rt = nullptr;
    if (runtime_of(L, rt) != LUAASIO_OK) return nullptr;
    return new (std::nothrow) luaasio_waker{rt->mailbox()};
}

int luaasio_wake(luaasio_waker* w) {
    if (w == nullptr) return LUAASIO_EARG;
    return w->mailbox->wake() ? LUAASIO_OK : LUAASIO_ECLOSED;
}

void luaasio_waker_free(luaasio_waker* w) { delete w; }

int luaasio_fd(lua_State* L) {
    runtime* rt = nullptr;
    if (int rc = runtime_of(L, rt)) return rc;
    return loop_descriptor(L, *rt);
}

} // extern "C"

int luaasio_use_io_context(lua_State* L, boost::asio::io_context& io) {
    if (L == nullptr) return LUAASIO_EARG;
    struct request {
        boost::asio::io_context* io;
        bool accepted;
    } req{&io, false};
    // The registry write allocates: protected, as everything else here.
    int rc = lua_cpcall(
        L,
        [](lua_State* S) {
            auto* r = static_cast<request*>(lua_touserdata(S, 1));
            r->accepted = runtime::use_host_io(S, *r->io);
            return 0;
        },
        &req);
    if (rc != 0) {
        lua_pop(L, 1);
        return LUAASIO_ELUA;
    }
    return req.accepted ? LUAASIO_OK : LUAASIO_EARG;
}
