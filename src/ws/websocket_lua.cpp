// SPDX-License-Identifier: MIT
// asio/websocket.so: Boost.Beast's websocket::stream over a pipe_stream, as a userdata that Lua
// (lua/asio/ws.lua) feeds with what a connection received and drains of what it must send.
//
// Every method starts Beast operations and then polls the io_context of their handlers until
// nothing is ready: a call returns with every operation it could finish finished, and the
// results are read back by the next calls. No handler of this file calls Lua.
#include "base/lua_module.hpp"
#include "ws/pipe_stream.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <lua.hpp>

#include <exception>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

namespace lasio::ws {

namespace beast = boost::beast;
namespace bws = boost::beast::websocket;
namespace bhttp = boost::beast::http;

constexpr const char* ws_metatable = "asio.websocket_stream";
constexpr const char* context_metatable = "asio.websocket_context";

using ws_stream = bws::stream<pipe_stream, true>;

/// Message buffers bigger than this are given back once their message is through.
constexpr std::size_t shrink_above = 64 * 1024;

enum class phase { idle, pending, done, failed };

/**
 * One WebSocket. Owned by its userdata alone; the handlers of its Beast operations hold a
 * weak_ptr, so an operation completed after the userdata was collected finds nothing to update.
 * The io_contexts come first so that they outlive the stream, whose operations they may hold.
 */
struct ws_core : std::enable_shared_from_this<ws_core> {
    std::shared_ptr<ws_contexts> ioc;
    ws_stream ws;

    phase handshake = phase::idle;
    error_code handshake_ec;
    bws::response_type response; // the client's handshake answer
    bhttp::request<bhttp::empty_body> request;

    beast::flat_buffer message;
    bool reading = false, message_ready = false, message_binary = false, read_failed = false;
    error_code read_ec;

    std::string send_buf; // the message being written: Beast reads it until the write completes
    bool writing = false;
    error_code write_ec;

    bool pinging = false;
    error_code ping_ec;
    lua_Integer pongs = 0;

    phase closing = phase::idle;
    error_code close_ec;

    explicit ws_core(std::shared_ptr<ws_contexts> c) : ioc(std::move(c)), ws(split_executor(*ioc)) {}

    pipe_stream& pipe() { return ws.next_layer(); }

    void drive() {
        ioc->run.restart();
        ioc->run.poll();
    }

    template <class F>
    auto guarded(F f) {
        return [w = weak_from_this(), f = std::move(f)](auto&&... args) {
            if (auto self = w.lock()) f(*self, std::forward<decltype(args)>(args)...);
        };
    }

