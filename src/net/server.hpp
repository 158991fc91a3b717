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

/**
 * Owned by its Lua userdata and by the pending accept. The handler function is anchored in the
 * registry until close; __gc of the userdata closes, so an unreachable server stops listening.
 * Accept errors never end the loop: descriptor exhaustion backs off briefly, others retry at once.
 */
class server final : public io_object, public std::enable_shared_from_this<server> {
public:
    using acceptor_type =
        net::basic_socket_acceptor<net::generic::stream_protocol, net::io_context::executor_type>;
    using socket_type =
        net::basic_stream_socket<net::generic::stream_protocol, net::io_context::executor_type>;
    /// Turns an accepted socket into what the handler receives (e.g. after a TLS handshake);
    /// by default a plain connection. Runs with the handler and the connection pushed on aux.
    using accept_hook = std::function<void(server&, socket_type)>;

    server(runtime_ptr rt, acceptor_type acceptor, int handler_ref);
    ~server() override;

    void start();
    void close();
    bool closed() const { return closed_; }
    acceptor_type& acceptor() { return *acceptor_; }
    /// Spawns the handler's light thread with the connection pushed on top of rt().aux() (popped);
    /// after close the connection is closed instead. Never call it once rt().closing().
    void spawn_handler();
    void set_accept_hook(accept_hook hook) { hook_ = std::move(hook); }
    /// Runs once when the server closes (also from lua_close; must not run Lua): e.g. removes a
    /// Unix socket file or aborts TLS handshakes still in flight.
    void on_close(std::function<void()> action) { close_actions_.push_back(std::move(action)); }

    void release_io() override;
    void close_from_runtime() override { close(); }

private:
    void on_accept(const error_code& ec, socket_type peer);

    std::optional<acceptor_type> acceptor_;
    std::optional<net::steady_timer> backoff_;
    int handler_ref_;
    bool closed_ = false;
    accept_hook hook_;
    std::vector<std::function<void()>> close_actions_;
};


} // namespace lasio
