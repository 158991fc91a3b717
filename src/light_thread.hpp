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
 * Owned by itself while alive (self_), by its Lua handle, and by every queued completion that
 * names it. Completions carry the token they were issued with; a token that no longer matches
 * means the wait already ended (timeout, kill, close) and the completion is dropped.
 * The destructor never touches Lua: Lua anchors are released when the thread dies.
 */
class light_thread {
public:
    light_thread(lua_State* co, int co_ref) : co_(co), co_ref_(co_ref) {}
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

    std::uint32_t refs_ = 0;
    lua_State* co_;
    int co_ref_;                    // registry anchor of the coroutine while alive
    int handle_ref_ = LUA_NOREF;    // registry anchor of the Lua handle while alive
    std::uint32_t token_ = 0;
    thread_status status_ = thread_status::ready;
    wait_kind kind_ = wait_kind::none;
    bool started_ = false;
    thread_outcome outcome_ = thread_outcome::none;
    wait_target* target_ = nullptr;

    steady_clock::time_point deadline_{};
    std::uint64_t deadline_seq_ = 0;
    std::size_t heap_index_ = npos;

    std::vector<std::pair<thread_ptr, std::uint32_t>> joiners_;

    thread_ptr self_;               // keeps the object alive until the thread dies
    light_thread* prev_ = nullptr;  // runtime's list of live threads
    light_thread* next_ = nullptr;

public:
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
};

/// Metatable name of light-thread handles.
inline constexpr char thread_metatable[] = "asio.thread";

/**
 * The userdata behind a light-thread handle. It owns nothing, so it needs no finalizer (spawning
 * is hot, and finalizers are dear to LuaJIT's collector): while the thread lives, the thread
 * anchors its handle and th points at it; when the thread dies, th is cleared and the handle keeps
 * how it ended, with any results or the traceback in its environment table.
 */
struct thread_handle {
    light_thread* th;
    thread_outcome outcome = thread_outcome::none;
    bool has_values = false;
};

/// Registers the thread metatable and adds spawn/current/park/wake/sleep/... to the table on top.
void open_light_thread(lua_State* L, runtime& rt);

} // namespace lasio
