// SPDX-License-Identifier: MIT
// asio.tls_context: builds an OpenSSL context from a Lua table (files or PEM strings), and ALPN.
#include "tls/tls_context.hpp"

#include "base/errors.hpp"
#include "base/lua_bridge.hpp"

#if LASIO_WITH_TLS
#include <boost/asio/ssl/error.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#endif

#include <cstring>
#include <optional>
#include <vector>

namespace lasio {

namespace {

struct tls_context_handle {
    std::shared_ptr<tls_context> ctx;
};

#if LASIO_WITH_TLS

namespace ssl = boost::asio::ssl;

/// Servers choose by their own preference among what the client offers; no overlap, no ALPN.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void* arg) {
    const std::string& wire = static_cast<tls_context*>(arg)->alpn_wire();
    unsigned char* chosen = nullptr;
    int rc = SSL_select_next_proto(&chosen, outlen, reinterpret_cast<const unsigned char*>(wire.data()),
                                   static_cast<unsigned int>(wire.size()), in, inlen);
    if (rc != OPENSSL_NPN_NEGOTIATED) return SSL_TLSEXT_ERR_NOACK;
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

bool is_ssl(const error_code& ec) { return ec.category() == boost::asio::error::get_ssl_category(); }

/// PEM text is recognised by its armour; anything else names a file.
bool is_pem(const std::string& s) { return s.find("-----BEGIN") != std::string::npos; }

std::string reason_of(const error_code& ec) {
    std::string msg = ec.message();
    if (auto paren = msg.find(" ("); paren != std::string::npos) msg.resize(paren);
    for (char& c : msg) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return msg;
}

/// What asio.tls_context reads from its table, validated before anything is built.
struct settings {
    tls_context::role mode = tls_context::role::client;
    std::optional<bool> verify;
    std::optional<std::string> cert, key, ca;
    std::string alpn_wire;
};

settings check_settings(lua_State* L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    settings s;
    if (auto mode = opt_string_field(L, 1, "mode", "tls_context")) {
        if (*mode == "server") s.mode = tls_context::role::server;
        else if (*mode != "client")
            luaL_argerror(L, 1, "option 'mode' must be 'client' or 'server'");
    }
    lua_getfield(L, 1, "verify");
    if (lua_isboolean(L, -1)) s.verify = lua_toboolean(L, -1) != 0;
    else if (!lua_isnil(L, -1)) luaL_error(L, "bad argument #1 to 'tls_context' (option 'verify' must be a boolean)");
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
    if (s.mode == tls_context::role::server && (!s.cert || !s.key))
        luaL_error(L, "tls_context: a server needs cert and key");
    if (s.cert.has_value() != s.key.has_value())
        luaL_error(L, "tls_context: cert and key go together");
    return s;
}

/// Loads the certificates and keys; on failure returns the first value of nil, err, detail.
const char* load(tls_context& c, const settings& s, error_code& ec) {
    auto& ctx = c.ssl();
    if (s.cert) {
        if (is_pem(*s.cert)) ctx.use_certificate_chain(boost::asio::buffer(*s.cert), ec);
        else ctx.use_certificate_chain_file(*s.cert, ec);
        if (ec) return "invalid certificate";
        if (is_pem(*s.key)) ctx.use_private_key(boost::asio::buffer(*s.key), ssl::context::pem, ec);
        else ctx.use_private_key_file(*s.key, ssl::context::pem, ec);
        if (ec && is_ssl(ec) && ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH)
            return "key does not match certificate";
        if (ec) return "invalid key";
        if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
            ec = error_code(static_cast<int>(ERR_get_error()), boost::asio::error::get_ssl_category());
            return "key does not match certificate";
        }
    }
    if (c.verify()) {
        if (s.ca) {
            if (is_pem(*s.ca)) ctx.add_certificate_authority(boost::asio::buffer(*s.ca), ec);
            else ctx.load_verify_file(*s.ca, ec);
        } else {
            ctx.set_default_verify_paths(ec);
        }
        if (ec) return "invalid ca";
        auto mode = ssl::verify_peer;
        if (c.mode() == tls_context::role::server) mode |= ssl::verify_fail_if_no_peer_cert;
        ctx.set_verify_mode(mode, ec);
        if (ec) return "invalid ca";
    } else {
        ctx.set_verify_mode(ssl::verify_none, ec);
    }
    return nullptr;
}

#endif

} // namespace

