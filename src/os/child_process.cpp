// SPDX-License-Identifier: MIT
// Child processes: posix_spawn with pipes over socket pairs, reaping by pidfd (or polling), kill.
#include "os/child_process.hpp"
#include "os/os_config.hpp"

#if defined(LASIO_HAS_DAEMON)
#include "sched/pending.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace lasio {

namespace {

/// Without a pidfd, how often waitpid(pid, WNOHANG) looks whether the child is gone.
constexpr auto reap_poll_interval = std::chrono::milliseconds(20);

std::atomic<bool> pidfd_refused{false};

int open_pidfd(int pid) {
    if (pidfd_refused.load(std::memory_order_relaxed)) return -1;
#if defined(SYS_pidfd_open)
    // Close-on-exec by default; ENOSYS before Linux 5.3 (and under some sandboxes): poll then.
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
    return -1;
#endif
}

void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
}

/**
 * The child's end of a pipe must not be 0, 1 or 2 itself (possible when the parent runs with a
 * standard stream closed): dup2 onto itself would keep its close-on-exec flag, and it could
 * also be overwritten by the dup2 of another stream before its own.
 */
int above_stdio(int fd) {
    if (fd > 2) return fd;
    int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    ::close(fd);
    return moved;
}

/// Everything posix_spawn needs, freed whatever way spawn_child leaves.
struct spawn_setup {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    bool has_actions = false;
    bool has_attr = false;
    int child_ends[3] = {-1, -1, -1};
    int parent_ends[3] = {-1, -1, -1};

    ~spawn_setup() {
        if (has_actions) posix_spawn_file_actions_destroy(&actions);
        if (has_attr) posix_spawnattr_destroy(&attr);
        for (int& fd : child_ends) close_fd(fd);
        for (int& fd : parent_ends) close_fd(fd);
    }
};

error_code errno_code(int e) { return error_code(e, boost::system::system_category()); }

} // namespace

spawned_child spawn_child(const spawn_request& req, error_code& ec) {
    spawned_child out;
    if (req.cwd) {
        // posix_spawn would report a missing directory as ENOENT, which reads as a missing program.
        struct stat st;
        if (::stat(req.cwd->c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
            ec = net::error::not_found; // the binding says "invalid cwd"
            return out;
        }
    }
    spawn_setup s;
    for (int i = 0; i < 3; ++i) {
        if (req.stdio[i] != stdio_mode::pipe) continue;
        // A socket pair rather than a pipe: the parent's end is then a connection like any other
        // (read, write, shutdown, timeouts), and the child sees an ordinary readable/writable fd.
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
            ec = errno_code(errno);
            return out;
        }
        s.parent_ends[i] = sv[0];
        s.child_ends[i] = above_stdio(sv[1]);
        if (s.child_ends[i] < 0) {
            ec = errno_code(errno);
            return out;
        }
        // One direction each: the parent end of stdin only sends, the others only receive.
        ::shutdown(sv[0], i == 0 ? SHUT_RD : SHUT_WR);
    }
    int rc = posix_spawn_file_actions_init(&s.actions);
    if (rc == 0) s.has_actions = true;
    if (rc == 0) rc = posix_spawnattr_init(&s.attr);
    if (rc == 0) s.has_attr = true;
    for (int i = 0; i < 3 && rc == 0; ++i) {
        switch (req.stdio[i]) {
        case stdio_mode::pipe:
            rc = posix_spawn_file_actions_adddup2(&s.actions, s.child_ends[i], i);
            break;
        case stdio_mode::null:
            rc = posix_spawn_file_actions_addopen(&s.actions, i, "/dev/null", i == 0 ? O_RDONLY : O_WRONLY, 0);
            break;
        case stdio_mode::to_stdout:
            rc = posix_spawn_file_actions_adddup2(&s.actions, 1, i);
            break;
        case stdio_mode::inherit:
            break;
        }
    }
    if (rc == 0 && req.cwd) rc = posix_spawn_file_actions_addchdir_np(&s.actions, req.cwd->c_str());
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    // The child gets 0, 1 and 2 and nothing else, whoever opened a descriptor without
    // close-on-exec (ours all have it; a C library's may not).
    if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&s.actions, 3);
