/* SPDX-License-Identifier: MIT */
/*
 * The contract of include/luaasio.h, checked from C: error codes on misuse, poll that does not
 * wait, the next deadline, the descriptor readable exactly when the loop has work, a script's
 * error leaving the host running, and lua_close with everything live. Exits 0 when all hold;
 * prints the first failed check otherwise. Run by spec/embed_spec.lua (and under ASan).
 */
#include <luaasio.h>
#include <lauxlib.h>
#include <lualib.h>

#include <arpa/inet.h>
#include <pthread.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "embed_checks: line %d: %s\n", __LINE__, #cond);         \
            return 1;                                                                \
        }                                                                            \
    } while (0)

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int readable(int fd, int timeout_ms) {
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, timeout_ms) == 1;
}

/* Polls until nothing is ready (bounded): what start-up queued has run. */
static void settle(lua_State* L) {
    int i;
    for (i = 0; i < 50 && luaasio_poll(L) > 0; ++i) {}
}

static int run(lua_State* L, const char* code) {
    if (luaL_dostring(L, code) != 0) {
        fprintf(stderr, "embed_checks: %s\n", lua_tostring(L, -1));
        return 0;
    }
    return 1;
}

static int global_int(lua_State* L, const char* name) {
    int v;
    lua_getglobal(L, name);
    v = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    return v;
}

/* Another OS thread: wakes the loop after a moment. */
static void* wake_later(void* w) {
    usleep(100 * 1000);
    return (void*)(long)luaasio_wake((luaasio_waker*)w);
}

/* The C library's allocator, counting what is live: a host may give its state its own. */
static long host_alloc_live;
static void* host_alloc(void* ud, void* block, size_t old_size, size_t new_size) {
    (void)ud;
    if (block != NULL) host_alloc_live -= (long)old_size;
    if (new_size == 0) {
        free(block);
        return NULL;
    }
    void* p = realloc(block, new_size);
    host_alloc_live += (long)(p != NULL ? new_size : (block != NULL ? old_size : 0));
    return p;
}

/* A TCP echo between two light threads in a state on host_alloc; then every byte taken through
 * the allocator is given back by lua_close. A LuaJIT that takes no allocator of a host's (no
 * GC64) makes no state: nothing to check there. */
static int check_host_allocator(void) {
    lua_State* H = lua_newstate(host_alloc, NULL);
    int d;
    if (H == NULL) return 0;
    luaL_openlibs(H);
    CHECK(luaasio_open(H) == LUAASIO_OK);
    lua_setglobal(H, "asio");
    CHECK(run(H, "local srv = assert(asio.server('127.0.0.1', 0, function(c) c:write(c:read(5)); c:close() end))\n"
                 "asio.spawn_light_thread(function()\n"
                 "  local c = assert(asio.connect('127.0.0.1', select(2, srv:local_address())))\n"
                 "  c:write('hello'); echoed = c:read(5) == 'hello' and 1 or -1; c:close(); srv:close()\n"
                 "end)"));
    for (d = 0; d < 200 && global_int(H, "echoed") == 0; ++d) luaasio_run_for(H, 50);
    CHECK(global_int(H, "echoed") == 1);
    CHECK(host_alloc_live > 0);
    lua_close(H);
    CHECK(host_alloc_live == 0);
    return 0;
}

/* Called by a light thread: the loop runs, so every entry point must refuse. */
static int l_poll_from_lua(lua_State* L) {
    lua_pushinteger(L, luaasio_poll(L));
    lua_pushinteger(L, luaasio_run_for(L, 10));
    lua_pushinteger(L, luaasio_next_deadline(L));
    return 3;
}

