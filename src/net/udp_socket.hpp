// SPDX-License-Identifier: MIT
// A UDP socket for light threads: datagram sends and receives, connected or not, with timeouts.
#pragma once

#include "base/errors.hpp"
#include "sched/runtime.hpp"
#include "sched/wait_slot.hpp"

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/ip/udp.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace lasio {

/**
 * Owned by its Lua userdata and by each pending Asio handler (shared_from_this). One light thread
 * may receive while another sends; a second concurrent receiver or sender is a programmer error.
 *
 * Reactor style as for streams: try the non-blocking call, and only when it would block wait for
 * readiness. A wait transfers nothing, so a timeout or kill never loses a datagram.
 *
 * A datagram longer than the receiver's max is consumed (UDP cannot keep the rest) and reported
 * as nil, "message too long", <the first max bytes> rather than silently cut.
 */
class udp_socket final : public io_object, public std::enable_shared_from_this<udp_socket> {
public:
    using socket_type = net::ip::udp::socket;
    using endpoint_type = net::ip::udp::endpoint;

    udp_socket(runtime_ptr rt, socket_type socket);
    ~udp_socket() override;

    /// Receives one datagram of at most max bytes: data [, ip, port when with_source].
    int receive(lua_State* L, light_thread& th, std::size_t max, bool with_source);
    /// Sends data to `to`, or to the connected peer when to is null: true or nil, err.
    int send(lua_State* L, light_thread& th, std::string_view data, const endpoint_type* to);
    /// Closes; waiters are resumed with nil, "closed" later in the loop.
    void close();
    bool closed() const { return closed_; }

    socket_type& socket() { return *socket_; }
    double& timeout() { return timeout_; }
    bool connected() const { return connected_; }
    /// After a successful connect: ICMP errors are then the peer's answers (on Windows they are
    /// reported from then on, as Linux reports them to connected sockets only).
    void set_connected();

    int cancel_wait(light_thread& th, lua_State* co) override;
    void release_io() override;
    void close_from_runtime() override { close(); }

private:
    /// The receive's settings are arguments, not members: a finalizer run by one receive's
    /// copy may receive on the same socket.
    template <class Stack> int try_receive(std::size_t max, bool with_source, Stack&& stack);
    void report_port_unreachable(bool on);
    void start_receive_wait();
    void on_receive_ready(const error_code& ec);

    bool try_send(error_code& ec);
    void start_send_wait();
    void on_send_ready(const error_code& ec);

    std::optional<socket_type> socket_;
    double timeout_ = -1;
    bool closed_ = false;
    bool connected_ = false;

    wait_slot reader_;
    std::size_t max_ = 0;
    bool with_source_ = false;
    bool receive_waiting_ = false;
    net::cancellation_signal receive_cancel_;

    wait_slot writer_;
    std::string wbuf_;          // the datagram waiting for send buffer space
    std::optional<endpoint_type> wto_;
    bool send_waiting_ = false;
    net::cancellation_signal send_cancel_;
};

} // namespace lasio
