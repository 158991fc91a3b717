// SPDX-License-Identifier: MIT
// UDP mechanics: non-blocking datagram receive (truncation detected) and send, waits, close.
#include "net/udp_socket.hpp"

#include "base/endpoint.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/post.hpp>

#include "base/socket_headers.hpp"
#if defined(_WIN32)
#include <mswsock.h>
#endif
#include "sched/pending.hpp"

#include <algorithm>
#include <cerrno>

namespace lasio {

udp_socket::udp_socket(runtime_ptr rt, socket_type socket) : io_object(std::move(rt)) {
    socket_.emplace(std::move(socket));
    error_code ec;
    socket_->non_blocking(true, ec);
    report_port_unreachable(false);
    ++rt_->stats().sockets;
}

void udp_socket::set_connected() {
    connected_ = true;
    report_port_unreachable(true);
}

// Windows hands an ICMP port unreachable, caused by any earlier sendto, to the next recvfrom of
// an unconnected socket as WSAECONNRESET: a server answering one vanished client would see its
// next receive fail. Linux reports those errors to connected sockets only, so Windows is told to
// do the same (SIO_UDP_CONNRESET). Elsewhere there is nothing to set.
void udp_socket::report_port_unreachable([[maybe_unused]] bool on) {
#if defined(_WIN32)
    BOOL flag = on ? TRUE : FALSE;
    DWORD returned = 0;
    // Best effort: a Winsock without the control (Wine's, some layered providers) keeps its own
    // behaviour, which the README describes.
    ::WSAIoctl(socket_->native_handle(), SIO_UDP_CONNRESET, &flag, sizeof flag, nullptr, 0, &returned,
               nullptr, nullptr);
#endif
}

udp_socket::~udp_socket() {
    if (!closed_) {
        closed_ = true;
        --rt_->stats().sockets;
    }
}

// --- receiving ------------------------------------------------------------------------------

/// Takes one datagram if there is one: returns the number of results pushed onto stack(), or 0
/// when it must wait. stack() is called only to deliver.
template <class Stack>
int udp_socket::try_receive(std::size_t max, bool with_source, Stack&& stack) {
    // recvmsg rather than Asio's receive_from: only msg_flags tells that the datagram was cut.
    // The scratch buffer, unless a copy out of it is in progress (a finalizer receiving while
    // it runs): then a buffer of our own.
    scratch_lease lease(*rt_);
    std::size_t size = std::min(max, runtime::scratch_size);
    std::unique_ptr<char[]> own;
    char* buf = lease.get();
    if (buf == nullptr) {
        own.reset(new char[size]);
        buf = own.get();
    }
#if defined(_WIN32)
    // Winsock reports a cut datagram as WSAEMSGSIZE with the buffer filled, which Asio's
    // receive_from turns into success (and 0 bytes): ask Winsock itself. It reports ICMP port
    // unreachable, which Linux gives a connected socket as ECONNREFUSED, as WSAECONNRESET.
    sockaddr_storage from_storage{};
    int from_size = sizeof from_storage;
    int got = ::recvfrom(socket_->native_handle(), buf, static_cast<int>(size), 0,
                         reinterpret_cast<sockaddr*>(&from_storage), &from_size);
    std::size_t n = got < 0 ? 0 : static_cast<std::size_t>(got);
    bool truncated = false;
    if (got < 0) {
        int e = ::WSAGetLastError();
        if (e == WSAEMSGSIZE) truncated = true, n = size;
        else if (e == WSAEWOULDBLOCK) return 0;
        else if (e == WSAECONNRESET) return push_fail(stack(), error_code(net::error::connection_refused));
        else return push_fail(stack(), error_code(e, boost::system::system_category()));
    }
    const void* from = &from_storage;
    std::size_t from_len = static_cast<std::size_t>(from_size);
#else
    sockaddr_storage from_storage{};
    iovec iov{buf, size};
    msghdr msg{};
    msg.msg_name = &from_storage;
    msg.msg_namelen = sizeof from_storage;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    ssize_t n;
    do {
        n = ::recvmsg(socket_->native_handle(), &msg, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        error_code ec(errno, boost::system::system_category());
        if (would_block(ec)) return 0;
        return push_fail(stack(), ec);
    }
    bool truncated = (msg.msg_flags & MSG_TRUNC) != 0;
    const void* from = &from_storage;
    std::size_t from_len = msg.msg_namelen;
#endif
    lua_State* L = stack();
    int results = 0;
    if (truncated) {
        lua_pushnil(L);
        lua_pushstring(L, err::message_too_long);
        results = 2;
    }
    lua_pushlstring(L, buf, static_cast<std::size_t>(n));
    ++results;
    if (with_source) results += push_endpoint(L, from, from_len);
    return results;
}

int udp_socket::receive(lua_State* L, light_thread& th, std::size_t max, bool with_source) {
    if (closed_) return push_fail(L, err::closed);
    if (reader_.th != nullptr)
        return luaL_error(L, "%s: another light thread is already receiving on this socket",
                          with_source ? "recvfrom" : "recv");
    bool fast = rt_->take_fast_path();
    if (fast) {
        if (int n = try_receive(max, with_source, [L] { return L; })) return n;
    }
    // Yield first: where the coroutine cannot yield (inside a call from C) it raises, and no
    // wait has been committed yet. Nothing below touches L's stack.
    int suspended = rt_->yield_holding(L, 1);
    max_ = max;
    with_source_ = with_source;
    reader_.begin(*rt_, th, this, timeout_);
    if (fast) {
        start_receive_wait();
    } else {
        // Out of budget: let the others run once, then try again as if the socket were ready.
        receive_waiting_ = true;
        net::post(rt_->io(), counted(*rt_, [self = shared_from_this()] { self->on_receive_ready({}); }));
    }
    return suspended;
}

void udp_socket::start_receive_wait() {
    if (receive_waiting_) return;
    receive_waiting_ = true;
    socket_->async_wait(socket_type::wait_read,
                        net::bind_cancellation_slot(
                            receive_cancel_.slot(), counted(*rt_, [self = shared_from_this()](const error_code& ec) {
                                self->on_receive_ready(ec);
                            })));
}

void udp_socket::on_receive_ready(const error_code& ec) {
    receive_waiting_ = false;
    if (closed_) end_wait_closed(*rt_, reader_); // close() woke it: only a bug would leave one
    if (rt_->closing() || closed_ || reader_.th == nullptr) return;
    // The receiver leaves the slot before its results are made: a finalizer run by making them
    // may close this socket, and must find nobody left to wake.
    claimed_waiter w;
    auto stack = [this, &w] {
        w = reader_.take(*rt_);
        return w.co;
    };
    int n = ec && ec != net::error::operation_aborted ? push_fail(stack(), ec)
                                                       : try_receive(max_, with_source_, stack);
    if (n == 0) return start_receive_wait();
    rt_->resume_now(*w.th);
}

// --- sending --------------------------------------------------------------------------------

bool udp_socket::try_send(error_code& ec) {
    if (wto_) socket_->send_to(net::buffer(wbuf_), *wto_, 0, ec);
    else socket_->send(net::buffer(wbuf_), 0, ec);
    return !ec;
}

int udp_socket::send(lua_State* L, light_thread& th, std::string_view data, const endpoint_type* to) {
    if (closed_) return push_fail(L, err::closed);
    if (writer_.th != nullptr)
        return luaL_error(L, "%s: another light thread is already sending on this socket",
                          to != nullptr ? "sendto" : "send");
    error_code ec;
    if (to != nullptr) socket_->send_to(net::buffer(data.data(), data.size()), *to, 0, ec);
    else socket_->send(net::buffer(data.data(), data.size()), 0, ec);
    if (!ec) {
        lua_pushboolean(L, 1);
        return 1;
    }
    if (!would_block(ec)) return push_fail(L, ec);
    // The send buffer is full: keep a copy, the Lua string may be collected while we wait.
    wbuf_.assign(data.data(), data.size());
    if (to != nullptr) wto_ = *to;
    else wto_.reset();
    // Yield before committing the wait (see recv); only a send that waits reads wbuf_.
    int suspended = rt_->yield_holding(L, 1);
    writer_.begin(*rt_, th, this, timeout_);
    start_send_wait();
    return suspended;
}

void udp_socket::start_send_wait() {
    if (send_waiting_) return;
    send_waiting_ = true;
    socket_->async_wait(socket_type::wait_write,
                        net::bind_cancellation_slot(
                            send_cancel_.slot(), counted(*rt_, [self = shared_from_this()](const error_code& ec) {
                                self->on_send_ready(ec);
                            })));
}

void udp_socket::on_send_ready(const error_code& ec) {
    send_waiting_ = false;
    if (closed_) end_wait_closed(*rt_, writer_);
    if (rt_->closing() || closed_ || writer_.th == nullptr) return;
    error_code sec = ec == net::error::operation_aborted ? error_code() : ec;
    if (!sec) try_send(sec);
    if (would_block(sec)) return start_send_wait();
    wbuf_.clear();
    wbuf_.shrink_to_fit();
    finish_wait(*rt_, writer_, sec);
}

// --- cancel and close ---------------------------------------------------------------------------

int udp_socket::cancel_wait(light_thread& th, lua_State* co) {
    if (reader_.th.get() == &th) {
        reader_ = {};
        receive_cancel_.emit(net::cancellation_type::terminal);
    } else if (writer_.th.get() == &th) {
        writer_ = {};
        wbuf_.clear();
        send_cancel_.emit(net::cancellation_type::terminal);
    } else {
        return 0;
    }
    return co != nullptr ? push_fail(co, err::timeout) : 0;
}

void udp_socket::close() {
    if (closed_) return;
    closed_ = true;
    --rt_->stats().sockets;
    error_code ec;
    if (socket_) socket_->close(ec); // pending waits complete with operation_aborted
    end_wait_closed(*rt_, reader_);
    end_wait_closed(*rt_, writer_);
    wbuf_.clear();
    wbuf_.shrink_to_fit();
}

void udp_socket::release_io() {
    close();
    socket_.reset();
}

} // namespace lasio
