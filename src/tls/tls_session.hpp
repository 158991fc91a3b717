// SPDX-License-Identifier: MIT
// TLS handshakes on connections (connect, accept, STARTTLS), their errors, and conn:tls_info.
#pragma once

#include "net/connect.hpp"
#include "net/stream.hpp"
#include "tls/tls_context.hpp"

#include <functional>
#include <memory>
#include <string>

namespace lasio {

class server;

/// A server's TLS settings: the context and how long a client may take to complete its handshake.
struct tls_server_options {
    std::shared_ptr<tls_context> ctx;
    double handshake_timeout = 10;
};

/// Reads tls and handshake_timeout from the option table at idx (raises on wrong types).
tls_server_options check_tls_server_options(lua_State* L, int idx, const char* fn);
/**
 * Makes s hand its handler only connections whose TLS handshake succeeded; a failed or timed out
 * handshake closes the connection and the handler never sees it. Closing s aborts handshakes
 * still in flight. No-op when opts has no context.
 */
void use_tls_on_accept(server& s, tls_server_options opts);

#if LASIO_WITH_TLS
using handshake_done = std::function<void(const error_code&)>;
/**
 * Layers TLS over s (which has none yet) in ctx's role and starts the handshake. For a client,
 * server_name is sent as SNI and, when ctx verifies, checked against the certificate (an IP
 * literal is checked as an address, without SNI). done runs from the handshake's handler, never
 * once the runtime is closing. Returns an error, without starting, when setup fails.
 */
error_code start_handshake(const std::shared_ptr<stream>& s, const std::shared_ptr<tls_context>& ctx,
                           const std::string& server_name, handshake_done done);
/// What a handshake on s that ended with ec returns after nil: a short message and a detail.
failure describe_handshake_failure(const stream& s, const error_code& ec);
/// The client handshake (see start_handshake) as asio.connect's upgrade step.
connect_upgrade tls_client_upgrade(std::shared_ptr<tls_context> ctx, std::string server_name);
#endif

/// ok, err = conn:tls_handshake(ctx [, { server_name =, timeout = }])
int l_tls_handshake(lua_State* L);
/// ok, err = conn:tls_shutdown([timeout]): sends close_notify and waits for the peer's (or its close).
int l_tls_shutdown(lua_State* L);
/// info = conn:tls_info()
int l_tls_info(lua_State* L);

} // namespace lasio
