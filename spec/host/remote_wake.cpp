// SPDX-License-Identifier: MIT
// Test host for waking a runtime from other OS threads, built with ThreadSanitizer: a light thread
// parked on a remote event that another thread signals many times, run() and run_for() woken
// from other threads, tasks posted from other threads, and lua_close while threads keep posting.
// Usage: remote_wake; prints one line per check and exits 0 when all of them held.
#include "base/lua_bridge.hpp"
#include "sched/remote_event.hpp"
#include "sched/runtime.hpp"

#include <lua.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace lasio;
using clock_type = std::chrono::steady_clock;

namespace {

int failures = 0;

void check(bool ok, const char* what) {
    std::printf("%s: %s\n", ok ? "ok" : "FAILED", what);
    if (!ok) ++failures;
}

double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

/// Ends the process if a test is still running after its time: a hang fails, never blocks.
class watchdog {
public:
    watchdog(const char* name, int seconds)
        : thread_([this, name, seconds] {
              std::unique_lock<std::mutex> lock(mutex_);
              if (!cv_.wait_for(lock, std::chrono::seconds(seconds), [this] { return done_; })) {
                  std::fprintf(stderr, "FAILED: %s still running after %d s\n", name, seconds);
                  std::_Exit(3);
              }
          }) {}
    ~watchdog() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            done_ = true;
        }
        cv_.notify_one();
        thread_.join();
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool done_ = false;
    std::thread thread_; // last: starts once the members it uses exist
};

// --- the Lua side of the test: spawn(fn, ...), event() -> ev, ev:wait([timeout]), ev:close() ----

constexpr char event_metatable[] = "test.remote_event";
using event_ptr = std::shared_ptr<remote_event>;

/// The handle of the last event made, for the test's other threads.
remote_signal last_signal;

int l_spawn(lua_State* L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    runtime::from(L).spawn(L, lua_gettop(L) - 1);
    return 1;
}

int l_event(lua_State* L) {
    auto& rt = runtime::from(L);
    auto* ev = new_object<event_ptr>(L, event_metatable, std::make_shared<remote_event>(rt.shared_from_this()));
    last_signal = (*ev)->signal_handle();
    return 1;
}

int l_event_wait(lua_State* L) {
    event_ptr& ev = check_object<event_ptr>(L, 1, event_metatable);
    double timeout = luaL_optnumber(L, 2, -1);
    auto& rt = runtime::from(L);
    return ev->wait(L, 1, rt.current(L, "wait"), timeout);
}

int l_event_close(lua_State* L) {
    check_object<event_ptr>(L, 1, event_metatable)->close();
    return 0;
}

int l_event_gc(lua_State* L) {
    if (finalizable_object<event_ptr>(L, 1, event_metatable) != nullptr) destroy_object<event_ptr>(L, 1);
    return 0;
}

/// A state with the runtime open and the functions above as globals; rt is set to its runtime.
lua_State* open_state(runtime*& runtime_out) {
    lua_State* L = luaL_newstate();
    luaL_openlibs(L);
    runtime& rt = open_runtime(L);
    runtime_out = &rt;
    luaL_newmetatable(L, event_metatable);
    key_metatable(L, event_metatable);
    const luaL_Reg methods[] = {{"wait", l_event_wait}, {"close", l_event_close}, {nullptr, nullptr}};
    lua_newtable(L);
    rt.push_upvalue(L);
    luaL_setfuncs(L, methods, 1);
    lua_setfield(L, -2, "__index");
    rt.push_upvalue(L);
    lua_pushcclosure(L, l_event_gc, 1);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    const luaL_Reg globals[] = {{"spawn", l_spawn}, {"event", l_event}, {nullptr, nullptr}};
    lua_pushvalue(L, LUA_GLOBALSINDEX);
    rt.push_upvalue(L);
    luaL_setfuncs(L, globals, 1);
    lua_pop(L, 1);
    return L;
}

