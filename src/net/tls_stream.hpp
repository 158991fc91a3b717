// SPDX-License-Identifier: MIT
// TLS on streams, through the installed engine (net/tls_engine.hpp): handshakes (connect, accept,
// STARTTLS), their failures, shutdown, info.
#pragma once

#include "net/connect.hpp"
#include "net/stream.hpp"
#include "net/tls_engine.hpp"

#include <memory>
#include <optional>
#include <string>

namespace lasio {

class server;

/// A server's TLS settings: the context and how long a client may take to complete its handshake.
struct tls_server_options {
    std::shared_ptr<tls_context> ctx;
    double handshake_timeout = 10;
};

/**
 * Makes s hand its handler only connections whose TLS handshake succeeded; a failed or timed out
 * handshake closes the connection and the handler never sees it. Closing s aborts handshakes
 * still in flight. No-op when opts has no context.
 */
void use_tls_on_accept(server& s, tls_server_options opts);

/**
 * Layers TLS over s (which has none yet) in ctx's role and starts the handshake (see
 * tls_engine::make_session for server_name). done runs from the handshake's handler, never once
 * the runtime is closing. Returns an error, without starting, when setup fails.
 */
error_code start_handshake(const std::shared_ptr<stream>& s, const std::shared_ptr<tls_context>& ctx,
                           const std::string& server_name, tls_done done);
/// What a handshake on s that ended with ec returns after nil: a short message and a detail.
failure describe_handshake_failure(const stream& s, const error_code& ec);
/// The client handshake (see start_handshake) as asio.connect's upgrade step.
connect_upgrade tls_client_upgrade(std::shared_ptr<tls_context> ctx, std::string server_name);

/// Sends close_notify on s (which uses TLS and is idle) and waits for the peer's; done runs as
/// start_handshake's does.
void start_shutdown(const std::shared_ptr<stream>& s, tls_done done);

/// The session of s, or nullopt when s is closed, does not use TLS or is still handshaking.
std::optional<tls_session_info> session_info(const stream& s);

} // namespace lasio
