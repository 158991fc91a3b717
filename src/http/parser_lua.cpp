// SPDX-License-Identifier: MIT
// asio/http_parser.so: Boost.Beast's HTTP/1.1 message parser, fed Lua strings, as a userdata.
//
// The only C++ of asio.http. It depends on Beast's headers and the Lua API, never on the core's
// symbols, so the Beast code lives in this one translation unit and one small module that the
// router-size core does not carry. Everything above the grammar (routing, timeouts, the
// connection loop, the client pool) is Lua in lua/asio/http*.
#include "base/lua_module.hpp"

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include <lua.hpp>

#include <cstring>
#include <exception>
#include <new>
#include <optional>
#include <string>
#include <vector>

namespace lasio::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::beast::error_code;
using boost::beast::string_view;

constexpr const char* parser_metatable = "asio.http_parser";

/// One field as offsets into the message's arena (the parse buffer does not outlive a put).
struct field_ref {
    std::uint32_t name_at, name_len, value_at, value_len;
};

/// What a basic_parser reports, kept until Lua asks: the start line, the fields, the body bytes
/// parsed since the last take().
struct message_sink {
    std::string arena;                 // start-line strings and fields, back to back
    std::vector<field_ref> fields;
    std::uint32_t line1_at = 0, line1_len = 0, line2_at = 0, line2_len = 0;
    int code = 0;                      // the status of a response
    int version = 11;
    std::string body;

    std::uint32_t keep(string_view s) {
        auto at = static_cast<std::uint32_t>(arena.size());
        arena.append(s.data(), s.size());
        return at;
    }
    void clear() {
        arena.clear();
        fields.clear();
        body.clear();
        code = 0;
    }
};

template <bool is_request>
class sink_parser final : public bhttp::basic_parser<is_request> {
public:
    explicit sink_parser(message_sink& sink) : sink_(sink) {}

private:
    message_sink& sink_;

    void on_request_impl(bhttp::verb, string_view method, string_view target, int version, error_code&) override {
        sink_.line1_len = static_cast<std::uint32_t>(method.size());
        sink_.line1_at = sink_.keep(method);
        sink_.line2_len = static_cast<std::uint32_t>(target.size());
        sink_.line2_at = sink_.keep(target);
        sink_.version = version;
    }
    void on_response_impl(int code, string_view reason, int version, error_code&) override {
        sink_.code = code;
        sink_.line2_len = static_cast<std::uint32_t>(reason.size());
        sink_.line2_at = sink_.keep(reason);
        sink_.version = version;
    }
    void on_field_impl(bhttp::field, string_view name, string_view value, error_code&) override {
        field_ref f;
        f.name_len = static_cast<std::uint32_t>(name.size());
        f.name_at = sink_.keep(name);
        f.value_len = static_cast<std::uint32_t>(value.size());
        f.value_at = sink_.keep(value);
        sink_.fields.push_back(f);
    }
    void on_header_impl(error_code&) override {}
    void on_body_init_impl(boost::optional<std::uint64_t> const&, error_code&) override {}
    std::size_t on_body_impl(string_view body, error_code&) override {
        sink_.body.append(body.data(), body.size());
        return body.size();
    }
    void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code&) override {
        sink_.body.append(body.data(), body.size());
        return body.size();
    }
    void on_finish_impl(error_code&) override {}
};

/**
 * The userdata: the parser of the current message, the bytes received but not parsed yet (the
 * rest of a header, the next pipelined request) and the limits every new message gets.
 */
struct parser_box {
    bool is_request = true;
    std::uint32_t header_limit = 8192;
    std::optional<std::uint64_t> body_limit;
    std::optional<sink_parser<true>> req;
    std::optional<sink_parser<false>> res;
    message_sink sink;
    std::string pending;               // unparsed input from pending_at on
    std::size_t pending_at = 0;
    bool header_reported = false;

    template <class P>
    void setup(P& p, bool skip) {
        p.header_limit(header_limit);
        p.body_limit(body_limit ? boost::optional<std::uint64_t>(*body_limit) : boost::none);
        p.eager(false);               // stop once the header is in, so Lua can look at it
        if (skip) p.skip(true);
    }
    void start(bool skip) {
        sink.clear();
        header_reported = false;
        if (is_request) setup(req.emplace(sink), skip);
        else setup(res.emplace(sink), skip);
    }
    template <class F>
    decltype(auto) with(F&& f) {
        if (is_request) return f(*req);
        return f(*res);
    }
};

