// SPDX-License-Identifier: MIT
// Lua bindings of child processes: asio.spawn_process's core and p:wait, p:kill, p:pid, p:close.
#include "base/lua_bridge.hpp"
#include "lua/io_handle.hpp"
#include "lua/os_lua.hpp"
#include "lua/stream_lua.hpp"
#include "net/stream.hpp"
#include "os/child_process.hpp"
#include "os/os_config.hpp"
#include "os/spawn_worker.hpp"
#include "os/signal_names.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <memory>

#if defined(LASIO_HAS_DAEMON)
#include <unistd.h>
#endif

namespace lasio {

#if defined(LASIO_HAS_DAEMON)
namespace {

inline constexpr char process_metatable[] = "asio.process";

struct process_handle {
    std::shared_ptr<child_process> s;
};

child_process& check_process(lua_State* L, int idx) {
    return *check_object<process_handle>(L, idx, process_metatable).s;
}

const char* const stdio_names[] = {"inherit", "null", "pipe", "stdout", nullptr};
const char* const stdio_keys[] = {"stdin", "stdout", "stderr"};

/// A string with no zero byte (the C side cuts there) at the top of the stack; else raises.
void check_c_string(lua_State* L, int arg, const char* what) {
    size_t len;
    const char* s = lua_tolstring(L, -1, &len);
    if (s == nullptr) luaL_argerror(L, arg, lua_pushfstring(L, "%s must be a string", what));
    if (std::strlen(s) != len) luaL_argerror(L, arg, lua_pushfstring(L, "%s contains a zero byte", what));
}

/**
 * Checks the whole spec table at idx before any C++ object is made (raising then leaks nothing
 * where LuaJIT's unwinding skips destructors); returns the number of arguments.
 */
int check_spec(lua_State* L, int idx) {
    luaL_checktype(L, idx, LUA_TTABLE);
    int n = static_cast<int>(lua_objlen(L, idx));
    if (n < 1) luaL_argerror(L, idx, "the command (item 1) is missing");
    for (int i = 1; i <= n; ++i) {
        lua_rawgeti(L, idx, i);
        if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)
            luaL_argerror(L, idx, lua_pushfstring(L, "item %d must be a string", i));
        check_c_string(L, idx, "an argument");
        lua_pop(L, 1);
    }
    lua_getfield(L, idx, "env");
    if (!lua_isnil(L, -1)) {
        if (!lua_istable(L, -1)) luaL_argerror(L, idx, "option 'env' must be a table");
        for (lua_pushnil(L); lua_next(L, -2) != 0; lua_pop(L, 1)) {
            if (lua_type(L, -2) == LUA_TSTRING) {
                lua_pushvalue(L, -2);
                check_c_string(L, idx, "an env name");
                const char* name = lua_tostring(L, -1);
                if (*name == '\0' || std::strchr(name, '=') != nullptr)
                    luaL_argerror(L, idx, "an env name must be non-empty and have no '='");
                lua_pop(L, 1);
                if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)
                    luaL_argerror(L, idx, "env values must be strings");
                check_c_string(L, idx, "an env value");
            } else if (lua_type(L, -2) == LUA_TNUMBER && lua_type(L, -1) == LUA_TSTRING) {
                check_c_string(L, idx, "an env entry");
                if (std::strchr(lua_tostring(L, -1), '=') == nullptr)
                    luaL_argerror(L, idx, "env entries in the array part must be 'NAME=value'");
            } else {
                luaL_argerror(L, idx, "option 'env' must map names to strings");
            }
        }
    }
    lua_pop(L, 1);
    lua_getfield(L, idx, "cwd");
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TSTRING) luaL_argerror(L, idx, "option 'cwd' must be a string");
        check_c_string(L, idx, "option 'cwd'");
    }
    lua_pop(L, 1);
    for (int i = 0; i < 3; ++i) {
        lua_getfield(L, idx, stdio_keys[i]);
        if (!lua_isnil(L, -1)) {
            const char* v = lua_tostring(L, -1);
            int k = -1;
            if (lua_type(L, -1) == LUA_TSTRING)
                for (int j = 0; stdio_names[j] != nullptr; ++j)
                    if (std::strcmp(v, stdio_names[j]) == 0) k = j;
            if (k < 0 || (k == 3 && i != 2))
                luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' must be 'pipe', 'null' or 'inherit'%s",
                                                      stdio_keys[i], i == 2 ? " or 'stdout'" : ""));
        }
        lua_pop(L, 1);
    }
    return n;
}

