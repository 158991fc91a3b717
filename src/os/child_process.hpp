// SPDX-License-Identifier: MIT
// Child processes: starting one without a shell (posix_spawn), reaping it from the loop, its exit status.
#pragma once

#include "base/errors.hpp"
#include "sched/runtime.hpp"
#include "sched/wait_slot.hpp"

#include <boost/asio/steady_timer.hpp>
#if !defined(_WIN32)
#include <boost/asio/posix/stream_descriptor.hpp>
#endif

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lasio {

/// What a child's standard stream 0, 1 or 2 is connected to.
enum class stdio_mode : unsigned char { inherit, null, pipe, to_stdout };

struct spawn_request {
    std::vector<std::string> argv;           // argv[0] is looked up in PATH unless it has a '/'
    std::optional<std::vector<std::string>> env; // "NAME=value" each; none: the parent's
    std::optional<std::string> cwd;
    stdio_mode stdio[3] = {stdio_mode::inherit, stdio_mode::inherit, stdio_mode::inherit};
};

/// A child just started: its pid, a pidfd (-1 where the kernel has none), and the parent's end
/// of each piped stream (-1 for the others). Every descriptor is close-on-exec.
struct spawned_child {
    int pid = -1;
    int pidfd = -1;
    int pipes[3] = {-1, -1, -1};
};

/**
 * Owns a child just started until something takes it (release): should nobody (the runtime
 * closed, the light thread that asked was killed), the child is killed and reaped (blocking for
 * the moment SIGKILL takes) and its descriptors closed, by whichever thread drops the holder.
 */
class spawned_holder {
public:
    spawned_holder() = default;
    explicit spawned_holder(const spawned_child& c) : c_(c) {}
    spawned_holder(spawned_holder&& o) noexcept : c_(std::exchange(o.c_, spawned_child{})) {}
    spawned_holder& operator=(spawned_holder&&) = delete;
    spawned_holder(const spawned_holder&) = delete;
    ~spawned_holder();
    spawned_child release() { return std::exchange(c_, spawned_child{}); }

private:
    spawned_child c_;
};

/**
 * Starts req's program. Failures that stop the program from starting are ec (ENOENT: the
 * program does not exist, EACCES: it may not be run); nothing is left open then.
 */
spawned_child spawn_child(const spawn_request& req, error_code& ec);

/// How a child ended, as os.execute reports it.
struct exit_status {
    enum class how : unsigned char { running, exited, signaled, unknown } kind = how::running;
    int code = 0; // the exit code, or the signal's number
};

/**
 * A started child, owned by its Lua userdata and by its reaping wait until the child is reaped,
 * so an unreachable handle still reaps (no zombie) and asio.run() waits for the children it
 * started. Reaping watches a pidfd (Linux 5.3 and later) for the child's exit, then calls
 * waitpid for that pid alone: no waitpid(-1), no SIGCHLD handler, so other libraries' children
 * are theirs. Without pidfds (older kernels, other systems) it polls waitpid(pid, WNOHANG) on a
 * timer instead. lua_close kills a child still running (SIGKILL) and reaps it.
 */
class child_process final : public io_object, public std::enable_shared_from_this<child_process> {
public:
    child_process(runtime_ptr rt, int pid, int pidfd);
    /// A child being started off the loop (see spawn_worker): adopt() gives it its pid.
    explicit child_process(runtime_ptr rt) : io_object(std::move(rt)), pid_(-1) {}
    ~child_process() override;

    void adopt(int pid, int pidfd);
    /**
     * While the child is being started: th waits for it, and handle (the process's userdata)
     * is anchored, to be what th's call returns. Counts as work (stats().pending) until the
     * start's result reaches the loop, which ends it with end_start.
     */
    void begin_start(light_thread& th, registry_ref handle);
    /// The start's result reached the loop: the waiter (claimed) and the handle, if any left.
    claimed_waiter end_start(registry_ref& handle);

    void start_reaping();
    int pid() const { return pid_; }
    const exit_status& status() const { return status_; }
    bool waiting() const { return waiter_.th != nullptr; }
    /// Parks th until the child is reaped; returns lua_yield's value.
    int wait(lua_State* L, light_thread& th, double timeout);
    /// Sends signo unless the child was reaped already (its pid may be another process's by now).
    error_code kill(int signo);
    /// Forgets the waiter (it gets nil, "closed"); the child is still reaped when it exits.
    void close();
    bool closed() const { return closed_; }

    int cancel_wait(light_thread& th, lua_State* co) override;
    void release_io() override;
    /// _close_all: the child is killed, and reaped as usual.
    void close_from_runtime() override;

private:
    void on_ready(const error_code& ec);
    /// waitpid(pid, WNOHANG): true once the status is known.
    bool try_reap();

    int pid_;
    exit_status status_;
    wait_slot waiter_;
    registry_ref handle_; // while starting
    bool closed_ = false;
#if !defined(_WIN32)
    std::optional<net::posix::stream_descriptor> pidfd_; // owns the pidfd
#endif
    std::optional<net::steady_timer> poll_timer_;        // without a pidfd
};

/// Pushes what p:wait returns: true|false, "exit"|"signal", code (nil, err when unknown).
int push_exit_status(lua_State* L, const exit_status& st);

/// For the specs: children started from now on are reaped as on kernels without pidfd_open
/// (before Linux 5.3), by polling waitpid, so that path runs on this kernel too. Process-wide.
void reap_without_pidfd(bool on);

} // namespace lasio