#if LASIO_WITH_TLS

tls_context::tls_context(role r, bool verify, std::string alpn_wire)
    : ctx_(r == role::client ? boost::asio::ssl::context::tls_client : boost::asio::ssl::context::tls_server),
      role_(r), verify_(verify), alpn_wire_(std::move(alpn_wire)) {
    SSL_CTX_set_min_proto_version(ctx_.native_handle(), TLS1_2_VERSION);
    ctx_.set_options(boost::asio::ssl::context::default_workarounds | boost::asio::ssl::context::no_compression);
    if (alpn_wire_.empty()) return;
    if (role_ == role::client) {
        SSL_CTX_set_alpn_protos(ctx_.native_handle(), reinterpret_cast<const unsigned char*>(alpn_wire_.data()),
                                static_cast<unsigned int>(alpn_wire_.size()));
    } else {
        SSL_CTX_set_alpn_select_cb(ctx_.native_handle(), select_alpn, this);
    }
}

int l_tls_context(lua_State* L) {
    settings s = check_settings(L);
    // Clients verify unless told otherwise; servers ask for client certificates only when told.
    bool verify = s.verify.value_or(s.mode == tls_context::role::client);
    std::shared_ptr<tls_context> ctx;
    const char* failure = nullptr;
    error_code ec;
    try {
        ctx = std::make_shared<tls_context>(s.mode, verify, std::move(s.alpn_wire));
        failure = load(*ctx, s, ec);
    } catch (const std::exception& e) {
        failure = "tls error";
        ec = error_code(static_cast<int>(ERR_get_error()), boost::asio::error::get_ssl_category());
    }
    if (failure != nullptr) {
        std::string detail = reason_of(ec);
        lua_pushnil(L);
        lua_pushstring(L, failure);
        lua_pushlstring(L, detail.data(), detail.size());
        return 3;
    }
    new_object<tls_context_handle>(L, tls_context_metatable, tls_context_handle{std::move(ctx)});
    return 1;
}

std::shared_ptr<tls_context> check_tls_context(lua_State* L, int idx) {
    return check_object<tls_context_handle>(L, idx, tls_context_metatable).ctx;
}

#else

int l_tls_context(lua_State* L) { return luaL_error(L, "tls_context: built without TLS"); }

std::shared_ptr<tls_context> check_tls_context(lua_State* L, int idx) {
    luaL_error(L, "built without TLS");
    return nullptr;
}

#endif

std::shared_ptr<tls_context> opt_tls_field(lua_State* L, int idx, const char* fn, bool server_side) {
    if (!lua_istable(L, idx)) return nullptr;
    lua_getfield(L, idx, "tls");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return nullptr;
    }
#if LASIO_WITH_TLS
    void* p = lua_touserdata(L, -1);
    bool ok = false;
    if (p != nullptr && lua_getmetatable(L, -1)) {
        push_metatable(L, tls_context_metatable);
        ok = lua_rawequal(L, -1, -2) != 0;
        lua_pop(L, 2);
    }
    if (!ok) luaL_error(L, "bad argument #%d to '%s' (option 'tls' must be an asio.tls_context)", idx, fn);
    auto* h = static_cast<tls_context_handle*>(p);
    if ((h->ctx->mode() == tls_context::role::server) != server_side)
        luaL_error(L, "bad argument #%d to '%s' (option 'tls' must be a %s context)", idx, fn,
                   server_side ? "server" : "client");
    std::shared_ptr<tls_context> ctx = h->ctx;
    lua_pop(L, 1);
    return ctx;
#else
    luaL_error(L, "%s: built without TLS", fn);
    return nullptr;
#endif
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
