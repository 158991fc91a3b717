// SPDX-License-Identifier: MIT
// Finds the live light thread behind a coroutine (the coroutine is the thread's Lua handle).
#pragma once

#include "sched/anchor_table.hpp"

#include <lua.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lasio {

/**
 * Open addressing with linear probing over coroutine addresses. Spawning inserts and every
 * death erases, so both must be cheap and allocation-free in the steady state: a std::
 * unordered_map would allocate a node per spawn. Erase shifts the following entries back
 * instead of leaving tombstones, so probe chains stay short however many threads come and go.
 *
 * Every waiting light thread (every idle connection's) has an entry, so an entry is only the
 * thread's anchor: its coroutine and record are in the anchor table's slot already. That is 4
 * bytes where a coroutine and record pointer pair took 16 (7 per entry against 26 at the load
 * of 10,000 entries in 16,384 slots).
 */
class thread_index {
public:
    /// anchors outlives the index; every anchor inserted has its coroutine in its slot until
    /// it is erased.
    explicit thread_index(const anchor_table& anchors) : anchors_(anchors), slots_(initial_capacity) {}

    /// The anchor of the recorded thread whose coroutine is co, or 0.
    int find(const lua_State* co) const {
        for (std::size_t i = home(co);; i = next(i)) {
            int anchor = slots_[i];
            if (anchor == 0) return 0;
            if (anchors_[anchor].co == co) return anchor;
        }
    }

    void insert(int anchor) {
        // Up to three quarters full: at half full the table would cost up to twice as much.
        if ((size_ + 1) * 4 > slots_.size() * 3) grow();
        place(anchor);
        ++size_;
    }

    void erase(int anchor) {
        std::size_t hole = home(anchors_[anchor].co);
        while (slots_[hole] != anchor) {
            if (slots_[hole] == 0) return;
            hole = next(hole);
        }
        // Pull back every later entry of the run whose home does not lie between hole and it.
        for (std::size_t i = next(hole); slots_[i] != 0; i = next(i)) {
            std::size_t h = home(anchors_[slots_[i]].co);
            bool reachable = hole <= i ? (hole < h && h <= i) : (hole < h || h <= i);
            if (reachable) continue;
            slots_[hole] = slots_[i];
            hole = i;
        }
        slots_[hole] = 0;
        --size_;
    }

    std::size_t size() const { return size_; }

    void clear() {
        slots_.assign(initial_capacity, 0);
        size_ = 0;
    }

private:
    static constexpr std::size_t initial_capacity = 64;

    std::size_t home(const lua_State* co) const {
        // Fibonacci hashing: allocator addresses differ mostly in their middle bits.
        auto bits = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(co));
        return static_cast<std::size_t>((bits * 0x9E3779B97F4A7C15ull) >> 32) & (slots_.size() - 1);
    }
    std::size_t next(std::size_t i) const { return (i + 1) & (slots_.size() - 1); }

    void place(int anchor) {
        std::size_t i = home(anchors_[anchor].co);
        while (slots_[i] != 0) i = next(i);
        slots_[i] = anchor;
    }

    void grow() {
        std::vector<int> old(slots_.size() * 2);
        old.swap(slots_);
        for (int anchor : old)
            if (anchor != 0) place(anchor);
    }

    const anchor_table& anchors_;
    std::vector<int> slots_; // anchors; 0 is empty (anchor 0 is never used)
    std::size_t size_ = 0;
};

} // namespace lasio
