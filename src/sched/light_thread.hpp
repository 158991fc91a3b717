// SPDX-License-Identifier: MIT
// A light thread: one Lua coroutine scheduled by the runtime, and what it is waiting on.
#pragma once

#include <lua.hpp>

#include <boost/smart_ptr/intrusive_ptr.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace lasio {

class runtime;
class light_thread;
class io_object;
/// Light threads live and die on their runtime's OS thread: a plain (non-atomic) count suffices.
using thread_ptr = boost::intrusive_ptr<light_thread>;
using steady_clock = std::chrono::steady_clock;

/**
 * Anything a light thread can block on (a socket's reader slot, a connect in progress ...).
 * The runtime calls cancel_wait when the wait ends for a reason other than the operation's own
 * completion: the deadline passed (co != nullptr) or the thread was killed (co == nullptr).
 * The target must forget the thread and never resume it; on a timeout it pushes the values the
 * blocked call returns (nil, "timeout" [, partial]) onto co and returns how many.
 */
class wait_target {
public:
    virtual int cancel_wait(light_thread& th, lua_State* co) = 0;

protected:
    ~wait_target() = default;
};

enum class thread_status : unsigned char { ready, running, waiting, dead };
enum class wait_kind : unsigned char { none, sleep, park, join, io };
enum class thread_outcome : unsigned char { none, returned, raised, killed };

/**
 * Owned by itself while alive (one reference of refs_, taken by runtime::promote and given back
 * by runtime::release) and by every queued completion that names it. Completions
 * carry the token they were issued with; a token that no longer matches means the wait already
 * ended (timeout, kill, close) and the completion is dropped.
 * The destructor never touches Lua: Lua anchors are released when the thread dies.
 */
class light_thread {
public:
    light_thread(lua_State* co, int anchor) : anchor_(anchor), co_(co) {}
    light_thread(const light_thread&) = delete;
    light_thread& operator=(const light_thread&) = delete;

    thread_ptr shared_from_this() { return thread_ptr(this); }
    friend void intrusive_ptr_add_ref(light_thread* th) { ++th->refs_; }
    friend void intrusive_ptr_release(light_thread* th) {
        if (--th->refs_ == 0) delete th;
    }
    /// Spawning is hot: recycle the memory of dead threads instead of going to malloc.
    static void* operator new(std::size_t size);
    static void operator delete(void* p) noexcept;

    lua_State* co() const { return co_; }
    thread_status status() const { return status_; }
    wait_kind waiting_for() const { return kind_; }
    std::uint32_t token() const { return token_; }
    bool alive() const { return status_ != thread_status::dead; }

private:
    friend class runtime;
    friend class deadline_queue;
    friend class deadline_timer;

    // A record per waiting thread (every idle connection's): the small fields first, so that
    // it fills a 64-byte malloc chunk (its deadline, when it has one, is in deadline_queue).
    std::uint32_t refs_ = 0;
    int anchor_; // slot of the coroutine in the runtime's anchor table while alive
    std::uint32_t token_ = 0;
    int results_base_ = 0; // while claimed: where its results start on the runtime's stack
    std::uint32_t heap_index_ = npos; // place in deadline_queue, or npos
    thread_status status_ = thread_status::ready;
    wait_kind kind_ = wait_kind::none;
    bool started_ = false;
    bool has_joiners_ = false; // the runtime's joiner lists have one for it
    lua_State* co_;
    wait_target* target_ = nullptr;
    std::weak_ptr<io_object> closes_on_error_; // an accept handler's connection

public:
    static constexpr std::uint32_t npos = 0xffffffffu; // heap_index_ of a thread with no deadline
};

/**
 * A light thread's handle is its coroutine: spawning allocates nothing else on the Lua heap, and
 * asio.current() == coroutine.running(). Once the thread has ended, the top of the coroutine's
 * stack holds a mark recording how, with the results or the traceback below it; that is all
 * join needs, and the coroutine lives on only as long as somebody keeps the handle.
 * The mark of a return (the common end) is the coroutine itself, the cheapest value to push
 * that no other ended coroutine has on top; the others are light userdata of our own.
 * co must have room for one more value.
 */
void push_end_mark(lua_State* co, thread_outcome how);
/// How the ended light thread co ended, or none if co is no ended light thread.
thread_outcome ended_outcome(lua_State* co);
/// Pushes onto L what join returns for the ended thread co: true, results... | false, err.
int push_ended_outcome(lua_State* co, lua_State* L);


} // namespace lasio
