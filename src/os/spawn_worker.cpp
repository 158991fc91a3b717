// SPDX-License-Identifier: MIT
// The spawner thread: a queue of jobs, one thread that runs them, started on first use.
#include "os/spawn_worker.hpp"
#include "os/os_config.hpp"

#if defined(LASIO_HAS_DAEMON)
#include <condition_variable>
#include <csignal>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>

namespace lasio {

namespace {

struct spawner {
    std::mutex m;
    std::condition_variable cv;
    std::deque<unique_function<void()>> jobs;
    bool started = false;
    bool failed = false; // the thread could not be started: jobs run inline

    void loop() {
        std::unique_lock<std::mutex> lock(m);
        for (;;) {
            cv.wait(lock, [this] { return !jobs.empty(); });
            unique_function<void()> job = std::move(jobs.front());
            jobs.pop_front();
            lock.unlock();
            job();
            job = unique_function<void()>(); // its captures go outside the lock
            lock.lock();
        }
    }
};

/// Never destroyed: the thread may be waiting on it while the process exits.
spawner& the_spawner() {
    static spawner* s = new spawner;
    return *s;
}

} // namespace

void run_on_spawner(unique_function<void()> job) {
    spawner& s = the_spawner();
    {
        std::lock_guard<std::mutex> lock(s.m);
        if (!s.started) {
            s.started = true;
            // The thread inherits the signal mask it starts with: all blocked.
            sigset_t all, old;
            sigfillset(&all);
            pthread_sigmask(SIG_SETMASK, &all, &old);
            try {
                std::thread([&s] { s.loop(); }).detach();
            } catch (const std::system_error&) {
                s.failed = true;
            }
            pthread_sigmask(SIG_SETMASK, &old, nullptr);
        }
        if (!s.failed) {
            s.jobs.push_back(std::move(job));
            s.cv.notify_one();
            return;
        }
    }
    job();
}

} // namespace lasio
#endif
