// SPDX-License-Identifier: MIT
// The standard input pump: poll, read what is there, write it into the socket pair, again.
#include "os/stdin_pump.hpp"
#include "os/os_config.hpp"

#if defined(LASIO_HAS_DAEMON)
#include <boost/asio/write.hpp>

#include <cerrno>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

namespace lasio {

stdin_pump::stdin_pump(runtime_ptr rt) : io_object(std::move(rt)), buf_(new char[chunk]) {}

error_code stdin_pump::assign(int input_dup, int pair_end) {
    original_flags_ = ::fcntl(input_dup, F_GETFL);
    error_code ec;
    input_.emplace(rt_->io());
    input_->assign(input_dup, ec);
    if (ec) return ec;
    sink_.emplace(rt_->io());
    sink_->assign(net::generic::stream_protocol(AF_UNIX, SOCK_STREAM), pair_end, ec);
    if (ec) input_->release();
    return ec;
}

void stdin_pump::wait_input() {
    if (closed_) return;
    pollfd p{input_->native_handle(), POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) return on_input_ready({}); // edge-triggered epoll: see fd_watch
    input_->async_wait(net::posix::descriptor_base::wait_read,
                       [self = shared_from_this()](const error_code& ec) { self->on_input_ready(ec); });
    if (original_flags_ >= 0 && (original_flags_ & O_NONBLOCK) == 0) {
        // The terminal is the shell's too: Asio's O_NONBLOCK must not outlive the wait's start.
        ::fcntl(input_->native_handle(), F_SETFL, original_flags_);
        original_flags_ = -1;
    }
}

void stdin_pump::on_input_ready(const error_code& ec) {
    if (closed_ || rt_->closing()) return;
    // A regular file cannot be polled by epoll (operation_not_supported): it never blocks.
    if (ec && ec != net::error::operation_not_supported) return close();
    ssize_t n = ::read(input_->native_handle(), buf_.get(), chunk);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return wait_input();
    if (n <= 0) return close(); // end of input (or an error): the connection reads "closed"
    net::async_write(*sink_, net::buffer(buf_.get(), static_cast<std::size_t>(n)),
                     [self = shared_from_this()](const error_code& ec, std::size_t) {
                         if (ec) return self->close(); // the script closed its connection
                         self->wait_input();
                     });
}

void stdin_pump::close() {
    if (closed_) return;
    closed_ = true;
    error_code ignored;
    if (input_) input_->close(ignored); // the duplicate only
    if (sink_) sink_->close(ignored);
}

void stdin_pump::release_io() {
    close();
    input_.reset();
    sink_.reset();
}

} // namespace lasio
#endif