parser_box& check_parser(lua_State* L, int idx = 1) {
    return *static_cast<parser_box*>(luaL_checkudata(L, idx, parser_metatable));
}

/// A short stable string for a parse error; the server maps the first two to 431 and 413.
const char* error_name(const error_code& ec) {
    if (ec == bhttp::error::header_limit) return "header too large";
    if (ec == bhttp::error::body_limit) return "body too large";
    if (ec == bhttp::error::partial_message) return "partial message";
    if (ec == bhttp::error::bad_content_length) return "bad content length";
    if (ec == bhttp::error::multiple_content_length) return "bad content length";
    if (ec == bhttp::error::bad_transfer_encoding) return "bad transfer encoding";
    if (ec == bhttp::error::bad_chunk || ec == bhttp::error::bad_chunk_extension) return "bad chunk";
    if (ec == bhttp::error::bad_version) return "bad version";
    return "bad message";
}

int push_error(lua_State* L, const error_code& ec) {
    lua_pushnil(L);
    lua_pushstring(L, error_name(ec));
    // Beast's own words, for logs: "bad method", "bad field"...
    lua_pushstring(L, ec.message().c_str());
    return 3;
}

int push_state(lua_State* L, parser_box& b) {
    bool header_done = b.with([](auto& p) { return p.is_header_done(); });
    if (header_done && !b.header_reported) {
        b.header_reported = true;
        // From here on one put parses every body byte it is given.
        b.with([](auto& p) { p.eager(true); });
        lua_pushliteral(L, "header");
    } else if (b.with([](auto& p) { return p.is_done(); })) {
        lua_pushliteral(L, "done");
    } else {
        lua_pushliteral(L, "more");
    }
    return 1;
}

/// p:put([data]): parses data after whatever input is still pending. Returns "header" once the
/// header is complete (look at it with head()), "done" when the message is, "more" when it needs
/// more input (body bytes parsed so far wait in take()); nil, err, detail for a bad message.
int l_put(lua_State* L) {
    parser_box& b = check_parser(L);
    size_t n = 0;
    const char* data = luaL_optlstring(L, 2, nullptr, &n);
    if (b.with([](auto& p) { return p.is_done(); })) {
        // Nothing more belongs to this message: keep the bytes for the next one.
        if (n) b.pending.append(data, n);
        return push_state(L, b);
    }
    error_code ec;
    bool failed = false;
    try {
        const char* p;
        std::size_t len;
        bool direct = b.pending_at == b.pending.size();
        if (direct) {
            // The common case: nothing pending, parse the Lua string itself and keep only its tail.
            b.pending.clear();
            b.pending_at = 0;
            p = data;
            len = n;
        } else {
            if (b.pending_at > 0 && b.pending_at * 2 >= b.pending.size()) {
                b.pending.erase(0, b.pending_at);
                b.pending_at = 0;
            }
            if (n) b.pending.append(data, n);
            p = b.pending.data() + b.pending_at;
            len = b.pending.size() - b.pending_at;
        }
        std::size_t used = 0;
        // A body-less put stops after each piece; go on while it makes progress (several chunks).
        while (len > 0) {
            std::size_t k = b.with([&](auto& parser) { return parser.put(boost::asio::const_buffer(p, len), ec); });
            used += k;
            p += k;
            len -= k;
            if (ec == bhttp::error::need_more) {
                ec = {};
                break;
            }
            if (ec) break;
            if (k == 0 || b.with([](auto& parser) { return parser.is_done(); })) break;
            if (b.with([](auto& parser) { return parser.is_header_done(); }) && !b.header_reported) break;
        }
        if (direct) {
            if (len) b.pending.assign(p, len);
        } else {
            b.pending_at += used;
            if (b.pending_at == b.pending.size()) {
                b.pending.clear();
                b.pending_at = 0;
            }
        }
        failed = static_cast<bool>(ec);
    } catch (const std::exception&) {
        failed = true;
        ec = bhttp::error::bad_alloc;
    }
    if (failed) return push_error(L, ec);
    return push_state(L, b);
}

/// p:put_eof(): the peer closed; a message delimited by the close is complete: "done", or nil, err.
int l_put_eof(lua_State* L) {
    parser_box& b = check_parser(L);
    if (b.with([](auto& p) { return p.is_done(); })) return push_state(L, b);
    if (!b.with([](auto& p) { return p.got_some(); })) {
        lua_pushnil(L);
        lua_pushliteral(L, "closed");
        return 2;
    }
    error_code ec;
    b.with([&](auto& p) { p.put_eof(ec); });
    if (ec) return push_error(L, ec);
    return push_state(L, b);
}

