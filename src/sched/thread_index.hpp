// SPDX-License-Identifier: MIT
// Finds the live light thread behind a coroutine (the coroutine is the thread's Lua handle).
#pragma once

#include <lua.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lasio {

class light_thread;

/**
 * Open addressing with linear probing over coroutine addresses. Spawning inserts and every
 * death erases, so both must be cheap and allocation-free in the steady state: a std::
 * unordered_map would allocate a node per spawn. Erase shifts the following entries back
 * instead of leaving tombstones, so probe chains stay short however many threads come and go.
 */
class thread_index {
public:
    thread_index() : slots_(initial_capacity) {}

    light_thread* find(const lua_State* co) const {
        for (std::size_t i = home(co);; i = next(i)) {
            const slot& s = slots_[i];
            if (s.co == co) return s.th;
            if (s.co == nullptr) return nullptr;
        }
    }

    void insert(const lua_State* co, light_thread* th) {
        // Up to three quarters full: every waiting light thread (every idle connection's) has an
        // entry, and at half full the table cost 32 to 64 bytes per entry instead of 21 to 43.
        if ((size_ + 1) * 4 > slots_.size() * 3) grow();
        place(co, th);
        ++size_;
    }

    void erase(const lua_State* co) {
        std::size_t hole = home(co);
        while (slots_[hole].co != co) {
            if (slots_[hole].co == nullptr) return;
            hole = next(hole);
        }
        // Pull back every later entry of the run whose home does not lie between hole and it.
        for (std::size_t i = next(hole); slots_[i].co != nullptr; i = next(i)) {
            std::size_t h = home(slots_[i].co);
            bool reachable = hole <= i ? (hole < h && h <= i) : (hole < h || h <= i);
            if (reachable) continue;
            slots_[hole] = slots_[i];
            hole = i;
        }
        slots_[hole] = slot{};
        --size_;
    }

    std::size_t size() const { return size_; }

    void clear() {
        slots_.assign(initial_capacity, slot{});
        size_ = 0;
    }

private:
    struct slot {
        const lua_State* co = nullptr;
        light_thread* th = nullptr;
    };
    static constexpr std::size_t initial_capacity = 64;

    std::size_t home(const lua_State* co) const {
        // Fibonacci hashing: allocator addresses differ mostly in their middle bits.
        auto bits = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(co));
        return static_cast<std::size_t>((bits * 0x9E3779B97F4A7C15ull) >> 32) & (slots_.size() - 1);
    }
    std::size_t next(std::size_t i) const { return (i + 1) & (slots_.size() - 1); }

    void place(const lua_State* co, light_thread* th) {
        std::size_t i = home(co);
        while (slots_[i].co != nullptr) i = next(i);
        slots_[i] = slot{co, th};
    }

    void grow() {
        std::vector<slot> old(slots_.size() * 2);
        old.swap(slots_);
        for (const slot& s : old)
            if (s.co != nullptr) place(s.co, s.th);
    }

    std::vector<slot> slots_;
    std::size_t size_ = 0;
};

} // namespace lasio
