// SPDX-License-Identifier: MIT
// TLS sessions on connections: handshakes (connect, accept, STARTTLS), their errors, shutdown, info.
#pragma once

#include "net/connect.hpp"
#include "net/stream.hpp"
#include "tls/tls_context.hpp"

#include <functional>
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

/**
 * Sends close_notify on s (which uses TLS and is idle) and waits for the peer's. done runs as
 * start_handshake's does; a peer that closes the connection instead counts as done, without error.
 */
void start_shutdown(const std::shared_ptr<stream>& s, handshake_done done);

/// What conn:tls_info reports of an established session; unset fields are absent from its table.
struct tls_session_info {
    std::optional<std::string> version, cipher;
    std::optional<std::string> alpn;        // the protocol chosen, if any
    std::optional<std::string> server_name; // the SNI name sent or received
    bool peer_verified = false;
    std::optional<std::string> peer_subject;
};
/**
 * The session of s, or nullopt when s is closed, does not use TLS or is still handshaking. A copy:
 * nothing in it points into OpenSSL, which the finalizers pushing it may run could free.
 */
std::optional<tls_session_info> session_info(const stream& s);
#endif

} // namespace lasio