/// Lower-cases a field name into out (names are tokens: ASCII only).
void lower_into(std::string& out, const char* s, std::size_t n) {
    out.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        char c = s[i];
        out[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    }
}

/// p:head() → method|status, target|reason, version (10 or 11), headers, repeats. headers maps
/// each lower-case name to its value (repeated fields joined with ", "); repeats is nil, or maps
/// the name of each field that came more than once to the array of its values.
int l_head(lua_State* L) {
    parser_box& b = check_parser(L);
    if (!b.with([](auto& p) { return p.is_header_done(); })) return luaL_error(L, "head: the header is not complete");
    const message_sink& s = b.sink;
    const char* a = s.arena.data();
    if (b.is_request) lua_pushlstring(L, a + s.line1_at, s.line1_len);
    else lua_pushinteger(L, s.code);
    lua_pushlstring(L, a + s.line2_at, s.line2_len);
    lua_pushinteger(L, s.version);
    lua_createtable(L, 0, static_cast<int>(s.fields.size()));
    int headers = lua_gettop(L);
    int repeats = 0;
    std::string name;
    for (const field_ref& f : s.fields) {
        lower_into(name, a + f.name_at, f.name_len);
        lua_pushlstring(L, name.data(), name.size());
        lua_pushvalue(L, -1);
        lua_rawget(L, headers);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            lua_pushlstring(L, a + f.value_at, f.value_len);
            lua_rawset(L, headers);
            continue;
        }
        // stack: name, first value: some name came twice, which the slower pass below handles.
        lua_pop(L, 2);
        repeats = 1;
        break;
    }
    if (repeats == 0) {
        lua_pushnil(L);
        return 5;
    }
    // Rare: some field came twice. Rebuild with joins and the repeats table.
    lua_settop(L, headers - 1);
    lua_createtable(L, 0, static_cast<int>(s.fields.size()));
    lua_newtable(L);
    headers = lua_gettop(L) - 1;
    int reps = headers + 1;
    for (const field_ref& f : s.fields) {
        lower_into(name, a + f.name_at, f.name_len);
        lua_pushlstring(L, name.data(), name.size());   // name
        lua_pushvalue(L, -1);
        lua_rawget(L, headers);                          // name, old
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            lua_pushlstring(L, a + f.value_at, f.value_len);
            lua_rawset(L, headers);
            continue;
        }
        lua_pushliteral(L, ", ");
        lua_pushlstring(L, a + f.value_at, f.value_len);
        lua_concat(L, 3);                                 // name, joined
        lua_pushvalue(L, -2);
        lua_insert(L, -2);                                // name, name, joined
        lua_rawset(L, headers);                           // name
        lua_pop(L, 1);
    }
    // The values of each repeated name, in order.
    for (const field_ref& f : s.fields) {
        lower_into(name, a + f.name_at, f.name_len);
        lua_pushlstring(L, name.data(), name.size());
        lua_rawget(L, headers);
        size_t joined_len = 0;
        lua_tolstring(L, -1, &joined_len);
        lua_pop(L, 1);
        if (joined_len == f.value_len) continue;  // the name came once
        lua_pushlstring(L, name.data(), name.size());
        lua_rawget(L, reps);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            lua_newtable(L);
            lua_pushlstring(L, name.data(), name.size());
            lua_pushvalue(L, -2);
            lua_rawset(L, reps);
        }
        lua_pushlstring(L, a + f.value_at, f.value_len);
        lua_rawseti(L, -2, static_cast<int>(lua_objlen(L, -2)) + 1);
        lua_pop(L, 1);
    }
    return 5;
}

/// p:take() → the body bytes parsed since the last take (nil when there are none).
int l_take(lua_State* L) {
    parser_box& b = check_parser(L);
    if (b.sink.body.empty()) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushlstring(L, b.sink.body.data(), b.sink.body.size());
    b.sink.body.clear();
    return 1;
}

/// p:reset([skip_body]): ready for the next message; input still pending is kept (pipelining).
/// skip_body: the response to a HEAD request, which has a header only.
int l_reset(lua_State* L) {
    parser_box& b = check_parser(L);
    b.start(lua_toboolean(L, 2));
    return 0;
}

/// p:leftover() → the input received but not parsed (and forgets it): what follows an upgrade.
int l_leftover(lua_State* L) {
    parser_box& b = check_parser(L);
    lua_pushlstring(L, b.pending.data() + b.pending_at, b.pending.size() - b.pending_at);
    b.pending.clear();
    b.pending_at = 0;
    return 1;
}

