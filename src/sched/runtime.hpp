// SPDX-License-Identifier: MIT
// One runtime per lua_State: the io_context, the light-thread scheduler, deadlines, live objects.
#pragma once

#include "sched/registry_ref.hpp"
#include "sched/anchor_table.hpp"
#include "sched/deadline_timer.hpp"
#include "sched/light_thread.hpp"
#include "sched/loop_mailbox.hpp"
#include "base/ring_queue.hpp"
#include "sched/thread_index.hpp"

#include <lua.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <unordered_map>
#include <string>
#include <utility>
#include <vector>

namespace lasio {

namespace net = boost::asio;

class runtime;
using runtime_ptr = std::shared_ptr<runtime>;

/**
 * Base of every object that owns Asio I/O objects (sockets, acceptors, resolvers).
 * The runtime keeps a list of them so that lua_close can release their file descriptors and
 * destroy their Asio objects before the io_context goes, whatever order Lua finalizes in.
 *
 * Nearly every one is also what a light thread waits on, so io_object is the wait_target: one
 * table pointer per object instead of two (8 bytes of every connection). The few that nobody
 * waits on (a server, a TLS accept, the stdin pump) say so in their cancel_wait.
 */
class io_object : public wait_target {
public:
    explicit io_object(runtime_ptr rt);
    virtual ~io_object();
    io_object(const io_object&) = delete;
    io_object& operator=(const io_object&) = delete;

    /// Closes and destroys the Asio objects without touching Lua or resuming anyone.
    virtual void release_io() = 0;
    /// Closes as user code would (waiters get "closed"); used by asio._close_all().
    virtual void close_from_runtime() = 0;

    runtime& rt() const { return *rt_; }

protected:
    runtime_ptr rt_;

private:
    friend class runtime;
    io_object* prev_ = nullptr;
    io_object* next_ = nullptr;
};

/// Live counts reported by asio._stats().
struct runtime_stats {
    long threads = 0;
    long sockets = 0;
    long servers = 0;
    long pending = 0; // Asio operations in flight on behalf of Lua
};

/**
 * The runtime's Lua userdata, upvalue 1 of every C function of the module. Its __gc (at
 * lua_close) tears the runtime down and empties rt; the userdata's memory lasts until every
 * finalizer has run, so a finalizer that calls asio after that finds rt empty and gets an error
 * instead of a freed runtime.
 */
struct runtime_holder {
    runtime_ptr rt;
};

/**
 * What owe_collector is told, in bytes. An ended light thread leaves a coroutine of about 470
 * bytes (more with a grown stack), counted twice over. One that never waited on anything (its
 * wait token never moved: no wait, no kill; a plain yield does not count), such as an accept
 * handler in the seed's style, which spawns the connection's thread and returns, is counted
 * about eight times over: those end at the rate connections arrive, while the heap grows by the
 * threads they spawn, and at a lesser pace the Lua heap's peak holds up to a collector cycle's
 * worth of their coroutines. At 10,000 idle connections (bash
 * bench/conn_bytes.sh seed) that is 1,159-1,196 bytes per connection in 10 runs, against
 * 1,166-1,402 when counted twice. Threads that end without ever having had a record (short tasks
 * that never wait) are not counted at all. A closed connection leaves about 450 bytes of C++ (the
 * object and Asio's descriptor state), a finalized handle its userdata and those.
 */
constexpr std::size_t ended_thread_charge = 1024;
constexpr std::size_t ended_at_once_charge = 4096;
constexpr std::size_t closed_object_charge = 512;
constexpr std::size_t finalized_handle_charge = 512;

class runtime : public std::enable_shared_from_this<runtime> {
public:
    /// The runtime of the calling function; raises once lua_close has torn it down.
    static runtime& from(lua_State* L) {
        auto* holder = static_cast<runtime_holder*>(lua_touserdata(L, lua_upvalueindex(1)));
        if (holder->rt == nullptr) closed_error(L);
        return *holder->rt;
    }
    /// The runtime of L's module, or null when L has none or it was torn down (never raises).
    static runtime* of_state(lua_State* L);
    [[noreturn]] static void closed_error(lua_State* L);
    /// Pushes the runtime's userdata (for C functions' upvalue 1).
    void push_upvalue(lua_State* L);

