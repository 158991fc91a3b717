// SPDX-License-Identifier: MIT
// Watches on foreign descriptors: Asio waits on a duplicate, one waiter, timeouts, close.
#include "os/fd_watch.hpp"
#include "os/os_config.hpp"

#if defined(LASIO_HAS_DAEMON)
#include "sched/pending.hpp"

#include <fcntl.h>
#include <poll.h>

namespace lasio {

fd_watch::fd_watch(runtime_ptr rt, bool readable, bool writable)
    : io_object(std::move(rt)), readable_(readable), writable_(writable) {
    d_.emplace(rt_->io());
}

error_code fd_watch::assign(int dup_fd) {
    original_flags_ = ::fcntl(dup_fd, F_GETFL);
    error_code ec;
    d_->assign(dup_fd, ec);
    return ec;
}

char fd_watch::ready_now() {
    pollfd p{d_->native_handle(), static_cast<short>((readable_ ? POLLIN : 0) | (writable_ ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, 0) <= 0) return 0;
    if (readable_ && (p.revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) != 0) return 'r';
    return 'w';
}

int fd_watch::wait(lua_State* L, light_thread& th, double timeout) {
    int suspended = rt_->yield_holding(L, 1);
    waiter_.begin(*rt_, th, this, timeout);
    ++round_;
    if (readable_) start(net::posix::descriptor_base::wait_read, 'r');
    if (writable_) start(net::posix::descriptor_base::wait_write, 'w');
    if (!flags_restored_) {
        // Asio 1.81 makes a descriptor non-blocking before its first wait, and the flag belongs
        // to the open file, which the owner shares: give it back as it was. Asio keeps taking
        // it for non-blocking, and only waits on it, never reads or writes.
        flags_restored_ = true;
        if (original_flags_ >= 0 && (original_flags_ & O_NONBLOCK) == 0)
            ::fcntl(d_->native_handle(), F_SETFL, original_flags_);
    }
    return suspended;
}

void fd_watch::start(net::posix::descriptor_base::wait_type type, char which) {
    d_->async_wait(type, counted(*rt_, [self = shared_from_this(), round = round_, which](const error_code& ec) {
        self->on_ready(ec, round, which);
    }));
}

void fd_watch::on_ready(const error_code& ec, std::uint32_t round, char which) {
    // A completion of an earlier wait (timed out, or the other direction of an 'rw' wait that
    // lost the race) finds a newer round or nobody waiting.
    if (round != round_ || waiter_.th == nullptr || closed_ || rt_->closing()) return;
    ++round_;
    error_code ignored;
    d_->cancel(ignored); // the other direction's wait, if any
    claimed_waiter w = waiter_.take(*rt_);
    if (w.co == nullptr) return;
    if (ec) {
        push_fail(w.co, ec);
    } else {
        const char text[2] = {which, '\0'};
        lua_pushstring(w.co, text);
    }
    rt_->resume_now(*w.th);
}

int fd_watch::cancel_wait(light_thread& th, lua_State* co) {
    if (waiter_.th.get() == &th) {
        waiter_ = {};
        ++round_;
        error_code ignored;
        d_->cancel(ignored);
    }
    return co != nullptr ? push_fail(co, err::timeout) : 0;
}

void fd_watch::close() {
    if (closed_) return;
    closed_ = true;
    ++round_;
    error_code ignored;
    d_->close(ignored); // the duplicate only
    end_wait_closed(*rt_, waiter_);
}

void fd_watch::release_io() {
    close();
    d_.reset();
}

} // namespace lasio
#endif
