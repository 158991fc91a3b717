// SPDX-License-Identifier: MIT
// A watcher of process signals (asio.signal): queues what arrives, hands it to one waiting light thread.
#pragma once

#include "base/errors.hpp"
#include "sched/runtime.hpp"
#include "sched/wait_slot.hpp"

#include <boost/asio/signal_set.hpp>

#include <memory>
#include <optional>
#include <vector>

namespace lasio {

/**
 * Owned by its Lua userdata and by its background waits. While open it always has an Asio wait
 * in flight for each of its signals, so signals are taken from Asio as they come and queued here, once per signal
 * however often it came (coalesced), in the order they first arrived; a light thread's wait
 * takes the oldest. The background wait is not work that keeps asio.run() going; a light thread
 * waiting on the watcher is (stats().pending counts it).
 *
 * Asio's signal_set serves every io_context of the process: a signal reaches every watcher, in
 * every Lua state, that asked for it. Asio restores the default action when the last set
 * watching a signal lets it go (close, __gc, lua_close).
 */
class signal_watch final : public io_object, public std::enable_shared_from_this<signal_watch> {
public:
    explicit signal_watch(runtime_ptr rt);
    ~signal_watch() override;

    /// Watches signo too (before start); ec when the system refuses it.
    error_code add(int signo);
    /// Starts taking signals from Asio.
    void start();
    /// Pushes the oldest queued signal (name, number) and returns 2, or 0 when none is queued.
    int take_queued(lua_State* L);
    /// Parks th until a signal comes (or timeout seconds pass, < 0: never); returns lua_yield's value.
    int wait(lua_State* L, light_thread& th, double timeout);
    bool waiting() const { return waiter_.th != nullptr; }
    void close();
    bool closed() const { return closed_; }

    int cancel_wait(light_thread& th, lua_State* co) override;
    void release_io() override;
    void close_from_runtime() override { close(); }

private:
    void arm(std::size_t i);
    void on_signal(const error_code& ec, int signo, std::size_t i);
    void stop_counting();
    /// Destroys the set (its registrations go, and with the last one a signal's default action
    /// comes back) under the lock that keeps add's SA_RESTART fix-up atomic.
    void drop_set();

    // One set per signal, each with its own wait in flight: Asio hands a set the signals that
    // came while it had no wait one per wait, so in one set a backlog of one signal would
    // hold back the first arrival of another.
    std::vector<std::unique_ptr<net::signal_set>> sets_;
    std::vector<int> queued_;
    wait_slot waiter_;
    bool closed_ = false;
    bool counted_ = false;
};

/// Pushes a signal as waits report it: its name ("TERM"; the number for one without a name),
/// then its number. Returns 2.
int push_signal(lua_State* L, int signo);

} // namespace lasio