    /// host_io: the host's io_context to run on instead of one of the runtime's own.
    explicit runtime(lua_State* L, net::io_context* host_io = nullptr);
    /**
     * Makes the runtime that L's module will open run on io, the host's (luaasio.hpp). Before
     * the module is opened; false when it already is. The host runs io on L's thread, and io
     * outlives lua_close(L): handlers of the module's left on it then find the runtime closed.
     */
    static bool use_host_io(lua_State* L, net::io_context& io);
    /// Whether the io_context is the host's: then the runtime never runs out of it by itself.
    bool shares_io() const { return !own_io_; }
    ~runtime();
    runtime(const runtime&) = delete;
    runtime& operator=(const runtime&) = delete;

    net::io_context& io() { return *io_; }
    bool closing() const { return closing_; }
    runtime_stats& stats() { return stats_; }
    std::size_t deadline_count() const { return deadlines_->size(); }
    /// A thread of our own for Lua work done from handlers (spawning, the error hook).
    lua_State* aux() const { return aux_; }
    /**
     * 64 KiB shared by all plain sockets and UDP for non-blocking reads, never held across a
     * yield; nullptr while taken. Copying out of it allocates, and a finalizer run by that
     * allocation may read another socket: it finds the buffer taken and reads elsewhere
     * instead of overwriting it.
     */
    char* take_scratch() { return scratch_taken_ ? nullptr : (scratch_taken_ = true, scratch_.get()); }
    void give_back_scratch() { scratch_taken_ = false; }
    static constexpr std::size_t scratch_size = 64 * 1024;

    // --- light threads -------------------------------------------------------------------
    /**
     * Starts fn(args...) from the top nargs+1 values of L, which it replaces by the new thread's
     * handle (its coroutine); the first resume is posted. anchors: an index, valid in L, of the
     * anchor table (push_anchors; a hot caller keeps it as an upvalue), or 0 to look it up.
     * The thread gets its light_thread record only when something needs one (see promote).
     */
    int spawn(lua_State* L, int nargs, int anchors = 0);
    /// spawn, for callers that need the record at once (to attach state to the thread).
    light_thread& spawn_with_record(lua_State* L, int nargs);
    /**
     * Spawning from Lua (asio.lua, through the FFI: no C API call at all), in two steps around
     * the caller storing the new coroutine (function and arguments on its stack) in the slot:
     * reserve_spawn_slot returns a slot (0: out of memory), commit_spawn_slot queues its first
     * resume (1; 0 when _close_all took the reservation back, -1 out of memory). Until
     * committed, the slot is nobody's thread and is handed out to nobody else: whatever runs
     * in between (a debug hook, even one that runs the loop) cannot mistake the slot's previous
     * coroutine for the new one, nor have the slot reused under the store. A reservation never
     * committed (the caller raised in between) is taken back by close_all or teardown.
     */
    int reserve_spawn_slot() noexcept;
    int commit_spawn_slot(int anchor) noexcept;
    /// Pushes the anchor table of live coroutines (for a spawning function's upvalue).
    void push_anchors(lua_State* L);
    /// The running light thread if L is it, else raises "<fn>: not called from a light thread".
    light_thread& current(lua_State* L, const char* fn);
    /// Whether a light thread is running (its coroutine, or one it resumed, is calling).
    bool in_light_thread() const { return running_co_ != nullptr; }
    /// The coroutine of the running light thread, or nullptr.
    lua_State* running_coroutine() const { return running_co_; }
    /// The live light thread whose coroutine is co, if any (given a record if it had none).
    light_thread* find(lua_State* co);

