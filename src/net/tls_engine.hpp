// SPDX-License-Identifier: MIT
// The seam between the core and TLS: what the core asks of a TLS implementation, which is
// loaded at run time (asio/tls.so, on first use) or linked in, and installed here.
#pragma once

#include "base/errors.hpp"
#include "net/stream.hpp"
#include "net/stream_layer.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace lasio {

/// A TLS context as the engine builds it; the core only holds and hands it back.
class tls_context;

/// What asio.tls_context is built from, checked and with its defaults settled by the binding.
struct tls_settings {
    bool server = false;
    bool verify = true; // clients: certificate chain and host name; servers: ask for a certificate
    std::optional<std::string> cert, key, ca; // PEM text, or the name of a file holding it
    std::string alpn_wire; // length-prefixed protocol names in preference order (empty: no ALPN)
};

/// What conn:tls_info reports of an established session; unset fields are absent from its table.
/// A copy: nothing in it points into the engine, which the finalizers pushing it may run could free.
struct tls_session_info {
    std::optional<std::string> version, cipher;
    std::optional<std::string> alpn;        // the protocol chosen, if any
    std::optional<std::string> server_name; // the SNI name sent or received
    bool peer_verified = false;
    std::optional<std::string> peer_subject;
};

using tls_done = std::function<void(const error_code&)>;

/**
 * A TLS session over a stream's socket (by reference, so a STARTTLS upgrade happens in place):
 * the stream's layer, plus the handshakes only TLS has. Its handlers run on the stream's loop;
 * the core counts them as pending and keeps the stream alive around them.
 */
class tls_session : public stream_layer {
public:
    /// Starts the handshake in the context's role; done gets the engine's error_code as is.
    virtual void start_handshake(tls_done done) = 0;
    /// Sends close_notify and waits for the peer's; a peer that closes the connection instead
    /// has shut down too (done gets no error).
    virtual void start_shutdown(tls_done done) = 0;
    virtual tls_session_info info() const = 0;
    /// What a handshake that failed with ec returns after nil, when ec is TLS's own (a bad
    /// certificate, a protocol error, a connection cut without close_notify); else a null message.
    virtual failure describe_failure(const error_code& ec) const = 0;
};

/**
 * The TLS implementation (OpenSSL in src/tls/). One per process, installed once and never
 * removed: sessions and contexts it made may live until the last Lua state closes.
 */
class tls_engine {
public:
    /// Changes whenever this interface does: a core refuses an engine built against another.
    static constexpr int interface_version = 1;
    const int version = interface_version;

    /// Null, with why set ("invalid certificate", "invalid key", ...), when s cannot be built.
    virtual std::shared_ptr<tls_context> make_context(const tls_settings& s, failure& why) = 0;
    /**
     * A session in ctx's role over socket. For a client, server_name is sent as SNI and, when
     * ctx verifies, checked against the certificate (an IP literal as an address, without SNI).
     * Null with ec set when setup fails.
     */
    virtual std::unique_ptr<tls_session> make_session(stream::socket_type& socket,
                                                      const std::shared_ptr<tls_context>& ctx,
                                                      const std::string& server_name, error_code& ec) = 0;
    /// The short string of one of TLS's own errors, or null for any other error.
    virtual const char* error_string(const error_code& ec) const = 0;

protected:
    ~tls_engine() = default;
};

/// Installs e (a second install of the same engine is a no-op). Safe from any OS thread.
void install_tls_engine(tls_engine& e);
/// The installed engine, or null while TLS has not been loaded.
tls_engine* installed_tls_engine();

/// The session of s, or null when s has no TLS layer (TLS is the only layer there is).
inline tls_session* tls_of(const stream& s) { return static_cast<tls_session*>(s.layer()); }

} // namespace lasio
