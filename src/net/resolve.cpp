// SPDX-License-Identifier: MIT
// Name resolution on Asio's resolver thread, resumed in the loop (asio.resolve, UDP connect).
#include "net/resolve.hpp"

#include <boost/asio/ip/tcp.hpp>

#include "base/socket_headers.hpp"
#include "sched/pending.hpp"
#include "sched/wait_slot.hpp"

#include <algorithm>
#include <optional>

namespace lasio {

namespace {

using tcp = net::ip::tcp;

/**
 * One resolution in progress, owned by its pending handler. The waiting thread names it as its
 * wait target: a timeout or kill drops the answer (getaddrinfo itself cannot be interrupted; its
 * result is discarded when it arrives). lua_close destroys the resolver through release_io.
 */
class resolve_op final : public single_wait_op, public std::enable_shared_from_this<resolve_op> {
public:
    resolve_op(runtime_ptr rt, int family, resolve_done done)
        : single_wait_op(std::move(rt)), family_(family), done_(std::move(done)) {}

    void start(light_thread& th, std::uint32_t token, const std::string& host) {
        set_waiter(th, token);
        resolver_.emplace(rt_->io());
        // No AI_ADDRCONFIG: on a host with only loopback it would hide even 127.0.0.1.
        auto flags = tcp::resolver::flags();
        auto on_resolve = counted(*rt_, [self = shared_from_this()](const error_code& ec, tcp::resolver::results_type r) {
            self->on_resolve(ec, std::move(r));
        });
        if (family_ == AF_INET) resolver_->async_resolve(tcp::v4(), host, "", flags, std::move(on_resolve));
        else if (family_ == AF_INET6) resolver_->async_resolve(tcp::v6(), host, "", flags, std::move(on_resolve));
        else resolver_->async_resolve(host, "", flags, std::move(on_resolve));
    }

    void release_io() override {
        abandon();
        resolver_.reset();
    }

private:
    void abandon() override {
        forget_waiter();
        done_ = nullptr; // what it captured goes now, not when getaddrinfo returns
        if (resolver_) resolver_->cancel();
    }

    void on_resolve(const error_code& ec, tcp::resolver::results_type results) {
        resolve_done done = std::move(done_);
        if (rt_->closing() || !has_waiter() || !done) return;
        std::vector<net::ip::address> addrs;
        if (!ec) {
            for (const auto& entry : results) {
                net::ip::address a = entry.endpoint().address();
                if (std::find(addrs.begin(), addrs.end(), a) == addrs.end()) addrs.push_back(a);
            }
        }
        auto [th, co] = take_waiter();
        if (co == nullptr) return;
        error_code result = ec;
        if (!ec && addrs.empty()) result = net::error::host_not_found;
        done(co, result, addrs);
        rt_->resume_now(*th);
    }

    int family_;
    resolve_done done_;
    std::optional<tcp::resolver> resolver_;
};

} // namespace

int resolve_and_yield(lua_State* L, runtime& rt, light_thread& th, const std::string& host, int family,
                      double timeout, resolve_done done, int hold_idx) {
    // Yield first: where the coroutine cannot yield (inside a call from C) it raises, and no
    // wait has been committed yet. Nothing below touches L's stack.
    int suspended = hold_idx != 0 ? rt.yield_holding(L, hold_idx) : lua_yield(L, 0);
    auto op = std::make_shared<resolve_op>(rt.shared_from_this(), family, std::move(done));
    std::uint32_t token = rt.begin_wait(th, wait_kind::io, op.get(), timeout);
    op->start(th, token, host);
    return suspended;
}

} // namespace lasio