    /**
     * Marks th as waiting (on target, or on nothing for sleep/park/join) with an optional
     * timeout in seconds (< 0: none) and returns the token completions must present.
     * The caller calls lua_yield(L, 0) first and returns its value after this: lua_yield raises
     * where the coroutine cannot yield (inside a call from C), and must do so before any wait
     * is committed.
     */
    std::uint32_t begin_wait(light_thread& th, wait_kind kind, wait_target* target, double timeout);
    /**
     * Yields the running thread L for a wait on the object at idx (its userdata), keeping that
     * userdata on the suspended stack until the wait ends: lua_yield drops the call's own
     * arguments from what the collector sees, and they are often the object's only reference.
     * Raises where L cannot yield; call it before committing the wait, and return its value.
     */
    int yield_holding(lua_State* L, int idx) {
        lua_pushvalue(L, idx);
        return lua_yield(L, 1);
    }
    /// yield_holding, keeping a second value too (a write's string, whose bytes the wait sends).
    int yield_holding(lua_State* L, int idx, int idx2) {
        lua_pushvalue(L, idx);
        lua_pushvalue(L, idx2);
        return lua_yield(L, 2);
    }
    /**
     * Claims the end of th's wait for the completion holding token: returns the stack the
     * results go on, or nullptr when the wait already ended (a stale completion). Every claim
     * ends with resume_now or make_ready, which move the results onto th's own stack.
     *
     * The results do not go straight onto th's stack: pushing allocates, an allocation may run
     * finalizers, and a finalizer may kill th (or close what it waits on) before the results are
     * complete. th's stack is touched only when it is handed the finished results, with no
     * allocation in between; a thread killed meanwhile gets nothing and is never resumed.
     */
    lua_State* claim(light_thread& th, std::uint32_t token);
    /// Resumes a claimed thread now; only from an Asio handler, never from Lua or __gc.
    void resume_now(light_thread& th) {
        if (hand_over(th)) resume(th);
    }
    /// Queues a claimed thread to run with its results. Safe from anywhere.
    void make_ready(light_thread& th) {
        if (hand_over(th)) enqueue(th.anchor_);
    }
    /// Yields the running thread with the top nresults values as what its call returns, later.
    int bounce(lua_State* L, light_thread& th, int nresults);

    /// Whether a call may return at once without yielding (bounds one thread's monopoly).
    bool take_fast_path() { return fast_budget_ > 0 ? (--fast_budget_, true) : false; }
    /// Closes obj (as close() would) should th end by raising: an accept handler's connection.
    void close_on_error(light_thread& th, std::weak_ptr<io_object> obj) {
        th.closes_on_error_ = std::move(obj);
    }
    /// Registers joiner (now waiting with token) to be resumed with target's results.
    void add_joiner(light_thread& target, light_thread& joiner, std::uint32_t token);
    /// Ends th at its current wait; joiners get false, "killed". No-op when already dead.
    void kill(light_thread& th);

    // --- loop ----------------------------------------------------------------------------
    // The loop's entry points (asio.run, asio.poll, asio.run_once; a host's calls) refuse
    // nothing: callers check in_loop() first. They go by the runtime's own work (has_work), never
    // by the io_context running out of it, and never stop or restart the io_context: it may
    // one day be a host's, shared.
    /**
     * Makes the running run() or run_for() return once the batch of handlers running now ends;
     * outside them, it does nothing. A flag is enough: it is set from a handler on the loop's
     * own thread, and the loop looks at it when that handler's batch (or the wait's one handler)
     * is over; nothing needs to be posted to wake a wait.
     */
    void stop() { stop_requested_ = true; }
    /// Runs what is ready now without blocking: at most one batch of ready light threads.
    /// Returns the number of handlers run.
    std::size_t poll();
    /// Runs until no work is left, stop() is called, or the mailbox wakes it.
    void run();
    /// Runs what is ready, then waits for more for up to seconds (0: does not wait); returns
    /// early as run() does.
    void run_for(double seconds);
    /**
     * Whether the runtime waits for anything: Asio operations in flight (pending), ready light
     * threads, deadlines, objects to release, tasks from other OS threads, light threads parked
     * on remote events. run() returns when this turns false.
     */
    bool has_work() const;
    /**
     * Seconds until the runtime has something to do: 0 when light threads are ready to run,
     * the time to the earliest deadline otherwise, -1 when it waits on no deadline (only on I/O,
     * or on nothing).
     */
    double next_deadline() const;
    /// After run_for: whether work may remain (an asio.stop() cut it short, or it timed out).
    bool work_may_remain() const { return stop_requested_ || has_work(); }
    /// Whether run() is on the stack (its handlers may call Lua: error handlers, finalizers).
    bool in_loop() const { return in_loop_; }
    /// The mailbox other OS threads post to and wake the loop with (see loop_mailbox).
    std::shared_ptr<loop_mailbox> mailbox() const { return mailbox_; }
    /// From the mailbox, on the loop's thread: the wake-up it was sent (see loop_mailbox::wake).
    void wake_up();
    /// Whether poll() (or the poll that run_for starts with) is running handlers.
    bool polling() const { return mode_ == loop_mode::poll; }
    /// From the mailbox, while polling: its next batch waits for the end of the poll.
    void hold_mailbox() { mailbox_held_ = true; }
    /// A light thread parks on a remote event (counted as work until its wait ends).
    void remote_wait_begins() { ++remote_waits_; }
    void remote_wait_ends() { --remote_waits_; }

