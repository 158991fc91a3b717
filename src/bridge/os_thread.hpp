// SPDX-License-Identifier: MIT
// asio.thread's machinery: a function run in a fresh lua_State on an OS thread of its own.
#pragma once

#include "bridge/shared_channel.hpp"
#include "sched/remote_event.hpp"

#include <lua.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace lasio {

/**
 * The outcome of one asio.thread, shared by its handle (the calling state's loop thread) and its
 * worker OS thread: the worker writes it once, when its state is closed; anyone may read it.
 * Holds only bytes (value_codec buffers, an error message) and channels, never a Lua value.
 */
class os_thread_outcome {
public:
    enum class state : unsigned char { running, done, failed };

    state get() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return state_;
    }
    /// The worker's last word: results (a value_codec buffer) when done, else the error text.
    void finish(state s, std::string payload, codec_refs refs) {
        std::lock_guard<std::mutex> lock(mutex_);
        state_ = s;
        payload_ = std::move(payload);
        refs_ = std::move(refs);
    }
    /// Pushes what join returns once finished: true, results... | false, err. Returns the count.
    int push(lua_State* L) const;

    /**
     * Any thread: asks the worker to stop. Its loop's light threads are killed and its objects
     * closed from inside its loop, at the next turn of that loop (a light thread that never
     * waits is not interrupted), and join then returns false, "cancelled". False when the
     * thread has finished already.
     */
    bool cancel();
    /// The worker, once its runtime is up: where cancel reaches it. False when a cancel came
    /// first (the worker then stops before running its function).
    bool attach_worker(std::shared_ptr<loop_mailbox> mailbox, runtime* rt);
    bool cancel_requested() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return cancel_requested_;
    }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<loop_mailbox> worker_mailbox_;
    runtime* worker_runtime_ = nullptr; // used only by a task run in its own loop
    bool cancel_requested_ = false;
    state state_ = state::running;
    std::string payload_;
    codec_refs refs_; // the channels the results name
};

/// Everything the worker needs to build its function call, made by the calling state.
struct os_thread_start {
    std::string code;      // the function's bytecode, or a "module.name" (by_name)
    bool by_name = false;
    std::string upvalues;  // one value per upvalue (value_codec)
    /// Per upvalue, a module name whose require() stands for it in the new state, or "".
    std::vector<std::string> upvalue_modules;
    std::string args;      // value_codec
    codec_refs refs;       // the channels the upvalues and the arguments name
    std::string path;      // the caller's package.path and package.cpath
    std::string cpath;
};

/**
 * Fills start from the function (or "module.name" string) at fn_idx of L, its upvalues, and the
 * nargs values after it. False with error set (a message naming the value at fault, such as
 * "upvalue 'cb': cannot copy a function to another state") when something cannot cross.
 */
bool prepare_os_thread(lua_State* L, int fn_idx, int nargs, os_thread_start& start, std::string& error);

/**
 * Starts the worker OS thread (detached: nobody joins it at the OS level). It makes a new state
 * with its own allocator, runs the function in a light thread there until its loop has no work
 * left, closes the state, writes outcome, and only then signals done (refused, harmlessly, once
 * the calling state is closed). False with error set when no thread could be started.
 */
bool start_os_thread(os_thread_start start, std::shared_ptr<os_thread_outcome> outcome, remote_signal done,
                     std::string& error);

/// Worker OS threads started and not finished yet, in the whole process (for specs).
long live_os_threads();

/**
 * Registers what a new state needs before it can require 'asio' when the module is not on
 * package.cpath: the static library's package.preload entries (luaasio_open sets it). Any thread.
 */
void set_state_preload(lua_CFunction preload);

} // namespace lasio
