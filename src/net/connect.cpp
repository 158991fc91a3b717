// SPDX-License-Identifier: MIT
// Connecting: resolve a host asynchronously, then try each address in turn (or a Unix path).
#include "net/connect.hpp"

#include "base/close_on_exec.hpp"

#include "sched/pending.hpp"

#include "base/endpoint.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

namespace lasio {

namespace {

using tcp = net::ip::tcp;

/**
 * One connect in progress (asio.connect, asio.unix_connect). Owned by its pending handlers; the
 * waiting light thread names it as its wait target, so a timeout or kill closes the socket and
 * cancels the resolver.
 */
class connector final : public single_wait_op, public std::enable_shared_from_this<connector> {
public:
    connector(runtime_ptr rt, connect_request& req)
        : single_wait_op(std::move(rt)), opts_(std::move(req.opts)), upgrade_(std::move(req.upgrade)),
          push_connection_(req.push_connection) {}

    void start(light_thread& th, std::uint32_t token, const std::string& host, unsigned short port) {
        set_waiter(th, token);
        // TCP connections go out without Nagle's delay unless told otherwise: requests and game
        // traffic are what they carry (a relay in front of redis waited 40 ms per reply).
        if (!opts_.socket.nodelay) opts_.socket.nodelay = true;
        error_code ec;
        auto literal = net::ip::make_address(host, ec);
        if (!ec) {
            endpoints_.emplace_back(literal, port);
            starting_ = true; // a failure now must not resume the caller before it yields
            try_next();
            starting_ = false;
            return;
        }
        resolver_.emplace(rt_->io());
        resolver_->async_resolve(host, std::to_string(port), tcp::resolver::numeric_service,
                                 counted(*rt_, [self = shared_from_this()](const error_code& ec,
                                                                           tcp::resolver::results_type r) {
                                     self->on_resolve(ec, std::move(r));
                                 }));
    }

    /// Connects to a Unix socket path instead.
    void start_local(light_thread& th, std::uint32_t token, const stream::socket_type::endpoint_type& ep) {
        set_waiter(th, token);
        error_code ec;
        socket_.emplace(rt_->io());
        socket_->open(net::generic::stream_protocol(AF_UNIX, 0), ec);
        if (!ec) close_on_exec(socket_->native_handle());
        if (ec) {
            starting_ = true;
            fail(ec);
            starting_ = false;
            return;
        }
        socket_->async_connect(ep, counted(*rt_, [self = shared_from_this()](const error_code& ec) {
                                   self->on_connect(ec);
                               }));
    }

    void release_io() override {
        abandon();
        resolver_.reset();
        socket_.reset();
    }

private:
    void abandon() override {
        done_ = true;
        forget_waiter();
        error_code ec;
        if (resolver_) resolver_->cancel();
        if (socket_) socket_->close(ec);
        if (upgrading_) upgrading_->close();
    }

    void on_resolve(const error_code& ec, tcp::resolver::results_type results) {
        if (done_ || rt_->closing()) return;
        if (ec) return fail(ec);
        for (const auto& entry : results) endpoints_.push_back(entry.endpoint());
        try_next();
    }

    void try_next() {
        if (next_ >= endpoints_.size()) return fail(last_error_ ? last_error_ : net::error::host_not_found);
        const tcp::endpoint& ep = endpoints_[next_++];
        error_code ec;
        socket_.emplace(rt_->io());
        socket_->open(net::generic::stream_protocol(ep.protocol().family(), IPPROTO_TCP), ec);
        if (!ec) close_on_exec(socket_->native_handle());
        if (!ec) ec = apply_socket_options(socket_->native_handle(), opts_.socket);
        if (!ec && opts_.bind) ec = bind_local(*socket_, *opts_.bind, ep.protocol() == tcp::v6());
        if (ec) {
            last_error_ = ec;
            return try_next();
        }
        socket_->async_connect(to_generic(ep), counted(*rt_, [self = shared_from_this()](const error_code& ec) {
                                   self->on_connect(ec);
                               }));
    }

    void on_connect(const error_code& ec) {
        if (done_ || rt_->closing()) return;
        if (ec) {
            last_error_ = ec;
            return try_next();
        }
        error_code peer_ec;
        socket_->remote_endpoint(peer_ec);
        if (peer_ec) {
            // A Unix listener with a full backlog makes a non-blocking connect fail with EAGAIN,
            // which Asio takes for "in progress": the socket then looks writable, unconnected.
            last_error_ = net::error::try_again;
            socket_.reset();
            return try_next();
        }
        auto s = std::make_shared<stream>(rt_, std::move(*socket_));
        socket_.reset();
        s->set_timeouts(opts_.timeouts);
        if (upgrade_) return start_upgrade(std::move(s));
        done_ = true;
        auto [th, co] = take_waiter();
        if (co == nullptr) return;
        push_connection_(co, std::move(s));
        rt_->resume_now(*th);
    }

    /// The upgrade (the TLS handshake) runs under the same wait (and deadline) as the connect.
    void start_upgrade(std::shared_ptr<stream> s) {
        upgrading_ = s;
        error_code ec = upgrade_(s, [self = shared_from_this()](const error_code& ec, failure why) {
            self->on_upgraded(ec, std::move(why));
        });
        if (ec) {
            s->close();
            upgrading_.reset();
            fail(ec);
        }
    }

    void on_upgraded(const error_code& ec, failure why) {
        std::shared_ptr<stream> s = std::move(upgrading_);
        if (done_ || rt_->closing() || s == nullptr) return;
        done_ = true;
        auto [th, co] = take_waiter();
        if (co == nullptr) {
            s->close();
            return;
        }
        if (ec) {
            push_fail(co, why);
            s->close();
        } else {
            push_connection_(co, std::move(s));
        }
        rt_->resume_now(*th);
    }

    void fail(const error_code& ec) {
        if (starting_) {
            // Still inside asio.connect, which has not yielded yet: report from the loop.
            net::post(rt_->io(), counted(*rt_, [self = shared_from_this(), ec] { self->fail(ec); }));
            return;
        }
        done_ = true;
        auto [th, co] = take_waiter();
        if (co == nullptr) return;
        push_fail(co, ec);
        rt_->resume_now(*th);
    }

    connect_options opts_;
    connect_upgrade upgrade_;
    void (*push_connection_)(lua_State* L, std::shared_ptr<stream> s);
    std::shared_ptr<stream> upgrading_; // being upgraded, not yet handed to Lua
    bool done_ = false;
    bool starting_ = false;
    std::optional<tcp::resolver> resolver_;
    std::vector<tcp::endpoint> endpoints_;
    std::size_t next_ = 0;
    std::optional<stream::socket_type> socket_;
    error_code last_error_;
};

} // namespace

int connect_and_yield(lua_State* L, runtime& rt, light_thread& th, connect_request req) {
    double timeout = req.opts.timeout >= 0 ? req.opts.timeout : req.opts.timeouts.connect;
    // Yield first: where the coroutine cannot yield (inside a call from C) it raises, and no
    // wait has been committed yet. Nothing below touches L's stack.
    int suspended = lua_yield(L, 0);
    auto c = std::make_shared<connector>(rt.shared_from_this(), req);
    std::uint32_t token = rt.begin_wait(th, wait_kind::io, c.get(), timeout);
    if (req.local) c->start_local(th, token, *req.local);
    else c->start(th, token, req.host, req.port);
    return suspended;
}

} // namespace lasio