    // --- notices ---------------------------------------------------------------------------
    /**
     * The function at idx (nil: none) is told of kills: fn(th) after th:kill() ended another
     * light thread (a thread killing itself waits on nothing and holds nothing handed to it),
     * fn() after asio._close_all() ended them all. The coordination layer settles what it had
     * handed to killed waiters with it.
     */
    void set_kill_hook(lua_State* L, int idx);
    /// Calls the kill hook on L with the values on top of L (0 or 1), which it pops.
    void notify_kill(lua_State* L, int nargs);

    // --- errors ---------------------------------------------------------------------------
    void set_error_handler(lua_State* L, int idx);
    /// Hands the message on top of aux() to the error handler (default: stderr) and pops it.
    void report_error();

    // --- objects --------------------------------------------------------------------------
    /**
     * Keeps obj alive until the loop's next turn. A finalizer runs inside whatever allocation
     * triggered it, and a script may call __gc by hand: either may drop the last reference to
     * an object one of whose methods is still running below it (reading an option table,
     * copying a read into a string). Destroying it later, from the loop, never pulls an
     * object from under a running call.
     */
    void release_later(std::shared_ptr<void> obj);
    /**
     * Counts bytes the collector should hear of: garbage it does not see made (C++ memory behind
     * a userdata) or that its pause would leave lying for a whole cycle (an ended light thread's
     * coroutine). The loop pays the count between batches as collector steps (pay_collector).
     */
    void owe_collector(std::size_t bytes) {
        gc_debt_ += bytes;
        idle_debt_ += bytes;
    }
    void attach(io_object& obj);
    void detach(io_object& obj);
    /// Kills every thread and closes every object (asio._close_all, after a failed test).
    void close_all();
    /// Called from the runtime userdata's __gc (lua_close): releases everything, runs no Lua.
    void teardown();

private:
    struct ready_entry {
        int anchor;
        std::uint32_t generation;
    };

    /// io_context::poll, with at most one drain of the ready queue.
    std::size_t poll_ready();
    /// Runs collector steps for what owe_collector counted, once it adds up to a step's worth.
    void pay_collector();
    /// Before the loop blocks: a full collection when what was owed since the last one is large
    /// against the Lua heap (garbage the steps have not reached yet); true if it ran one.
    bool collect_while_idle();
    /// Whether run() or run_for() ends now.
    bool should_leave() const { return stop_requested_ || wake_requested_ || !has_work(); }
    /**
     * run() and run_for(): batches of what is ready (poll_ready), and when nothing is, a wait
     * for one handler, until should_leave() or, with a time limit, until it.
     */
    void run_batches(const steady_clock::time_point* until);
    /// Before a blocking wait while a light thread waits on another OS thread: watches the
    /// mailbox for a few microseconds; true when a task arrived meanwhile.
    bool spin_for_mailbox(const steady_clock::time_point* until);
    void queue_first_resume(int anchor);
    /// Gives a record to every thread still queued for its first resume.
    void promote_unstarted();
    /// Frees the slot of a thread that ended; see anchor_table::free for may_keep_coroutine.
    void free_anchor_slot(int anchor, bool may_keep_coroutine = false) {
        --stats_.threads;
        // While the ready queue drains, threads end and new ones are spawned at the same rate:
        // an ended coroutine that holds nothing (it returned no values) stays for a new one to
        // overwrite. drain_ready bounds how many wait, and clears them when the queue runs dry.
        anchors_.free(anchor, may_keep_coroutine && draining_);
    }
    /// Gives the thread in slot anchor its record (status as running_ or ready says).
    light_thread& promote(int anchor);
    void enqueue(int anchor) {
        ready_.push_back(ready_entry{anchor, anchors_[anchor].generation});
        if (!drain_posted_) post_drain();
    }
    void run_recordless(int anchor);
    /// Moves a claimed thread's results onto its stack; false (results dropped) if it died.
    bool hand_over(light_thread& th);
    /// Resumes th, whose stack holds what its call returns.
    void resume(light_thread& th);
    struct running_state {
        lua_State* co;
        int anchor;
        light_thread* th;
    };
    /// Makes co (slot anchor, record th if any) the running thread; returns what was before.
    running_state enter(lua_State* co, int anchor, light_thread* th);
    void leave(const running_state& outer);
    void after_resume(light_thread& th, int rc);
    void finish(light_thread& th, int resume_status);
    /// The message of the error object on top of the dead coroutine co (which is left as is).
    std::string describe_error(lua_State* co);
    /// Ends th's life as a light thread: marks its coroutine with how, wakes joiners, releases.
    void end(light_thread& th, thread_outcome how);

