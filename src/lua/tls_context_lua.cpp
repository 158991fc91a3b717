// SPDX-License-Identifier: MIT
// asio.tls_context: reads its table into tls/tls_context's settings; the context userdata.
#include "lua/tls_context_lua.hpp"

#include "base/errors.hpp"
#include "base/lua_bridge.hpp"

namespace lasio {

namespace {

struct tls_context_handle {
    std::shared_ptr<tls_context> ctx;
    tls_settings settings; // what it was built from: its role and whether it verifies
};

/// Reads asio.tls_context's table, validated before anything is built.
tls_settings check_settings(lua_State* L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    tls_settings s;
    if (auto mode = opt_string_field(L, 1, "mode", "tls_context")) {
        if (*mode == "server") s.server = true;
        else if (*mode != "client")
            luaL_argerror(L, 1, "option 'mode' must be 'client' or 'server'");
    }
    lua_getfield(L, 1, "verify");
    // Clients verify unless told otherwise; servers ask for client certificates only when told.
    if (lua_isboolean(L, -1)) s.verify = lua_toboolean(L, -1) != 0;
    else if (lua_isnil(L, -1)) s.verify = !s.server;
    else luaL_error(L, "bad argument #1 to 'tls_context' (option 'verify' must be a boolean)");
    lua_pop(L, 1);
    s.cert = opt_string_field(L, 1, "cert", "tls_context");
    s.key = opt_string_field(L, 1, "key", "tls_context");
    s.ca = opt_string_field(L, 1, "ca", "tls_context");
    lua_getfield(L, 1, "alpn");
    if (lua_istable(L, -1)) {
        int n = static_cast<int>(lua_objlen(L, -1));
        for (int i = 1; i <= n; ++i) {
            lua_rawgeti(L, -1, i);
            size_t len;
            const char* p = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : nullptr;
            if (p == nullptr || len == 0 || len > 255)
                luaL_error(L, "bad argument #1 to 'tls_context' (alpn[%d] must be a string of 1..255 bytes)", i);
            s.alpn_wire.push_back(static_cast<char>(len));
            s.alpn_wire.append(p, len);
            lua_pop(L, 1);
        }
    } else if (!lua_isnil(L, -1)) {
        luaL_error(L, "bad argument #1 to 'tls_context' (option 'alpn' must be an array of strings)");
    }
    lua_pop(L, 1);
    if (s.server && (!s.cert || !s.key))
        luaL_error(L, "tls_context: a server needs cert and key");
    if (s.cert.has_value() != s.key.has_value())
        luaL_error(L, "tls_context: cert and key go together");
    return s;
}

} // namespace

tls_engine& need_tls_engine(lua_State* L, const char* fn) {
    if (tls_engine* e = installed_tls_engine()) return *e;
    lua_getglobal(L, "require");
    lua_pushliteral(L, "asio.tls");
    if (lua_pcall(L, 1, 1, 0) != 0)
        luaL_error(L, "%s: TLS is not available (%s)", fn, lua_isstring(L, -1) ? lua_tostring(L, -1) : "require failed");
    auto* e = static_cast<tls_engine*>(lua_touserdata(L, -1));
    if (lua_type(L, -1) != LUA_TLIGHTUSERDATA || e->version != tls_engine::interface_version)
        luaL_error(L, "%s: TLS is not available (asio.tls was built for another version of asio.core)", fn);
    lua_pop(L, 1);
    install_tls_engine(*e);
    return *e;
}

int l_tls_context(lua_State* L) {
    tls_settings settings = check_settings(L);
    tls_engine& engine = need_tls_engine(L, "tls_context");
    failure why;
    std::shared_ptr<tls_context> ctx = engine.make_context(settings, why);
    if (ctx == nullptr) return push_fail(L, why);
    new_object<tls_context_handle>(L, tls_context_metatable, tls_context_handle{std::move(ctx), std::move(settings)});
    return 1;
}

checked_tls_context check_tls_context(lua_State* L, int idx) {
    auto& h = check_object<tls_context_handle>(L, idx, tls_context_metatable);
    return checked_tls_context{h.ctx, h.settings.server, h.settings.verify};
}

std::shared_ptr<tls_context> opt_tls_field(lua_State* L, int idx, const char* fn, bool server_side) {
    if (!lua_istable(L, idx)) return nullptr;
    lua_getfield(L, idx, "tls");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return nullptr;
    }
    void* p = lua_touserdata(L, -1);
    bool ok = false;
    if (p != nullptr && lua_getmetatable(L, -1)) {
        push_metatable(L, tls_context_metatable);
        ok = lua_rawequal(L, -1, -2) != 0;
        lua_pop(L, 2);
    }
    if (!ok) luaL_error(L, "bad argument #%d to '%s' (option 'tls' must be an asio.tls_context)", idx, fn);
    auto* h = static_cast<tls_context_handle*>(p);
    if (h->settings.server != server_side)
        luaL_error(L, "bad argument #%d to '%s' (option 'tls' must be a %s context)", idx, fn,
                   server_side ? "server" : "client");
    std::shared_ptr<tls_context> ctx = h->ctx;
    lua_pop(L, 1);
    return ctx;
}

namespace {

int l_tls_context_tostring(lua_State* L) {
    lua_pushfstring(L, "asio.tls_context (%p)", lua_touserdata(L, 1));
    return 1;
}

int l_tls_context_gc(lua_State* L) {
    if (finalizable_object<tls_context_handle>(L, 1, tls_context_metatable) == nullptr) return 0;
    destroy_object<tls_context_handle>(L, 1);
    return 0;
}

const luaL_Reg tls_context_methods[] = {
    {"__tostring", l_tls_context_tostring},
    {"__gc", l_tls_context_gc},
    {nullptr, nullptr},
};

} // namespace

void open_tls_context(lua_State* L) {
    lua_pushnil(L);
    register_metatable(L, tls_context_metatable, tls_context_methods);
}

} // namespace lasio