#endif
    // The child starts with no signal blocked and every signal at its default action: what the
    // parent ignores (SIGPIPE, often) or handles must not carry over into a program that expects
    // the defaults.
    sigset_t mask, defaults;
    sigemptyset(&mask);
    sigfillset(&defaults);
    sigdelset(&defaults, SIGKILL);
    sigdelset(&defaults, SIGSTOP);
    if (rc == 0) rc = posix_spawnattr_setsigmask(&s.attr, &mask);
    if (rc == 0) rc = posix_spawnattr_setsigdefault(&s.attr, &defaults);
    if (rc == 0) rc = posix_spawnattr_setflags(&s.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (rc != 0) {
        ec = errno_code(rc);
        return out;
    }
    std::vector<char*> argv;
    argv.reserve(req.argv.size() + 1);
    for (const auto& a : req.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    if (req.env) {
        envp.reserve(req.env->size() + 1);
        for (const auto& e : *req.env) envp.push_back(const_cast<char*>(e.c_str()));
        envp.push_back(nullptr);
    }
    pid_t pid = -1;
    // glibc reports a failed exec (ENOENT, EACCES, ENOEXEC) as posix_spawnp's own result.
    rc = posix_spawnp(&pid, argv[0], &s.actions, &s.attr, argv.data(), req.env ? envp.data() : environ);
    if (rc != 0) {
        ec = errno_code(rc);
        return out;
    }
    out.pid = pid;
    out.pidfd = open_pidfd(pid);
    for (int i = 0; i < 3; ++i) out.pipes[i] = std::exchange(s.parent_ends[i], -1);
    return out;
}

void reap_without_pidfd(bool on) { pidfd_refused.store(on, std::memory_order_relaxed); }

int push_exit_status(lua_State* L, const exit_status& st) {
    switch (st.kind) {
    case exit_status::how::exited:
        lua_pushboolean(L, st.code == 0);
        lua_pushliteral(L, "exit");
        break;
    case exit_status::how::signaled:
        lua_pushboolean(L, 0);
        lua_pushliteral(L, "signal");
        break;
    default:
        // Somebody else reaped it (a waitpid(-1) elsewhere, or SIGCHLD ignored): no status.
        return push_fail(L, err::reaped_elsewhere);
    }
    lua_pushinteger(L, st.code);
    return 3;
}

spawned_holder::~spawned_holder() {
    if (c_.pid > 0) {
        ::kill(c_.pid, SIGKILL); // not reaped yet: the pid is still this child's
        int st;
        while (::waitpid(c_.pid, &st, 0) < 0 && errno == EINTR) {
        }
    }
    close_fd(c_.pidfd);
    for (int& fd : c_.pipes) close_fd(fd);
}

child_process::child_process(runtime_ptr rt, int pid, int pidfd) : io_object(std::move(rt)), pid_(-1) {
    adopt(pid, pidfd);
}

void child_process::adopt(int pid, int pidfd) {
    pid_ = pid;
    if (pidfd < 0) return;
    error_code ec;
    pidfd_.emplace(rt_->io());
    pidfd_->assign(pidfd, ec);
    if (ec) { // reap by polling instead
        pidfd_.reset();
        ::close(pidfd);
    }
}

child_process::~child_process() {
    // Only a reaped child's object dies while the runtime lives (the reaping wait holds it);
    // teardown reaped the rest in release_io.
}

void child_process::begin_start(light_thread& th, registry_ref handle) {
    handle_ = std::move(handle);
    waiter_.begin(*rt_, th, this, -1);
    ++rt_->stats().pending;
}

claimed_waiter child_process::end_start(registry_ref& handle) {
    --rt_->stats().pending;
    handle = std::move(handle_);
    return waiter_.take(*rt_);
}

void child_process::start_reaping() {
    if (status_.kind != exit_status::how::running || pid_ <= 0) return;
    auto handler = counted(*rt_, [self = shared_from_this()](const error_code& ec) { self->on_ready(ec); });
    if (pidfd_) {
        pidfd_->async_wait(net::posix::descriptor_base::wait_read, std::move(handler));
    } else {
        if (!poll_timer_) poll_timer_.emplace(rt_->io());
        poll_timer_->expires_after(reap_poll_interval);
        poll_timer_->async_wait(std::move(handler));
    }
}

bool child_process::try_reap() {
    if (status_.kind != exit_status::how::running) return true;
    int st = 0;
    pid_t r;
    do r = ::waitpid(pid_, &st, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0) return false;
    if (r < 0) {
        status_.kind = exit_status::how::unknown;
    } else if (WIFEXITED(st)) {
        status_.kind = exit_status::how::exited;
        status_.code = WEXITSTATUS(st);
    } else if (WIFSIGNALED(st)) {
        status_.kind = exit_status::how::signaled;
        status_.code = WTERMSIG(st);
    } else {
        return false; // stopped or continued: not an end
    }
    return true;
}

void child_process::on_ready(const error_code& ec) {
    if (rt_->closing()) return; // release_io reaps
    if (!try_reap()) {
        start_reaping();
        return;
    }
    error_code ignored;
    if (pidfd_) pidfd_->close(ignored); // the pid is free for reuse now; so is the pidfd
    claimed_waiter w = waiter_.take(*rt_);
    if (w.co == nullptr) return;
    push_exit_status(w.co, status_);
    rt_->resume_now(*w.th);
}

int child_process::wait(lua_State* L, light_thread& th, double timeout) {
    int suspended = rt_->yield_holding(L, 1);
    waiter_.begin(*rt_, th, this, timeout);
    return suspended;
}

error_code child_process::kill(int signo) {
    if (status_.kind != exit_status::how::running || pid_ <= 0) return net::error::not_found;
    // A pidfd names this child even should it have died and its pid been reused meanwhile.
#if defined(SYS_pidfd_send_signal)
    if (pidfd_ && pidfd_->is_open()) {
        if (::syscall(SYS_pidfd_send_signal, pidfd_->native_handle(), signo, nullptr, 0) == 0) return {};
        if (errno != ENOSYS) return errno == ESRCH ? net::error::not_found : errno_code(errno);
    }
#endif
    if (::kill(pid_, signo) == 0) return {};
    return errno == ESRCH ? net::error::not_found : errno_code(errno);
}

int child_process::cancel_wait(light_thread& th, lua_State* co) {
    if (waiter_.th.get() == &th) waiter_ = {};
    return co != nullptr ? push_fail(co, err::timeout) : 0;
}

void child_process::close() {
    if (closed_) return;
    closed_ = true;
    end_wait_closed(*rt_, waiter_);
}

void child_process::close_from_runtime() {
    kill(SIGKILL);
    close();
}

void child_process::release_io() {
    closed_ = true;
    waiter_ = {};
    handle_.reset(); // lua_close: only forgotten
    if (status_.kind == exit_status::how::running && pid_ > 0) {
        // lua_close: the handle is going, and nobody would reap the child after us.
        kill(SIGKILL);
        int st;
        while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
        }
        status_.kind = exit_status::how::unknown;
    }
    pidfd_.reset();
    poll_timer_.reset();
}

} // namespace lasio
#endif