    void wake_joiners(light_thread& th) {
        if (th.has_joiners_) wake_all_joiners(th);
    }
    void wake_all_joiners(light_thread& th);
    void release(light_thread& th);
    /// Posts drain_ready; only when !drain_posted_.
    void post_drain();
    void drain_ready();
    friend class deadline_timer;
    /// Ends th's wait because its deadline passed (from deadline_timer).
    void fire_timeout(light_thread& th);

    lua_State* aux_;
    registry_ref aux_anchor_;
    anchor_table anchors_; // the coroutines of live light threads
    lua_State* results_; // results of claimed waits, stacked LIFO until handed over
    registry_ref results_anchor_;
    bool draining_ = false;
    bool drain_deferred_ = false; // a drain in poll_ready left its next post to the poll's end
    bool mailbox_held_ = false;   // likewise, the mailbox's next batch
    thread_index index_{anchors_};
    /// The threads waiting to join each thread that has any, with their wait tokens: kept here
    /// rather than in the records, since nearly no thread is joined while it runs.
    std::unordered_map<const light_thread*, std::vector<std::pair<thread_ptr, std::uint32_t>>> joiners_;
    registry_ref error_handler_;
    registry_ref kill_hook_;
    bool closing_ = false;
    bool drain_posted_ = false;
    bool in_loop_ = false;
    std::int64_t spin_budget_ns_ = 8000; // see spin_for_mailbox
    unsigned spin_skips_ = 0;
    bool stop_requested_ = false;
    bool wake_requested_ = false; // by the mailbox; ends the next (or running) wait
    /// How the io_context is being run (poll: one batch; wait: for one handler).
    enum class loop_mode : unsigned char { none, poll, wait };
    loop_mode mode_ = loop_mode::none;
    long remote_waits_ = 0;
    int fast_budget_ = 0;
    lua_State* running_co_ = nullptr;
    int running_anchor_ = 0;
    light_thread* running_ = nullptr; // the running thread's record, if it has one yet
    thread_ptr promoted_running_;      // a record promote gave the running thread
    io_object* objects_ = nullptr;    // intrusive list of live I/O objects
    std::vector<std::shared_ptr<void>> released_; // see release_later
    bool release_posted_ = false;
    runtime_stats stats_;
    std::size_t gc_debt_ = 0;   // see owe_collector: not yet paid as steps
    std::size_t idle_debt_ = 0; // owed since the last full collection made while idle
    ring_queue<ready_entry> ready_;
    std::unique_ptr<char[]> scratch_;
    bool scratch_taken_ = false;
    net::io_context* io_ = nullptr;         // own_io_, or the host's (see use_host_io)
    std::optional<net::io_context> own_io_;
    // Keeps io_context::run from returning by itself: the loop ends by its own count instead,
    // and a context that never runs out of work never needs restart().
    std::optional<net::executor_work_guard<net::io_context::executor_type>> keep_running_;
    std::optional<deadline_timer> deadlines_;
    std::shared_ptr<loop_mailbox> mailbox_;
};

/// The runtime's scratch buffer for one scope (nullptr when another scope holds it).
class scratch_lease {
public:
    explicit scratch_lease(runtime& rt) : rt_(rt), buf_(rt.take_scratch()) {}
    ~scratch_lease() {
        if (buf_ != nullptr) rt_.give_back_scratch();
    }
    scratch_lease(const scratch_lease&) = delete;
    scratch_lease& operator=(const scratch_lease&) = delete;
    char* get() const { return buf_; }

private:
    runtime& rt_;
    char* buf_;
};

/// Pushes the module's runtime for L, creating it on first use (luaopen_asio_core).
runtime& open_runtime(lua_State* L);

} // namespace lasio