/// The checked spec at idx as a request.
spawn_request read_spec(lua_State* L, int idx, int n) {
    spawn_request req;
    req.argv.reserve(static_cast<std::size_t>(n));
    for (int i = 1; i <= n; ++i) {
        lua_rawgeti(L, idx, i);
        req.argv.emplace_back(lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    lua_getfield(L, idx, "env");
    if (lua_istable(L, -1)) {
        req.env.emplace();
        for (lua_pushnil(L); lua_next(L, -2) != 0; lua_pop(L, 1)) {
            if (lua_type(L, -2) == LUA_TSTRING) {
                lua_pushvalue(L, -2); // lua_tostring on the key itself would confuse lua_next
                std::string entry = lua_tostring(L, -1);
                lua_pop(L, 1);
                entry += '=';
                entry += lua_tostring(L, -1);
                req.env->push_back(std::move(entry));
            } else {
                req.env->emplace_back(lua_tostring(L, -1));
            }
        }
    }
    lua_pop(L, 1);
    lua_getfield(L, idx, "cwd");
    if (!lua_isnil(L, -1)) req.cwd.emplace(lua_tostring(L, -1));
    lua_pop(L, 1);
    for (int i = 0; i < 3; ++i) {
        lua_getfield(L, idx, stdio_keys[i]);
        if (!lua_isnil(L, -1)) {
            const char* v = lua_tostring(L, -1);
            req.stdio[i] = std::strcmp(v, "pipe") == 0   ? stdio_mode::pipe
                           : std::strcmp(v, "null") == 0 ? stdio_mode::null
                           : std::strcmp(v, "stdout") == 0 ? stdio_mode::to_stdout
                                                          : stdio_mode::inherit;
        }
        lua_pop(L, 1);
    }
    return req;
}

/// The short strings of a program that could not be started.
int push_spawn_failure(lua_State* L, const error_code& ec) {
    if (ec == net::error::not_found) return push_fail(L, err::invalid_cwd);
    if (ec.category() == boost::system::system_category()) {
        if (ec.value() == ENOENT || ec.value() == ENOTDIR) return push_fail(L, err::not_found);
        if (ec.value() == EACCES || ec.value() == EPERM) return push_fail(L, err::permission_denied);
    }
    return push_fail(L, ec);
}

int l_process_wait(lua_State* L) {
    auto& rt = runtime::from(L);
    child_process& p = check_process(L, 1);
    double timeout = opt_timeout(L, 2);
    if (p.status().kind != exit_status::how::running) return push_exit_status(L, p.status());
    if (p.closed()) return push_fail(L, err::closed);
    if (p.waiting()) return luaL_error(L, "wait: another light thread is waiting for this process");
    if (timeout == 0) return push_fail(L, err::timeout);
    return p.wait(L, rt.current(L, "wait"), timeout);
}

int l_process_kill(lua_State* L) {
    child_process& p = check_process(L, 1);
    int signo = SIGTERM;
    if (lua_type(L, 2) == LUA_TNUMBER) {
        lua_Number n = lua_tonumber(L, 2);
        signo = static_cast<int>(n);
        if (static_cast<lua_Number>(signo) != n || !signal_valid(signo)) luaL_argerror(L, 2, "no such signal number");
    } else if (!lua_isnoneornil(L, 2)) {
        size_t len;
        const char* name = luaL_checklstring(L, 2, &len);
        signo = signal_number(std::string_view(name, len));
        if (signo == 0) luaL_argerror(L, 2, lua_pushfstring(L, "unknown signal '%s'", name));
    }
    error_code ec = p.kill(signo);
    if (ec == net::error::not_found) return push_fail(L, err::exited);
    if (ec) return push_fail(L, ec);
    lua_pushboolean(L, 1);
    return 1;
}

int l_process_pid(lua_State* L) {
    lua_pushinteger(L, check_process(L, 1).pid());
    return 1;
}

int l_process_close(lua_State* L) {
    check_process(L, 1).close();
    return 0;
}

/// p.stdin, p.stdout, p.stderr come from the userdata's environment table; methods first.
int l_process_index(lua_State* L) {
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(2)); // the metatable
    if (!lua_isnil(L, -1)) return 1;
    lua_getfenv(L, 1);
    if (!lua_istable(L, -1)) return 0;
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    return 1;
}

int l_process_tostring(lua_State* L) {
    child_process& p = check_process(L, 1);
    lua_pushfstring(L, "asio.process (pid %d%s, %p)", p.pid(),
                    p.status().kind == exit_status::how::running ? "" : ", ended", static_cast<const void*>(&p));
    return 1;
}

int l_process_gc(lua_State* L) { return gc_handle<process_handle>(L, process_metatable); }

const luaL_Reg process_methods[] = {
    {"wait", l_process_wait},
    {"kill", l_process_kill},
    {"pid", l_process_pid},
    {"close", l_process_close},
    {"__tostring", l_process_tostring},
    {"__gc", l_process_gc},
    {nullptr, nullptr},
};

} // namespace

