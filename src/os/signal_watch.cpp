// SPDX-License-Identifier: MIT
// Signal watchers: the background wait on Asio's signal_set, the coalescing queue, the one waiter.
#include "os/signal_watch.hpp"

#include "os/os_config.hpp"
#include "os/signal_names.hpp"

#if defined(LASIO_HAS_SIGNALS)

#include <algorithm>
#include <csignal>
#include <mutex>

namespace lasio {

namespace {

/**
 * Serializes our changes to signal registrations across the Lua states of the process: add
 * reads back the action Asio installed to set SA_RESTART on it, and a set destroyed on another
 * OS thread in between could have put the default action back, which the write would undo.
 */
std::mutex& registration_lock() {
    static std::mutex m;
    return m;
}

} // namespace

int push_signal(lua_State* L, int signo) {
    if (const char* name = signal_name(signo)) lua_pushstring(L, name);
    else lua_pushinteger(L, signo);
    lua_pushinteger(L, signo);
    return 2;
}

signal_watch::signal_watch(runtime_ptr rt) : io_object(std::move(rt)) {}

signal_watch::~signal_watch() { drop_set(); }

void signal_watch::drop_set() {
    if (sets_.empty()) return;
    std::lock_guard<std::mutex> lock(registration_lock());
    sets_.clear();
}

error_code signal_watch::add(int signo) {
    sets_.push_back(std::make_unique<net::signal_set>(rt_->io()));
    std::lock_guard<std::mutex> lock(registration_lock());
    error_code ec;
    sets_.back()->add(signo, ec);
#if !defined(_WIN32)
    // Asio 1.81 installs its handler without SA_RESTART: a signal would then make a blocking call
    // elsewhere in the process (io.read on stdin, a C library's read) fail with EINTR.
    struct sigaction sa;
    if (!ec && ::sigaction(signo, nullptr, &sa) == 0 && (sa.sa_flags & SA_RESTART) == 0) {
        sa.sa_flags |= SA_RESTART;
        ::sigaction(signo, &sa, nullptr);
    }
#endif
    return ec;
}

void signal_watch::start() {
    for (std::size_t i = 0; i < sets_.size(); ++i) arm(i);
}

void signal_watch::arm(std::size_t i) {
    if (closed_) return;
    sets_[i]->async_wait(
        [self = shared_from_this(), i](const error_code& ec, int signo) { self->on_signal(ec, signo, i); });
}

int signal_watch::take_queued(lua_State* L) {
    if (queued_.empty()) return 0;
    int signo = queued_.front();
    queued_.erase(queued_.begin());
    return push_signal(L, signo);
}

int signal_watch::wait(lua_State* L, light_thread& th, double timeout) {
    int suspended = rt_->yield_holding(L, 1);
    waiter_.begin(*rt_, th, this, timeout);
    ++rt_->stats().pending;
    counted_ = true;
    return suspended;
}

void signal_watch::stop_counting() {
    if (!counted_) return;
    counted_ = false;
    --rt_->stats().pending;
}

void signal_watch::on_signal(const error_code& ec, int signo, std::size_t i) {
    if (ec || closed_ || rt_->closing()) return;
    claimed_waiter w = waiter_.take(*rt_);
    stop_counting();
    if (w.co != nullptr) {
        push_signal(w.co, signo);
        rt_->resume_now(*w.th); // may close this watcher: arm() checks
    } else if (std::find(queued_.begin(), queued_.end(), signo) == queued_.end()) {
        queued_.push_back(signo);
    }
    arm(i);
}

int signal_watch::cancel_wait(light_thread& th, lua_State* co) {
    if (waiter_.th.get() == &th) {
        waiter_ = {};
        stop_counting();
    }
    return co != nullptr ? push_fail(co, err::timeout) : 0;
}

void signal_watch::close() {
    if (closed_) return;
    closed_ = true;
    stop_counting();
    queued_.clear();
    {
        std::lock_guard<std::mutex> lock(registration_lock());
        error_code ec;
        for (auto& set : sets_) {
            set->clear(ec); // the last watcher of a signal gives it back its default action
            set->cancel(ec);
        }
    }
    end_wait_closed(*rt_, waiter_);
}

void signal_watch::release_io() {
    close();
    drop_set();
}

} // namespace lasio
#endif