int main(void) {
    lua_State* bare;
    lua_State* L;
    double t0;
    int port, fd, client, d;
    struct sockaddr_in addr;
    luaasio_waker* waker = NULL;

    CHECK(strcmp(luaasio_version(), LUAASIO_VERSION) == 0);
    CHECK(luaasio_poll(NULL) == LUAASIO_EARG && luaasio_run_for(NULL, 0) == LUAASIO_EARG);
    CHECK(luaasio_next_deadline(NULL) == LUAASIO_EARG && luaasio_fd(NULL) == LUAASIO_EARG);
    CHECK(luaasio_stop(NULL) == LUAASIO_EARG && luaasio_open(NULL) == LUAASIO_EARG);
    CHECK(strstr(luaasio_strerror(LUAASIO_ENOMODULE), "luaasio_open") != NULL);

    /* A state without the module. */
    bare = luaL_newstate();
    luaL_openlibs(bare);
    CHECK(luaasio_poll(bare) == LUAASIO_ENOMODULE && luaasio_fd(bare) == LUAASIO_ENOMODULE);
    CHECK(luaasio_next_deadline(bare) == LUAASIO_ENOMODULE && luaasio_stop(bare) == LUAASIO_ENOMODULE);
    lua_close(bare);

    L = luaL_newstate();
    luaL_openlibs(L);
    CHECK(luaasio_open(L) == LUAASIO_OK && lua_istable(L, -1));
    lua_setglobal(L, "asio");
    CHECK(luaasio_run_for(L, -1) == LUAASIO_EARG);
    lua_pushcfunction(L, l_poll_from_lua);
    lua_setglobal(L, "poll_from_lua");

    /* Nothing pending: poll returns 0 without waiting, no deadline. */
    settle(L);
    t0 = now_ms();
    CHECK(luaasio_poll(L) == 0);
    CHECK(now_ms() - t0 < 1000);
    CHECK(luaasio_next_deadline(L) == -1);

    /* Called from inside the loop: refused. */
    CHECK(run(L, "asio.spawn_light_thread(function() in_loop = { poll_from_lua() } end)"));
    CHECK(luaasio_next_deadline(L) == 0); /* a runnable thread: no sleeping */
    settle(L);
    CHECK(run(L, "assert(in_loop[1] == in_loop[2] and in_loop[2] == in_loop[3]); refused = in_loop[1]"));
    CHECK(global_int(L, "refused") == LUAASIO_EINLOOP);

    /* A pending sleep of 300 ms: the deadline lies between 300 minus what elapsed, and 300. */
    CHECK(run(L, "asio.spawn_light_thread(function() asio.sleep(0.3); slept = 1 end)"));
    t0 = now_ms();
    settle(L);
    d = luaasio_next_deadline(L);
    CHECK(d <= 300 && d >= 300 - (int)(now_ms() - t0) - 1);
    /* The descriptor turns readable when the timer is due; running then ends the sleep. */
    fd = luaasio_fd(L);
    CHECK(fd >= 0 && luaasio_fd(L) == fd);
    CHECK(readable(fd, 3000));
    settle(L);
    CHECK(global_int(L, "slept") == 1);

    /* A server: the descriptor is readable when a client connects or sends, and not otherwise.
     * Its handler raises after the first line: the host keeps running. */
    CHECK(run(L,
              "errors = 0; asio.on_error(function() errors = errors + 1 end)\n"
              "local s = asio.server('127.0.0.1', 0, function(c)\n"
              "  connected = (connected or 0) + 1\n"
              "  local line = c:read_line()\n"
              "  got = line\n"
              "  error('handler fails on purpose')\n"
              "end)\n"
              "local _, p = s:local_address(); port = p; server = s"));
    port = global_int(L, "port");
    settle(L);
    CHECK(!readable(fd, 0));
    client = socket(AF_INET, SOCK_STREAM, 0);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(client, (struct sockaddr*)&addr, sizeof addr) == 0);
    CHECK(readable(fd, 3000));
    settle(L);
    CHECK(global_int(L, "connected") == 1);
    CHECK(!readable(fd, 0)); /* the handler waits for a line: nothing to do */
    CHECK(write(client, "hello\n", 6) == 6);
    CHECK(readable(fd, 3000));
    settle(L);
    CHECK(run(L, "assert(got == 'hello' and errors == 1)"));
    CHECK(luaasio_poll(L) >= 0); /* still serving */

    /* stop makes a run_for return early (the timer below would keep it waiting). */
    CHECK(run(L, "asio.spawn_light_thread(function() asio.sleep(0.05); asio.stop() end)"
                 " asio.spawn_light_thread(function() asio.sleep(30) end)"));
    t0 = now_ms();
    CHECK(luaasio_run_for(L, 20000) == LUAASIO_OK);
    CHECK(now_ms() - t0 < 10000);

    /* A wake from another OS thread makes a blocked run_for return (the sleep would hold it). */
    {
        luaasio_waker* w = luaasio_waker_new(L);
        pthread_t t;
        void* rc;
        CHECK(w != NULL && luaasio_waker_new(NULL) == NULL && luaasio_wake(NULL) == LUAASIO_EARG);
        CHECK(pthread_create(&t, NULL, wake_later, w) == 0);
        t0 = now_ms();
        CHECK(luaasio_run_for(L, 20000) == LUAASIO_OK);
        CHECK(now_ms() - t0 < 10000);
        CHECK(pthread_join(t, &rc) == 0 && (long)rc == LUAASIO_OK);
        waker = w;
    }

    /* asio.thread from a host linked with the static library: the new state finds the module
     * through the same package.preload entries (no LUA_CPATH here). */
    CHECK(run(L, "local th = asio.thread(function(a) return a * 2 end, 21)\n"
                 "asio.spawn_light_thread(function() local ok, v = th:join(20); joined = ok and v or -1 end)"));
    for (d = 0; d < 400 && global_int(L, "joined") == 0; ++d) luaasio_run_for(L, 50);
    CHECK(global_int(L, "joined") == 42);

    /* asio.http and asio.ws from the static library: their Lua files, the parser and the
     * WebSocket stream are all compiled in. A request and a WebSocket echo to its own server. */
    CHECK(run(L, "local http = require 'asio.http'\n"
                 "local srv = assert(http.server { host = '127.0.0.1', port = 0, routes = {\n"
                 "  ['GET /hi'] = function(req, res) return 200, 'hi ' .. req.path end,\n"
                 "  ['GET /ws'] = function(req)\n"
                 "    local ws = assert(req:upgrade{})\n"
                 "    local msg = ws:receive(10); if msg then ws:send(msg:upper()) end; ws:close()\n"
                 "  end } })\n"
                 "asio.spawn_light_thread(function()\n"
                 "  local base = '127.0.0.1:' .. select(2, srv:local_address())\n"
                 "  local r = http.get('http://' .. base .. '/hi')\n"
                 "  http_status = r and r.status or -1; http_ok = r and r.body == 'hi /hi' and 1 or -1\n"
                 "  local ws = http.websocket('ws://' .. base .. '/ws', { timeout = 10 })\n"
                 "  ws_ok = ws and ws:send('echo') and ws:receive(10) == 'ECHO' and 1 or -1\n"
                 "  if ws then ws:close() end\n"
                 "  srv:close(); http.close_idle()\n"
                 "end)"));
    for (d = 0; d < 400 && global_int(L, "ws_ok") == 0; ++d) luaasio_run_for(L, 50);
    CHECK(global_int(L, "http_status") == 200 && global_int(L, "http_ok") == 1);
    CHECK(global_int(L, "ws_ok") == 1);

    if (check_host_allocator() != 0) return 1;

    /* lua_close with a server, a connection, timers and a parked thread live. */
    CHECK(run(L, "asio.spawn_light_thread(function() asio.park() end)"
                 " asio.spawn_light_thread(function() local c = asio.connect('127.0.0.1', port); c:read(1) end)"));
    settle(L);
    close(client);
    lua_close(L);
    CHECK(luaasio_wake(waker) == LUAASIO_ECLOSED); /* the waker outlives the state */
    luaasio_waker_free(waker);
    puts("embed_checks: ok");
    return 0;
}