int l_buffered(lua_State* L) {
    parser_box& b = check_parser(L);
    lua_pushinteger(L, static_cast<lua_Integer>(b.pending.size() - b.pending_at));
    return 1;
}

/// p:info() → keep_alive, chunked, content_length (or nil), need_eof, upgrade, got_some.
int l_info(lua_State* L) {
    parser_box& b = check_parser(L);
    return b.with([&](auto& p) {
        bool header = p.is_header_done();
        lua_pushboolean(L, header && p.keep_alive());
        lua_pushboolean(L, header && p.chunked());
        auto len = header ? p.content_length() : boost::none;
        if (len) lua_pushnumber(L, static_cast<lua_Number>(*len));
        else lua_pushnil(L);
        lua_pushboolean(L, header && p.need_eof());
        lua_pushboolean(L, header && p.upgrade());
        lua_pushboolean(L, p.got_some());
        return 6;
    });
}

int l_gc(lua_State* L) {
    parser_box* b = static_cast<parser_box*>(luaL_checkudata(L, 1, parser_metatable));
    b->~parser_box();
    // A finalized box must not be used again: its metatable goes.
    lua_pushnil(L);
    lua_setmetatable(L, 1);
    return 0;
}

int l_tostring(lua_State* L) {
    parser_box& b = check_parser(L);
    lua_pushfstring(L, "asio.http_parser (%s): %p", b.is_request ? "request" : "response", static_cast<void*>(&b));
    return 1;
}

/// Reads the integer option name of the table at idx: nil when absent, false means "none".
bool opt_limit(lua_State* L, int idx, const char* name, std::optional<std::uint64_t>& out) {
    lua_getfield(L, idx, name);
    bool present = !lua_isnil(L, -1);
    if (present) {
        if (lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1)) {
            out.reset();
        } else if (lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) >= 1 && lua_tonumber(L, -1) <= 9007199254740992.0) {
            out = static_cast<std::uint64_t>(lua_tonumber(L, -1));
        } else {
            lua_pop(L, 1);
            luaL_error(L, "bad argument #2 to 'new' (option '%s' must be a positive number or false)", name);
        }
    }
    lua_pop(L, 1);
    return present;
}

/// http_parser.new("request" | "response" [, { header_limit =, body_limit = }]) → parser.
/// body_limit false means none; the defaults are Beast's (8 KiB of header; 1 MiB of request
/// body, 8 MiB of response body).
int l_new(lua_State* L) {
    static const char* const kinds[] = {"request", "response", nullptr};
    bool is_request = luaL_checkoption(L, 1, nullptr, kinds) == 0;
    std::optional<std::uint64_t> header_limit, body_limit;
    bool has_body_limit = false;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        if (opt_limit(L, 2, "header_limit", header_limit) && (!header_limit || *header_limit > 0xffffffffu))
            return luaL_error(L, "bad argument #2 to 'new' (option 'header_limit' must be a number up to 2^32-1)");
        has_body_limit = opt_limit(L, 2, "body_limit", body_limit);
    }
    void* mem = lua_newuserdata(L, sizeof(parser_box));
    parser_box* b;
    try {
        b = new (mem) parser_box();
    } catch (const std::exception&) {
        return luaL_error(L, "http_parser: out of memory");
    }
    luaL_getmetatable(L, parser_metatable);
    lua_setmetatable(L, -2);
    b->is_request = is_request;
    if (header_limit) b->header_limit = static_cast<std::uint32_t>(*header_limit);
    if (has_body_limit) b->body_limit = body_limit;
    else b->body_limit = is_request ? 1024 * 1024 : 8 * 1024 * 1024;
    b->start(false);
    return 1;
}

const luaL_Reg methods[] = {
    {"put", l_put},
    {"put_eof", l_put_eof},
    {"head", l_head},
    {"take", l_take},
    {"reset", l_reset},
    {"leftover", l_leftover},
    {"buffered", l_buffered},
    {"info", l_info},
    {nullptr, nullptr},
};

} // namespace lasio::http

LASIO_EXPORT int luaopen_asio_http_parser(lua_State* L) {
    using namespace lasio::http;
    lasio::register_standalone_metatable(L, parser_metatable, methods, l_gc, l_tostring);
    lua_newtable(L);
    lua_pushcfunction(L, l_new);
    lua_setfield(L, -2, "new");
    return 1;
}