/// Runs a chunk; false (and the error printed) if it raised.
bool run_chunk(lua_State* L, const char* chunk) {
    if (luaL_dostring(L, chunk) == 0) return true;
    std::fprintf(stderr, "lua: %s\n", lua_tostring(L, -1));
    lua_pop(L, 1);
    return false;
}

/// An object that records whether the task holding it ran, and counts those alive.
std::atomic<long> probes_alive{0};
std::atomic<long> probes_dropped{0};
struct probe {
    bool ran = false;
    probe() { ++probes_alive; }
    ~probe() {
        if (!ran) ++probes_dropped;
        --probes_alive;
    }
};

// --- the checks ------------------------------------------------------------------------------

/// A light thread parks on an event that another OS thread signals many times: every value
/// comes once, in order, made on the loop's thread; run() returns when the thread is done.
void signals_wake_a_parked_thread() {
    constexpr int count = 20000;
    watchdog dog("signals", 120);
    runtime* rtp;
    lua_State* L = open_state(rtp);
    runtime& rt = *rtp;
    bool ok = run_chunk(L, R"(
        local ev = event()
        got, errors = {}, {}
        spawn(function()
            for i = 1, 20000 do
                local v, err = ev:wait(30)
                if v == nil then errors[#errors + 1] = err; break end
                got[i] = v
            end
        end))");
    auto loop_id = std::this_thread::get_id();
    std::atomic<long> off_thread{0};
    remote_signal sig = last_signal;
    std::thread signaller([&] {
        for (int i = 1; i <= count; ++i) {
            // Bursts (kept for the next waits) and single signals (to a parked thread).
            if (i % 1000 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
            bool sent = sig.signal([i, loop_id, &off_thread](lua_State* co) {
                if (std::this_thread::get_id() != loop_id) ++off_thread;
                lua_pushinteger(co, i);
            });
            if (!sent) {
                std::fprintf(stderr, "signal %d refused\n", i);
                return;
            }
        }
    });
    rt.run();
    signaller.join();
    lua_getglobal(L, "got");
    int in_order = 0;
    for (int i = 1; i <= count; ++i) {
        lua_rawgeti(L, -1, i);
        if (lua_tointeger(L, -1) == i) ++in_order;
        lua_pop(L, 1);
    }
    int n = static_cast<int>(lua_objlen(L, -1));
    lua_pop(L, 1);
    check(ok, "signals: the script ran");
    check(in_order == count && n == count, "signals: every value arrived once, in order");
    check(off_thread == 0, "signals: deliveries ran on the loop's thread");
    check(!rt.has_work() && rt.stats().threads == 0, "signals: run() returned once the thread was done");
    lua_close(L);
}

/// run_for and run, blocked waiting for a parked thread, return early when another thread
/// wakes the loop; a wake before the wait ends the next wait at once.
void wake_ends_a_blocked_wait() {
    watchdog dog("wake", 120);
    runtime* rtp;
    lua_State* L = open_state(rtp);
    runtime& rt = *rtp;
    bool ok = run_chunk(L, R"(
        ev = event()
        spawn(function() result = { ev:wait(60) } end))");
    std::shared_ptr<loop_mailbox> mailbox = rt.mailbox();
    rt.run_for(0); // the thread parks
    check(ok && rt.has_work(), "wake: a parked thread is work");

    auto wake_later = [&] {
        return std::thread([mailbox] {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            mailbox->wake();
        });
    };
    // No clock is read: run_for's own timeout is longer than the watchdog's, and run() has a
    // parked thread to wait for, so either returns only when woken (or the watchdog fails it).
    std::thread waker = wake_later();
    rt.run_for(3600);
    waker.join();
    check(rt.work_may_remain(), "wake: a blocked run_for(3600) returns when woken");

    waker = wake_later();
    rt.run();
    waker.join();
    check(rt.has_work(), "wake: a blocked run() returns when woken");

    std::thread([mailbox] { mailbox->wake(); }).join();
    rt.run_for(3600); // returns only because of the wake (else the watchdog fails it)
    check(rt.work_may_remain(), "wake: a wake before the wait ends the next wait at once");
    auto start = clock_type::now();
    rt.run_for(0.05);
    check(seconds_since(start) >= 0.04, "wake: a wake ends one wait only");

    // Many threads waking at once while the loop keeps waiting: bounded, and nothing lost
    // but the wake-ups themselves (a wake-up only ends a wait).
    std::vector<std::thread> wakers;
    std::atomic<bool> stop{false};
    for (int t = 0; t < 3; ++t)
        wakers.emplace_back([&] {
            for (int i = 0; i < 2000 && !stop; ++i) mailbox->wake();
        });
    int waits = 0;
    for (start = clock_type::now(); waits < 200 && seconds_since(start) < 20; ++waits) rt.run_for(0.01);
    stop = true;
    for (auto& t : wakers) t.join();
    check(rt.has_work(), "wake: waking many times from many threads leaves the parked thread parked");

    ok = run_chunk(L, "ev:close()");
    rt.run();
    ok = ok && run_chunk(L, "assert(result[1] == nil and result[2] == 'closed', tostring(result[2]))");
    check(ok && !rt.has_work(), "wake: closing the event ends the wait, and then run()");
    lua_close(L);
}

/// Tasks posted from another thread run on the loop's thread in the order posted, and run()
/// does not return while they wait to run.
void posted_tasks_run_in_order() {
    constexpr int count = 50000;
    watchdog dog("post", 120);
    runtime* rtp;
    lua_State* L = open_state(rtp);
    runtime& rt = *rtp;
    bool ok = run_chunk(L, R"(
        ev = event()
        spawn(function() done = ev:wait(60) end))");
    rt.run_for(0);
    auto loop_id = std::this_thread::get_id();
    std::shared_ptr<loop_mailbox> mailbox = rt.mailbox();
    remote_signal sig = last_signal;
    int ran = 0, out_of_order = 0, off_thread = 0; // the loop's thread only
    std::thread poster([&] {
        for (int i = 1; i <= count; ++i)
            mailbox->post([i, &ran, &out_of_order, &off_thread, loop_id] {
                if (std::this_thread::get_id() != loop_id) ++off_thread;
                if (++ran != i) ++out_of_order;
            });
        // Behind every task: the parked thread ends, and with it the work.
        sig.signal([](lua_State* co) { lua_pushliteral(co, "last"); });
    });
    rt.run();
    poster.join();
    lua_getglobal(L, "done");
    bool last = lua_isstring(L, -1) && std::string(lua_tostring(L, -1)) == "last";
    lua_pop(L, 1);
    check(ok && ran == count && out_of_order == 0 && off_thread == 0,
          "post: every task ran once, in order, on the loop's thread");
    check(last && !rt.has_work(), "post: run() ran them all before the thread's last signal ended it");

    // poll runs one batch: threads that keep tasks coming cannot keep it from returning. The
    // tasks take a while and the posters keep 200 of them queued, so the queue never runs dry.
    // Bounded by a count only: should poll not return while they post, the watchdog fails it.
    std::atomic<bool> stop{false}, flood_ran_out{false};
    std::atomic<long> polled_tasks{0}, flood_posted{0};
    std::vector<std::thread> flood;
    for (int t = 0; t < 3; ++t)
        flood.emplace_back([&, t] {
            long i = 0;
            for (; i < 50000000 && !stop; ++i) {
                if (t == 2) {
                    mailbox->wake();
                } else if (flood_posted - polled_tasks < 200) {
                    ++flood_posted;
                    mailbox->post([&polled_tasks] {
                        std::this_thread::sleep_for(std::chrono::microseconds(20));
                        ++polled_tasks;
                    });
                } else {
                    std::this_thread::yield();
                }
            }
            if (i == 50000000) flood_ran_out = true;
        });
    for (int i = 0; i < 200; ++i) rt.poll();
    bool posting_all_along = !flood_ran_out;
    stop = true;
    for (auto& t : flood) t.join();
    check(posting_all_along && polled_tasks > 0, "post: poll returns while other threads keep posting");
    lua_close(L);
}

/// lua_close while other threads keep posting, signalling and waking: calls after the close are
/// refused, every task accepted ran or was destroyed unrun, and nothing stays referenced.
void close_while_posting() {
    watchdog dog("close", 120);
    probes_alive = 0;
    probes_dropped = 0;
    runtime* rtp;
    lua_State* L = open_state(rtp);
    runtime& rt = *rtp;
    bool ok = run_chunk(L, R"(
        ev = event()
        spawn(function() while ev:wait(60) do end end))");
    std::shared_ptr<loop_mailbox> mailbox = rt.mailbox();
    remote_signal sig = last_signal;
    last_signal = remote_signal();
    // Tasks (posts and signals, each holding a probe) and wake-ups, accepted and refused.
    std::atomic<long> accepted{0}, refused{0}, ran{0}, wakes{0}, wakes_refused{0};
    auto keep_posting = [&](int kind) {
        auto start = clock_type::now();
        long mine_refused = 0;
        // Until this thread was refused a while after the close (bounded: 30 s, 50 million
        // calls), never more than 100,000 tasks ahead of the loop.
        for (long i = 0; i < 50000000 && mine_refused < 500 && seconds_since(start) < 30; ++i) {
            if (accepted - ran > 100000) std::this_thread::sleep_for(std::chrono::microseconds(100));
            bool sent = false;
            if (kind == 0) {
                sent = mailbox->post([p = std::make_unique<probe>(), &ran] {
                    p->ran = true;
                    ++ran;
                });
            } else if (kind == 1) {
                sent = sig.signal([p = std::make_unique<probe>(), &ran](lua_State* co) {
                    p->ran = true;
                    ++ran;
                    lua_pushboolean(co, 1);
                });
            } else {
                sent = mailbox->wake();
            }
            std::atomic<long>& counter = kind == 2 ? (sent ? wakes : wakes_refused) : (sent ? accepted : refused);
            ++counter;
            if (!sent) ++mine_refused;
        }
    };
    std::thread poster(keep_posting, 0), signaller(keep_posting, 1), waker(keep_posting, 2);
    auto start = clock_type::now();
    // Some turns of the loop while they post; then, the loop stopped, tasks pile up unrun.
    while (ran < 20000 && seconds_since(start) < 30) rt.run_for(0.001);
    long ran_before = ran;
    while (accepted - ran < 1000 && seconds_since(start) < 30) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    lua_close(L);
    poster.join();
    signaller.join();
    waker.join();
    std::printf("close: %ld tasks accepted (%ld ran), %ld refused, %ld destroyed unrun; %ld wake-ups, %ld refused\n",
                accepted.load(), ran.load(), refused.load(), probes_dropped.load(), wakes.load(), wakes_refused.load());
    check(ok && ran_before >= 20000 && wakes > 0, "close: tasks ran while the state was open");
    check(refused > 0 && wakes_refused > 0 && mailbox->closed(), "close: calls after the close are refused");
    check(!mailbox->post([] {}) && !mailbox->wake() && !sig.signal([](lua_State*) {}),
          "close: post, wake and signal return false once closed");
    check(probes_alive == 0 && ran + probes_dropped == accepted + refused,
          "close: every task ran or was destroyed unrun, exactly once; none leaked");
    check(probes_dropped > refused, "close: tasks accepted but queued at the close were destroyed unrun");
    sig = remote_signal();
    check(mailbox.use_count() == 1, "close: nothing else holds the mailbox after the close");
}

} // namespace

int main() {
    signals_wake_a_parked_thread();
    wake_ends_a_blocked_wait();
    posted_tasks_run_in_order();
    close_while_posting();
    std::printf("%s\n", failures == 0 ? "remote_wake: all checks held" : "remote_wake: FAILED");
    return failures == 0 ? 0 : 1;
}