    void arm_read() {
        if (reading || read_failed || message_ready) return;
        reading = true;
        ws.async_read(message, guarded([](ws_core& c, error_code ec, std::size_t) {
            c.reading = false;
            if (ec) {
                c.read_failed = true;
                c.read_ec = ec;
            } else {
                c.message_ready = true;
                c.message_binary = c.ws.got_binary();
            }
        }));
    }
};

/// The userdata: the stream is reached through a shared_ptr so that handlers can hold weak ones.
struct ws_box {
    std::shared_ptr<ws_core> c;
};

ws_core& check_ws(lua_State* L, int idx = 1) {
    auto* b = static_cast<ws_box*>(luaL_checkudata(L, idx, ws_metatable));
    if (!b->c) luaL_error(L, "websocket stream already released");
    return *b->c;
}

/// The close code and words for why reading ended: the peer's for a close handshake, ours for
/// the input we refused (what Beast sent it in its close frame), 1006 for a lost connection.
void close_info(ws_core& c, int& code, std::string& reason) {
    const error_code& ec = c.read_ec;
    // A read that our close handshake took over ends aborted; the handshake has the peer's words.
    bool ours_done = c.closing == phase::done && ec == net::error::operation_aborted;
    if (ec == bws::error::closed || ours_done) {
        const bws::close_reason& cr = c.ws.reason();
        code = cr.code == bws::close_code::none ? 1005 : static_cast<int>(cr.code);
        reason.assign(cr.reason.data(), cr.reason.size());
    } else if (ec == bws::error::message_too_big || ec == bws::error::buffer_overflow) {
        code = 1009;
        reason = "message too big";
    } else if (ec == bws::error::bad_frame_payload) {
        code = 1007;
        reason = "invalid payload";
    } else if (ec.category() == error_code(bws::error::closed).category() || ec == bws::condition::protocol_violation) {
        code = 1002;
        reason = "protocol error";
    } else {
        code = 1006;
        reason.clear();
    }
}

int push_fail(lua_State* L, const char* err) {
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
}

/// s:feed(data): bytes the connection received.
int l_feed(lua_State* L) {
    ws_core& c = check_ws(L);
    size_t n = 0;
    const char* data = luaL_checklstring(L, 2, &n);
    bool failed = false;
    try {
        c.pipe().feed(data, n);
        c.drive();
    } catch (const std::exception&) {
        failed = true;
    }
    if (failed) return luaL_error(L, "websocket: out of memory");
    return 0;
}

/// s:feed_eof(): the connection ended (or failed).
int l_feed_eof(lua_State* L) {
    ws_core& c = check_ws(L);
    c.pipe().feed_eof();
    c.drive();
    return 0;
}

/// s:output() → the bytes to send (nil when none).
int l_output(lua_State* L) {
    ws_core& c = check_ws(L);
    if (!c.pipe().has_output()) {
        lua_pushnil(L);
        return 1;
    }
    std::string out = c.pipe().take_output();
    lua_pushlstring(L, out.data(), out.size());
    return 1;
}

/// Pushes wants_input, torn_down, pongs, has_output, close_done: what the reader checks.
int push_state(lua_State* L, ws_core& c) {
    lua_pushboolean(L, c.pipe().wants_input());
    lua_pushboolean(L, c.pipe().torn_down());
    lua_pushinteger(L, c.pongs);
    lua_pushboolean(L, c.pipe().has_output());
    lua_pushboolean(L, c.closing == phase::done || c.closing == phase::failed);
    return 5;
}

/// s:state() → wants_input, torn_down, pongs, has_output, close_done.
int l_state(lua_State* L) { return push_state(L, check_ws(L)); }

/// s:next() → msg, "text"|"binary"; false and what state() returns when no message is complete
/// yet (a read is then in flight); nil, "closed", code, reason once reading has ended.
int l_next(lua_State* L) {
    ws_core& c = check_ws(L);
    if (c.handshake != phase::done) return luaL_error(L, "next: the handshake is not complete");
    if (!c.message_ready && !c.read_failed) {
        bool failed = false;
        try {
            c.arm_read();
            c.drive();
        } catch (const std::exception&) {
            failed = true;
        }
        if (failed) return luaL_error(L, "websocket: out of memory");
    }
    if (c.message_ready) {
        auto data = c.message.cdata();
        lua_pushlstring(L, static_cast<const char*>(data.data()), data.size());
        lua_pushstring(L, c.message_binary ? "binary" : "text");
        c.message.consume(c.message.size());
        // A big message must not leave its buffer to every idle WebSocket that once got one.
        if (c.message.capacity() > shrink_above) c.message.shrink_to_fit();
        c.message_ready = false;
        // The next read starts now, so control frames are answered while Lua is busy elsewhere.
        try {
            c.arm_read();
            c.drive();
        } catch (const std::exception&) {
        }
        return 2;
    }
    if (c.read_failed) {
        int code;
        std::string reason;
        close_info(c, code, reason);
        lua_pushnil(L);
        lua_pushliteral(L, "closed");
        lua_pushinteger(L, code);
        lua_pushlstring(L, reason.data(), reason.size());
        return 4;
    }
    lua_pushboolean(L, 0);
    return 1 + push_state(L, c);
}

/// s:send(data [, binary]) → true and the bytes to send (nil when none), or nil, "closed".
int l_send(lua_State* L) {
    ws_core& c = check_ws(L);
    size_t n = 0;
    const char* data = luaL_checklstring(L, 2, &n);
    bool binary = lua_toboolean(L, 3);
    if (c.handshake != phase::done || c.writing || !c.ws.is_open()) return push_fail(L, "closed");
    bool failed = false;
    try {
        c.send_buf.assign(data, n);
        c.ws.binary(binary);
        c.writing = true;
        c.write_ec = {};
        c.ws.async_write(net::buffer(c.send_buf), c.guarded([](ws_core& w, error_code ec, std::size_t) {
            w.writing = false;
            w.write_ec = ec;
        }));
        c.drive();
    } catch (const std::exception&) {
        failed = true;
    }
    if (failed) return luaL_error(L, "websocket: out of memory");
    // A write still waiting is behind a close handshake, and fails when that ends.
    if (c.writing || c.write_ec) return push_fail(L, "closed");
    if (c.send_buf.capacity() > shrink_above) std::string().swap(c.send_buf);
    lua_pushboolean(L, 1);
    if (!c.pipe().has_output()) return 1;
    std::string out = c.pipe().take_output();
    lua_pushlstring(L, out.data(), out.size());
    return 2;
}

/// s:ping([data]) → true, or nil, "closed". The pong is counted by state().
int l_ping(lua_State* L) {
    ws_core& c = check_ws(L);
    size_t n = 0;
    const char* data = luaL_optlstring(L, 2, "", &n);
    if (n > 125) return luaL_argerror(L, 2, "at most 125 bytes");
    if (c.handshake != phase::done || c.pinging || !c.ws.is_open()) return push_fail(L, "closed");
    bws::ping_data pd(data, n);
    c.pinging = true;
    c.ping_ec = {};
    c.ws.async_ping(pd, c.guarded([](ws_core& w, error_code ec) {
        w.pinging = false;
        w.ping_ec = ec;
    }));
    c.drive();
    if (c.pinging || c.ping_ec) return push_fail(L, "closed");
    lua_pushboolean(L, 1);
    return 1;
}

/// s:close(code, reason) → true, or nil, "closed" when a close already started or reading ended.
int l_close(lua_State* L) {
    ws_core& c = check_ws(L);
    auto code = static_cast<std::uint16_t>(luaL_checkinteger(L, 2));
    size_t n = 0;
    const char* reason = luaL_optlstring(L, 3, "", &n);
    if (n > 123) return luaL_argerror(L, 3, "at most 123 bytes");
    if (c.handshake != phase::done || c.closing != phase::idle || !c.ws.is_open()) return push_fail(L, "closed");
    bws::close_reason cr(static_cast<bws::close_code>(code));
    cr.reason.assign(reason, n);
    c.closing = phase::pending;
    c.ws.async_close(cr, c.guarded([](ws_core& w, error_code ec) {
        w.closing = ec ? phase::failed : phase::done;
        w.close_ec = ec;
    }));
    c.drive();
    lua_pushboolean(L, 1);
    return 1;
}

/// Sets each field of the table at idx (name → value, or name → array of values) on m.
template <class Message>
void set_fields(lua_State* L, int idx, Message& m) {
    if (lua_isnoneornil(L, idx)) return;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        if (lua_type(L, -2) == LUA_TSTRING) {
            size_t kn = 0;
            const char* k = lua_tolstring(L, -2, &kn);
            if (lua_type(L, -1) == LUA_TTABLE) {
                int n = static_cast<int>(lua_objlen(L, -1));
                for (int i = 1; i <= n; ++i) {
                    lua_rawgeti(L, -1, i);
                    size_t vn = 0;
                    const char* v = lua_tolstring(L, -1, &vn);
                    if (v) m.insert(beast::string_view(k, kn), beast::string_view(v, vn));
                    lua_pop(L, 1);
                }
            } else if (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER) {
                lua_pushvalue(L, -1); // tolstring must not convert the value lua_next walks
                size_t vn = 0;
                const char* v = lua_tolstring(L, -1, &vn);
                m.insert(beast::string_view(k, kn), beast::string_view(v, vn));
                lua_pop(L, 1);
            }
        }
        lua_pop(L, 1);
    }
}

