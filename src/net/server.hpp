// SPDX-License-Identifier: MIT
// A listening socket whose accept loop runs the handler in one light thread per connection.
#pragma once

#include "base/errors.hpp"
#include "sched/runtime.hpp"

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace lasio {

class stream;

/**
 * Owned by its Lua userdata and by the pending accept; __gc of the userdata closes, so an
 * unreachable server stops listening. Accept errors never end the loop: descriptor exhaustion
 * backs off briefly, others retry at once. Each connection goes to the connection handler the
 * binding layer sets (which runs the script's handler in a light thread of its own).
 */
class server final : public io_object, public std::enable_shared_from_this<server> {
public:
    using acceptor_type =
        net::basic_socket_acceptor<net::generic::stream_protocol, net::io_context::executor_type>;
    using socket_type =
        net::basic_stream_socket<net::generic::stream_protocol, net::io_context::executor_type>;
    /// Turns an accepted socket into a connection for hand_over (e.g. after a TLS handshake);
    /// without one, a plain connection is handed over at once.
    using accept_hook = std::function<void(server&, socket_type)>;
    /// Takes a new connection (never called once the runtime is closing).
    using connection_handler = std::function<void(server&, std::shared_ptr<stream>)>;

    server(runtime_ptr rt, acceptor_type acceptor, connection_handler handler);
    ~server() override;

    void start();
    void close();
    bool closed() const { return closed_; }
    acceptor_type& acceptor() { return *acceptor_; }
    /// Hands conn to the connection handler; after close, closes it instead (a deferred accept,
    /// such as a TLS handshake, can finish after the server closed). Never once rt().closing().
    void hand_over(std::shared_ptr<stream> conn);
    void set_accept_hook(accept_hook hook) { hook_ = std::move(hook); }
    /// Accepted connections get TCP_NODELAY (TCP servers, unless their options say nodelay = false).
    void set_nodelay(bool on) { nodelay_ = on; }
    /// Runs once when the server closes (also from lua_close; must not run Lua): e.g. removes a
    /// Unix socket file or aborts TLS handshakes still in flight.
    void on_close(std::function<void()> action) { close_actions_.push_back(std::move(action)); }

    void release_io() override;
    /// Never called: no light thread waits on the object itself.
    int cancel_wait(light_thread&, lua_State*) override { return 0; }
    void close_from_runtime() override { close(); }

private:
    void on_accept(const error_code& ec, socket_type peer);

    std::optional<acceptor_type> acceptor_;
    std::optional<net::steady_timer> backoff_;
    connection_handler handler_;
    bool closed_ = false;
    accept_hook hook_;
    bool nodelay_ = false;
    std::vector<std::function<void()>> close_actions_;
};


} // namespace lasio
