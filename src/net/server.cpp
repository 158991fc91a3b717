// SPDX-License-Identifier: MIT
// Listening servers: the accept loop, its back-off on exhausted descriptors, and close.
#include "net/server.hpp"

#include "base/close_on_exec.hpp"
#include "base/errors.hpp"
#include "sched/pending.hpp"

#include <boost/asio/ip/tcp.hpp>
#include "net/stream.hpp"


namespace lasio {

namespace {

/// Pause after EMFILE/ENFILE/ENOBUFS so a full descriptor table does not spin the loop.
constexpr auto accept_backoff = std::chrono::milliseconds(100);

bool resource_exhausted(const error_code& ec) {
    return ec == net::error::no_descriptors || ec == net::error::no_buffer_space ||
           ec == net::error::no_memory || ec.value() == ENFILE;
}

} // namespace

server::server(runtime_ptr rt, acceptor_type acceptor, connection_handler handler)
    : io_object(std::move(rt)), handler_(std::move(handler)) {
    acceptor_.emplace(std::move(acceptor));
    ++rt_->stats().servers;
}

server::~server() {
    if (!closed_) {
        closed_ = true;
        --rt_->stats().servers;
    }
}

void server::start() {
    if (closed_) return;
    acceptor_->async_accept(counted(*rt_, [self = shared_from_this()](const error_code& ec, socket_type peer) {
        self->on_accept(ec, std::move(peer));
    }));
}

void server::on_accept(const error_code& ec, socket_type peer) {
    if (closed_ || rt_->closing()) return;
    if (!ec) {
        close_on_exec(peer.native_handle());
        if (nodelay_) {
            error_code ignored; // a connection that cannot take it still works
            peer.set_option(net::ip::tcp::no_delay(true), ignored);
        }
        if (hook_) {
            hook_(*this, std::move(peer));
        } else {
            hand_over(std::make_shared<stream>(rt_, std::move(peer)));
        }
    } else if (resource_exhausted(ec)) {
        if (!backoff_) backoff_.emplace(rt_->io());
        backoff_->expires_after(accept_backoff);
        backoff_->async_wait(counted(*rt_, [self = shared_from_this()](const error_code&) { self->start(); }));
        return;
    }
    start();
}

void server::hand_over(std::shared_ptr<stream> conn) {
    if (closed_) {
        conn->close();
        return;
    }
    handler_(*this, std::move(conn));
}

void server::close() {
    if (closed_) return;
    closed_ = true;
    --rt_->stats().servers;
    error_code ec;
    if (acceptor_) acceptor_->close(ec);
    if (backoff_) backoff_->cancel();
    auto actions = std::move(close_actions_);
    close_actions_.clear();
    for (auto& action : actions) action();
    hook_ = nullptr;
}

void server::release_io() {
    close();
    backoff_.reset();
    acceptor_.reset();
}

} // namespace lasio