/// s:accept(method, target, headers, protocol) → true, or nil, "bad handshake", detail. The
/// answer (101, or 400 for a request that is no WebSocket upgrade) is in output() afterwards.
int l_accept(lua_State* L) {
    ws_core& c = check_ws(L);
    size_t mn = 0, tn = 0, pn = 0;
    const char* method = luaL_checklstring(L, 2, &mn);
    const char* target = luaL_checklstring(L, 3, &tn);
    luaL_checktype(L, 4, LUA_TTABLE);
    const char* proto = luaL_optlstring(L, 5, "", &pn);
    if (c.handshake != phase::idle) return luaL_error(L, "accept: the handshake already started");
    bool failed = false;
    try {
        c.request.method_string(beast::string_view(method, mn));
        c.request.target(beast::string_view(target, tn));
        c.request.version(11);
        set_fields(L, 4, c.request);
        std::string p(proto, pn);
        c.ws.set_option(bws::stream_base::decorator([p](bws::response_type& res) {
            res.set(bhttp::field::server, "LuaAsio");
            if (!p.empty()) res.set(bhttp::field::sec_websocket_protocol, p);
        }));
        c.handshake = phase::pending;
        c.ws.async_accept(c.request, c.guarded([](ws_core& w, error_code ec) {
            w.handshake = ec ? phase::failed : phase::done;
            w.handshake_ec = ec;
        }));
        c.drive();
    } catch (const std::exception&) {
        failed = true;
    }
    if (failed) return luaL_error(L, "websocket: out of memory");
    if (c.handshake == phase::done) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushnil(L);
    lua_pushliteral(L, "bad handshake");
    lua_pushstring(L, c.handshake_ec.message().c_str());
    return 3;
}

