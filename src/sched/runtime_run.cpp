// SPDX-License-Identifier: MIT
// The loop's entry points (poll, run, run_for, wake-ups): the io_context runs for as long as the
// runtime's own count of work says, and is never stopped or restarted as a whole.
#include "sched/runtime.hpp"

#include <algorithm>
#include <thread>

namespace lasio {

namespace {

/// Timeouts beyond this are treated as this long, so the clock arithmetic cannot overflow.
constexpr double max_timeout_seconds = 1e9;

/// Marks the loop as running for as long as one of the entry points below is on the stack.
struct loop_guard {
    bool& flag;
    explicit loop_guard(bool& f) : flag(f) { flag = true; }
    ~loop_guard() { flag = false; }
};

/// Sets a value for one scope; the previous one comes back however the scope is left.
template <class T>
struct scoped_set {
    T& var;
    T old;
    scoped_set(T& v, T value) : var(v), old(v) { var = value; }
    ~scoped_set() { var = old; }
};

/// A hint to the core that this is a spin-wait (lets a sibling hyper-thread run, saves power).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

/// What owe_collector must add up to before the loop pays it (LUA_GCSTEP counts in KiB).
constexpr std::size_t collector_step_bytes = 8 * 1024;
/**
 * Owed bytes below which an idle loop never collects: a full collection walks the whole heap,
 * worth it only for a burst of garbage (a few hundred closed connections), and the owed count
 * must also reach a quarter of the Lua heap.
 */
constexpr std::size_t idle_collection_floor = 256 * 1024;

int l_full_collection(lua_State* L) {
    lua_gc(L, LUA_GCCOLLECT, 0);
    return 0;
}

int l_collector_step(lua_State* L) {
    lua_gc(L, LUA_GCSTEP, static_cast<int>(*static_cast<std::size_t*>(lua_touserdata(L, 1))));
    return 0;
}

} // namespace

void runtime::pay_collector() {
    std::size_t kib = gc_debt_ >> 10;
    gc_debt_ &= 1023;
    // A script that stopped the collector keeps it stopped: a step would restart it.
    if (closing_ || lua_gc(aux_, LUA_GCISRUNNING, 0) == 0) return;
    // A finalizer run by the step may raise, and LuaJIT passes that on: catch it here, where
    // nothing of the runtime's is half done, and report it as an uncaught error.
    if (lua_cpcall(aux_, l_collector_step, &kib) != 0) report_error();
}

bool runtime::collect_while_idle() {
    if (idle_debt_ < idle_collection_floor || closing_) return false;
    std::size_t heap = static_cast<std::size_t>(lua_gc(aux_, LUA_GCCOUNT, 0)) * 1024;
    if (idle_debt_ < heap / 4) return false;
    idle_debt_ = 0;
    gc_debt_ = 0;
    if (lua_gc(aux_, LUA_GCISRUNNING, 0) == 0) return false;
    if (lua_cpcall(aux_, l_full_collection, nullptr) != 0) report_error();
    return true;
}

bool runtime::has_work() const {
    return stats_.pending != 0 || !ready_.empty() || deadlines_->size() != 0 || release_posted_ ||
           remote_waits_ != 0 || mailbox_->busy();
}

double runtime::next_deadline() const {
    if (!ready_.empty() || drain_posted_ || release_posted_ || mailbox_->busy()) return 0;
    return deadlines_->seconds_to_next();
}

void runtime::wake_up() { wake_requested_ = true; }

std::size_t runtime::poll_ready() {
    // io_context::poll also runs what its handlers post, and each drain of a thread that keeps
    // yielding posts the next: poll would never return. One batch of ready threads per poll
    // (and of tasks from other OS threads, see loop_mailbox::deliver).
    std::size_t n;
    {
        scoped_set<loop_mode> mode(mode_, loop_mode::poll);
        n = io_->poll();
    }
    if (gc_debt_ >= collector_step_bytes) pay_collector();
    if (drain_deferred_) {
        drain_deferred_ = false;
        post_drain();
    }
    if (mailbox_held_) {
        mailbox_held_ = false;
        mailbox_->repost_after_poll();
    }
    return n;
}

std::size_t runtime::poll() {
    loop_guard guard(in_loop_);
    return poll_ready();
}

void runtime::run_batches(const steady_clock::time_point* until) {
    // The count is looked at between batches, not after every handler: io_context::run_one per
    // handler costs a thread context, its handler-memory cache and a mutex round trip each
    // time (6% of an echo round trip); a poll runs a whole batch for one of them. A stop() or a
    // wake-up is always called from a handler of the batch running (or the wait's one handler).
    for (;;) {
        std::size_t n = poll_ready();
        if (should_leave() || (until != nullptr && steady_clock::now() >= *until)) return;
        if (n != 0 || collect_while_idle()) continue;
        if (remote_waits_ != 0 && spin_for_mailbox(until)) continue;
        // Nothing ready, work left: wait for one handler, whatever its kind. A work guard keeps
        // the io_context from running out of work (and stopping) meanwhile.
        scoped_set<loop_mode> mode(mode_, loop_mode::wait);
        if ((until != nullptr ? io_->run_one_until(*until) : io_->run_one()) == 0) return;
    }
}

bool runtime::spin_for_mailbox(const steady_clock::time_point* until) {
    // A light thread waits on another OS thread (a shared channel, a join, an offload), and
    // nothing else is ready. The answer usually comes within microseconds when the other thread
    // is busy on another core: watching the mailbox for a moment catches it without the two
    // system calls and the sleep-and-wake of a blocking wait, which cost a cross-state round
    // trip most of its time. The time spent adapts: it doubles after a spin that caught a task
    // and halves after one that did not, down to nothing (then a short probe every 32 waits),
    // so a loop whose answers come slowly, or a machine with more busy threads than cores (the
    // other thread is not running, and spinning only keeps it off the core), stops spinning.
    // Never on one core.
    static const bool several_cores = std::thread::hardware_concurrency() > 1;
    if (!several_cores) return false;
    constexpr std::int64_t max_spin_ns = 50000, probe_ns = 4000;
    std::int64_t budget = spin_budget_ns_;
    if (budget == 0) {
        if ((++spin_skips_ & 31) != 0) return false;
        budget = probe_ns;
    }
    auto stop_at = steady_clock::now() + std::chrono::nanoseconds(budget);
    if (until != nullptr && *until < stop_at) stop_at = *until;
    mailbox_->begin_spin();
    for (unsigned i = 1;; ++i) {
        if (mailbox_->busy()) {
            spin_budget_ns_ = std::min(max_spin_ns, budget * 2 + 1000);
            break;
        }
        cpu_relax();
        if ((i & 31) == 0 && steady_clock::now() >= stop_at) {
            spin_budget_ns_ = budget / 2 < 1000 ? 0 : budget / 2;
            break;
        }
    }
    // A post that came while spinning queued its task without a handler: run it here.
    if (!mailbox_->end_spin()) return mailbox_->busy();
    mailbox_->deliver();
    return true;
}

void runtime::run() {
    loop_guard guard(in_loop_);
    stop_requested_ = false; // a stop outside a run stops nothing
    run_batches(nullptr);
    wake_requested_ = false;
}

void runtime::run_for(double seconds) {
    loop_guard guard(in_loop_);
    stop_requested_ = false;
    // What is ready runs even with a timeout of 0 (or one that has passed on entry).
    if (seconds <= 0) {
        poll_ready();
    } else {
        auto until = steady_clock::now() + std::chrono::duration_cast<steady_clock::duration>(
                                               std::chrono::duration<double>(std::min(seconds, max_timeout_seconds)));
        run_batches(&until);
    }
    wake_requested_ = false;
}

} // namespace lasio