namespace {

/**
 * Makes connections of c's pipes, stores them in the environment table of the process userdata
 * on top of L, and starts reaping p. A pipe that cannot become a connection (the loop refused
 * to register it) closes the rest and kills the child: the error is returned.
 */
error_code attach_child(lua_State* L, runtime& rt, child_process& p, const spawned_child& c) {
    error_code ec;
    std::shared_ptr<stream> pipes[3];
    for (int i = 0; i < 3; ++i) {
        if (c.pipes[i] < 0) continue;
        if (!ec) {
            stream::socket_type sock(rt.io());
            sock.assign(net::generic::stream_protocol(AF_UNIX, SOCK_STREAM), c.pipes[i], ec);
            if (!ec) {
                pipes[i] = std::make_shared<stream>(rt.shared_from_this(), std::move(sock));
                continue;
            }
        }
        ::close(c.pipes[i]);
    }
    lua_createtable(L, 0, 3);
    for (int i = 0; i < 3; ++i) {
        if (!pipes[i]) continue;
        push_stream(L, pipes[i]);
        lua_setfield(L, -2, stdio_keys[i]);
    }
    lua_setfenv(L, -2);
    p.start_reaping();
    if (ec) p.kill(SIGKILL);
    return ec;
}

/// Outside a light thread (nothing to park): the child is started here, the loop waiting.
int spawn_here(lua_State* L, runtime& rt, int n) {
    error_code ec;
    spawned_child c;
    {
        spawn_request req = read_spec(L, 1, n);
        c = spawn_child(req, ec);
    }
    if (ec) return push_spawn_failure(L, ec);
    // Reaping starts before anything else can fail, so the child is reaped whatever happens next.
    auto p = std::make_shared<child_process>(rt.shared_from_this(), c.pid, c.pidfd);
    new_object<process_handle>(L, process_metatable, process_handle{p});
    ec = attach_child(L, rt, *p, c);
    if (ec) {
        lua_pop(L, 1);
        return push_fail(L, ec);
    }
    return 1;
}

/// On the loop, when the spawner thread's result arrives: resumes the light thread that asked.
void finish_start(runtime& rt, const std::weak_ptr<child_process>& wp, spawned_holder& holder, const error_code& ec) {
    std::shared_ptr<child_process> p = wp.lock();
    if (!p || rt.closing()) return; // the holder kills and reaps the child
    registry_ref handle;
    claimed_waiter w = p->end_start(handle);
    // Nobody to hand it to (the thread was killed while it started): the holder kills it.
    if (w.co == nullptr || !handle) return;
    if (ec) {
        push_spawn_failure(w.co, ec);
        rt.resume_now(*w.th);
        return;
    }
    spawned_child c = holder.release();
    p->adopt(c.pid, c.pidfd);
    handle.push(w.co);
    handle.reset();
    if (error_code failed = attach_child(w.co, rt, *p, c)) {
        lua_pop(w.co, 1);
        push_fail(w.co, failed);
    }
    rt.resume_now(*w.th);
}

} // namespace

int l_spawn_process(lua_State* L) {
    auto& rt = runtime::from(L);
    int n = check_spec(L, 1);
    if (!rt.in_light_thread() || rt.running_coroutine() != L) return spawn_here(L, rt, n);
    // In a light thread the child is started on the spawner thread, and the thread parks: the
    // loop serves everything else while the child execs (see spawn_worker).
    light_thread& th = rt.current(L, "spawn_process");
    auto req = std::make_unique<spawn_request>(read_spec(L, 1, n));
    auto p = std::make_shared<child_process>(rt.shared_from_this());
    new_object<process_handle>(L, process_metatable, process_handle{p});
    int idx = lua_gettop(L);
    lua_pushvalue(L, idx);
    registry_ref handle(rt, L);
    int suspended = rt.yield_holding(L, idx);
    p->begin_start(th, std::move(handle));
    // The job touches no runtime: it hands its result over through the mailbox, and what it
    // holds (a weak reference, the mailbox, the request) may be dropped on the spawner thread.
    run_on_spawner([req = std::move(req), wp = std::weak_ptr<child_process>(p), box = rt.mailbox(),
                    at = &rt]() mutable {
        error_code ec;
        spawned_holder holder(spawn_child(*req, ec));
        // Refused (the runtime closed meanwhile) or never run: the holder reaps the child.
        box->post([wp = std::move(wp), at, holder = std::move(holder), ec]() mutable {
            finish_start(*at, wp, holder, ec);
        });
    });
    return suspended;
}

int l_reap_without_pidfd(lua_State* L) {
    luaL_checktype(L, 1, LUA_TBOOLEAN);
    reap_without_pidfd(lua_toboolean(L, 1) != 0);
    return 0;
}

void open_process(lua_State* L, runtime& rt) {
    rt.push_upvalue(L);
    register_metatable(L, process_metatable, process_methods);
    push_metatable(L, process_metatable);
    rt.push_upvalue(L);
    lua_pushvalue(L, -2);
    lua_pushcclosure(L, l_process_index, 2);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

#else
int l_spawn_process(lua_State* L) { return luaL_error(L, "spawn_process: " LASIO_NO_DAEMON_WHY); }
int l_reap_without_pidfd(lua_State* L) { return luaL_error(L, "_reap_without_pidfd: " LASIO_NO_DAEMON_WHY); }
void open_process(lua_State*, runtime&) {}
#endif

} // namespace lasio