/// s:handshake(host, target, headers) → true: the request is in output(); feed the answer, then
/// handshake_result().
int l_handshake(lua_State* L) {
    ws_core& c = check_ws(L);
    size_t hn = 0, tn = 0;
    const char* host = luaL_checklstring(L, 2, &hn);
    const char* target = luaL_checklstring(L, 3, &tn);
    if (c.handshake != phase::idle) return luaL_error(L, "handshake: the handshake already started");
    bool failed = false;
    try {
        auto fields = std::make_shared<bhttp::fields>();
        set_fields(L, 4, *fields);
        c.ws.set_option(bws::stream_base::decorator([fields](bws::request_type& req) {
            req.set(bhttp::field::user_agent, "LuaAsio");
            for (const auto& f : *fields) req.set(f.name_string(), f.value());
        }));
        c.handshake = phase::pending;
        c.ws.async_handshake(c.response, beast::string_view(host, hn), beast::string_view(target, tn),
                             c.guarded([](ws_core& w, error_code ec) {
                                 w.handshake = ec ? phase::failed : phase::done;
                                 w.handshake_ec = ec;
                             }));
        c.drive();
    } catch (const std::exception&) {
        failed = true;
    }
    if (failed) return luaL_error(L, "websocket: out of memory");
    lua_pushboolean(L, 1);
    return 1;
}

/// s:handshake_result() → nil while the answer is incomplete; true, status, headers once the
/// WebSocket is open; false, err, status when the server refused or the answer was bad.
int l_handshake_result(lua_State* L) {
    ws_core& c = check_ws(L);
    if (c.handshake == phase::pending || c.handshake == phase::idle) {
        lua_pushnil(L);
        return 1;
    }
    if (c.handshake == phase::failed) {
        lua_pushboolean(L, 0);
        const error_code& ec = c.handshake_ec;
        if (ec == net::error::eof) lua_pushliteral(L, "closed");
        else if (ec == bws::error::upgrade_declined) lua_pushliteral(L, "handshake declined");
        else lua_pushliteral(L, "bad handshake");
        lua_pushinteger(L, static_cast<lua_Integer>(c.response.result_int()));
        return 3;
    }
    lua_pushboolean(L, 1);
    lua_pushinteger(L, static_cast<lua_Integer>(c.response.result_int()));
    lua_newtable(L);
    for (const auto& f : c.response) {
        std::string name(f.name_string());
        for (char& ch : name)
            if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch + 32);
        lua_pushlstring(L, name.data(), name.size());
        lua_pushlstring(L, f.value().data(), f.value().size());
        lua_rawset(L, -3);
    }
    return 3;
}

/// s:close_result() → nil while no closing handshake of ours has ended; true, code, reason (the
/// peer's close frame) once it has.
int l_close_result(lua_State* L) {
    ws_core& c = check_ws(L);
    if (c.closing == phase::pending || c.closing == phase::idle) {
        lua_pushnil(L);
        return 1;
    }
    const bws::close_reason& cr = c.ws.reason();
    lua_pushboolean(L, 1);
    lua_pushinteger(L, cr.code == bws::close_code::none ? 1005 : static_cast<lua_Integer>(cr.code));
    lua_pushlstring(L, cr.reason.data(), cr.reason.size());
    return 3;
}

int l_gc(lua_State* L) {
    auto* b = static_cast<ws_box*>(luaL_checkudata(L, 1, ws_metatable));
    std::shared_ptr<ws_core> c = std::move(b->c);
    b->~ws_box();
    lua_pushnil(L);
    lua_setmetatable(L, 1);
    if (c) {
        auto ioc = c->ioc;
        c.reset();
        // Operations the stream's destruction aborted end now, on a stream that is gone.
        ioc->run.restart();
        ioc->run.poll();
    }
    return 0;
}

int l_tostring(lua_State* L) {
    auto* b = static_cast<ws_box*>(luaL_checkudata(L, 1, ws_metatable));
    lua_pushfstring(L, "asio.websocket_stream (%p)", static_cast<void*>(b));
    return 1;
}

