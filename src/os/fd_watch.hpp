// SPDX-License-Identifier: MIT
// A watch on a descriptor another library owns (asio.watch): wait until it is readable or writable.
#pragma once

#include "base/errors.hpp"
#include "sched/runtime.hpp"
#include "sched/wait_slot.hpp"

#if !defined(_WIN32)
#include <boost/asio/posix/stream_descriptor.hpp>
#endif

#include <cstdint>
#include <memory>
#include <optional>

namespace lasio {

#if !defined(_WIN32)
/**
 * Watches a duplicate of the foreign descriptor, never the descriptor itself: the module then
 * never reads, writes, closes, or changes the flags of what the other library owns, and closing
 * the watch closes only the duplicate. (The duplicate shares the open file, so readiness is the
 * same; epoll also refuses the same descriptor number twice in one loop, which a duplicate
 * sidesteps when two watches, or a watch and a connection, look at one file.)
 *
 * Owned by its Lua userdata and by its waits in flight. One light thread waits at a time.
 */
class fd_watch final : public io_object, public std::enable_shared_from_this<fd_watch> {
public:
    fd_watch(runtime_ptr rt, bool readable, bool writable);
    /// Takes dup_fd over (closed by close); ec when the loop cannot watch it (then still the caller's).
    error_code assign(int dup_fd);
    ~fd_watch() override = default;

    bool waiting() const { return waiter_.th != nullptr; }
    /**
     * 'r' or 'w' when the descriptor is ready now (poll with no timeout), else 0. Asio's epoll
     * registration is edge-triggered: readiness that came while nobody waited has been reported
     * already, and a wait started now would wait for the next edge.
     */
    char ready_now();
    /// Parks th until the descriptor is ready; returns lua_yield's value.
    int wait(lua_State* L, light_thread& th, double timeout);
    void close();
    bool closed() const { return closed_; }

    int cancel_wait(light_thread& th, lua_State* co) override;
    void release_io() override;
    void close_from_runtime() override { close(); }

private:
    void start(net::posix::descriptor_base::wait_type type, char which);
    void on_ready(const error_code& ec, std::uint32_t round, char which);

    std::optional<net::posix::stream_descriptor> d_; // owns the duplicate
    wait_slot waiter_;
    std::uint32_t round_ = 0; // the wait the completions in flight belong to
    int original_flags_ = -1; // the open file's status flags before Asio's first wait
    bool readable_;
    bool writable_;
    bool closed_ = false;
    bool flags_restored_ = false;
};
#endif

} // namespace lasio
