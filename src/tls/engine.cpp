// SPDX-License-Identifier: MIT
// luaopen_asio_tls: the OpenSSL engine that asio/tls.so (or a static build) installs into the core.
#include "base/lua_module.hpp"
#include "tls/openssl_session.hpp"
#include "tls/tls_context.hpp"

#include <lua.hpp>

namespace lasio {

namespace {

class openssl_engine final : public tls_engine {
public:
    std::shared_ptr<tls_context> make_context(const tls_settings& s, failure& why) override {
        return make_tls_context(s, why);
    }

    std::unique_ptr<tls_session> make_session(stream::socket_type& socket, const std::shared_ptr<tls_context>& ctx,
                                              const std::string& server_name, error_code& ec) override {
        auto session = std::make_unique<openssl_session>(socket, ctx);
        ec = session->prepare(server_name);
        if (ec) return nullptr;
        return session;
    }

    const char* error_string(const error_code& ec) const override { return tls_error_string(ec); }
};

} // namespace

tls_engine& openssl_tls_engine() {
    static openssl_engine engine;
    return engine;
}

} // namespace lasio

/**
 * require 'asio.tls' returns the engine as a light userdata, which the core installs (see
 * need_tls_engine in lua/tls_context_lua.cpp); scripts use TLS through asio's own functions.
 */
LASIO_EXPORT int luaopen_asio_tls(lua_State* L) {
    lua_pushlightuserdata(L, &lasio::openssl_tls_engine());
    return 1;
}