/// The io_contexts of the state, in the upvalue of new: Beast's streams need an executor, and
/// an io_context with a timer holds three descriptors, so the streams of a state share them.
struct context_box {
    std::shared_ptr<ws_contexts> ioc;
};

int l_context_gc(lua_State* L) {
    auto* b = static_cast<context_box*>(luaL_checkudata(L, 1, context_metatable));
    b->~context_box();
    lua_pushnil(L);
    lua_setmetatable(L, 1);
    return 0;
}

/// websocket.new("server"|"client" [, { max_message = n, deflate = bool }]) → stream.
int l_new(lua_State* L) {
    static const char* const roles[] = {"server", "client", nullptr};
    bool server = luaL_checkoption(L, 1, nullptr, roles) == 0;
    double max_message = 16 * 1024 * 1024;
    bool deflate = false;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        lua_getfield(L, 2, "max_message");
        if (!lua_isnil(L, -1)) {
            if (lua_type(L, -1) != LUA_TNUMBER || lua_tonumber(L, -1) < 1 || lua_tonumber(L, -1) > 9007199254740992.0)
                return luaL_argerror(L, 2, "option 'max_message' must be a positive number");
            max_message = lua_tonumber(L, -1);
        }
        lua_pop(L, 1);
        lua_getfield(L, 2, "deflate");
        deflate = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    auto* ctx = static_cast<context_box*>(lua_touserdata(L, lua_upvalueindex(1)));
    if (ctx == nullptr || !ctx->ioc) return luaL_error(L, "websocket: module state released");
    void* mem = lua_newuserdata(L, sizeof(ws_box));
    ws_box* b = nullptr;
    bool failed = false;
    try {
        b = new (mem) ws_box();
        b->c = std::make_shared<ws_core>(ctx->ioc);
        ws_stream& ws = b->c->ws;
        // Whole messages in one frame: Beast would otherwise cut them at the write buffer size.
        // That buffer (a client masks through it) is allocated per WebSocket: 16 KiB, not more.
        ws.auto_fragment(false);
        ws.write_buffer_bytes(16 * 1024);
        ws.read_message_max(static_cast<std::size_t>(max_message));
        if (deflate) {
            bws::permessage_deflate pmd;
            pmd.server_enable = server;
            pmd.client_enable = !server;
            ws.set_option(pmd);
        }
        ws_core* core = b->c.get();
        // Stored in the stream, which the core owns: the raw pointer never outlives it.
        ws.control_callback([core](bws::frame_type kind, beast::string_view) {
            if (kind == bws::frame_type::pong) ++core->pongs;
        });
    } catch (const std::exception&) {
        failed = true;
    }
    if (failed) {
        if (b) b->~ws_box();
        return luaL_error(L, "websocket: out of memory");
    }
    luaL_getmetatable(L, ws_metatable);
    lua_setmetatable(L, -2);
    return 1;
}

const luaL_Reg methods[] = {
    {"feed", l_feed},
    {"feed_eof", l_feed_eof},
    {"output", l_output},
    {"state", l_state},
    {"next", l_next},
    {"send", l_send},
    {"ping", l_ping},
    {"close", l_close},
    {"accept", l_accept},
    {"handshake", l_handshake},
    {"handshake_result", l_handshake_result},
    {"close_result", l_close_result},
    {nullptr, nullptr},
};

} // namespace lasio::ws

LASIO_EXPORT int luaopen_asio_websocket(lua_State* L) {
    using namespace lasio::ws;
    lasio::register_standalone_metatable(L, ws_metatable, methods, l_gc, l_tostring);
    if (luaL_newmetatable(L, context_metatable)) {
        lua_pushcfunction(L, l_context_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    lua_newtable(L);
    void* mem = lua_newuserdata(L, sizeof(context_box));
    context_box* ctx = nullptr;
    bool failed = false;
    try {
        ctx = new (mem) context_box();
        ctx->ioc = std::make_shared<ws_contexts>();
    } catch (const std::exception&) {
        failed = true;
    }
    if (failed) {
        if (ctx) ctx->~context_box();
        return luaL_error(L, "websocket: out of memory");
    }
    luaL_getmetatable(L, context_metatable);
    lua_setmetatable(L, -2);
    lua_pushcclosure(L, l_new, 1);
    lua_setfield(L, -2, "new");
    return 1;
}
