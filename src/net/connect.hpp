// SPDX-License-Identifier: MIT
// Outgoing connections for light threads: resolve a host, try each address (or a Unix path).
#pragma once

#include "base/errors.hpp"
#include "net/socket_options.hpp"
#include "net/stream.hpp"
#include "sched/runtime.hpp"

#include <boost/asio/generic/stream_protocol.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace lasio {

/// Runs when a connect's upgrade step ends: ec is clear on success, else why says what failed.
using upgrade_done = std::function<void(const error_code& ec, failure why)>;

/**
 * A step run on the connected stream before the caller gets it: the TLS handshake, which net
 * cannot name (tls sits above it), so the binding layer fills it in. It starts on s and returns
 * an error, without starting, when setup fails; done runs from its handler, never once the
 * runtime is closing. It runs under the connect's wait: a timeout or kill closes s.
 */
using connect_upgrade = std::function<error_code(const std::shared_ptr<stream>& s, upgrade_done done)>;

/// What to connect to, and how.
struct connect_request {
    /// A host name or IP literal and a port (not 0)...
    std::string host;
    unsigned short port = 0;
    /// ... or, when set, a Unix socket instead.
    std::optional<net::generic::stream_protocol::endpoint> local;
    /// Socket options, bind address and timeouts (of the whole connect, of the connection).
    connect_options opts;
    /// Empty: the connection is handed over as soon as it is connected.
    connect_upgrade upgrade;
    /// Pushes the connection onto the waiting thread's results (the binding's userdata).
    void (*push_connection)(lua_State* L, std::shared_ptr<stream> s) = nullptr;
};

/**
 * Yields th (the calling light thread) and connects: one wait, whose timeout is opts.timeout or
 * else the connection's connect timeout, covers resolving, every address tried and the upgrade.
 * The thread resumes with the connection, or nil, err (and a detail from a failed upgrade).
 * The return value is lua_yield's, so the caller returns it at once.
 */
int connect_and_yield(lua_State* L, runtime& rt, light_thread& th, connect_request req);

} // namespace lasio
