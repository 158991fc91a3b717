// SPDX-License-Identifier: MIT
// The anchor table: where every live light thread's coroutine is kept from the collector.
#pragma once

#include <lua.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lasio {

class light_thread;

/**
 * Live coroutines are anchored in a Lua array indexed by our own free list: cheaper than a
 * registry reference (luaL_ref also reads and writes the registry's free-list head). The array
 * sits at index 1 of a thread of its own that never runs Lua, so it stays put.
 *
 * Each slot also says whether its thread has a record yet: a thread that starts, runs and
 * returns without waiting on anything (the common short task) never gets one. generation changes
 * whenever the slot is freed, so a ready-queue entry naming a slot that has since changed hands
 * is recognised as stale without touching the coroutine.
 */
class anchor_table {
public:
    struct slot {
        lua_State* co = nullptr; // nullptr until read from the array (spawned from Lua)
        std::uint32_t generation = 0;
        bool reserved = false; // handed to a spawn from Lua that has not committed yet

    private:
        // Beside generation and reserved, where it costs no padding.
        bool unstarted_ = false; // in the unstarted list: link_ holds its links, not th_

    public:
        /// The thread's record, or null (none yet, or the slot is free).
        light_thread* record() const { return unstarted_ ? nullptr : th_; }
        /// Only once the slot has left the unstarted list (see unlink_unstarted).
        void set_record(light_thread* th) { th_ = th; }

    private:
        friend class anchor_table;
        // The list of threads queued for their first resume without a record: the runtime gives
        // them records when a handle misses. 0 ends it. A thread in it has no record, so its
        // links take the record pointer's 8 bytes: a slot is 24 bytes instead of 32.
        struct links {
            int prev;
            int next;
        };
        union {
            light_thread* th_ = nullptr; // while !unstarted_
            links link_;                 // while unstarted_
        };
    };

    /// Makes the array on a new thread of L's and keeps that thread in the registry.
    explicit anchor_table(lua_State* L);
    anchor_table(const anchor_table&) = delete;
    anchor_table& operator=(const anchor_table&) = delete;

    slot& operator[](int anchor) { return slots_[anchor]; }
    const slot& operator[](int anchor) const { return slots_[anchor]; }
    std::size_t size() const { return slots_.size(); }
    /// The thread whose index 1 is the array (batch reads leave coroutines on it above that).
    lua_State* stack() const { return L_; }
    /// Pushes the array onto L (for a spawning function's upvalue).
    void push_array(lua_State* L) const {
        lua_pushvalue(L_, 1);
        lua_xmove(L_, L, 1);
    }

    /// A free slot: one still holding an ended coroutine first (the new one overwrites it).
    int take() {
        std::vector<int>& from = !stale_.empty() ? stale_ : free_;
        if (from.empty()) {
            slots_.emplace_back();
            return static_cast<int>(slots_.size() - 1);
        }
        int anchor = from.back();
        from.pop_back();
        return anchor;
    }
    /// Frees a slot; keep_coroutine leaves its (ended, empty) coroutine in the array for the
    /// next take to overwrite: one array write instead of two. clear_stale bounds how many.
    void free(int anchor, bool keep_coroutine) {
        slot& s = slots_[anchor];
        unlink_unstarted(s);
        s.co = nullptr;
        s.th_ = nullptr;
        ++s.generation;
        if (keep_coroutine) stale_.push_back(anchor);
        else clear(anchor);
    }
    /// Empties a slot's array entry and puts it on the free list.
    void clear(int anchor);
    /// Clears the slots still holding ended coroutines beyond keep.
    void clear_stale(std::size_t keep);
    /// The coroutine anchored in a live slot (read from the array once, if spawned from Lua).
    lua_State* coroutine(int anchor);

    // Threads queued for their first resume without a record.
    void link_unstarted(int anchor);
    void unlink_unstarted(slot& s);
    int first_unstarted() const { return unstarted_head_; }

    // Spawns from Lua reserve a slot, store their coroutine in it, then commit.
    int reserve() {
        int anchor = take();
        slots_[anchor].reserved = true;
        ++reserved_;
        return anchor;
    }
    /// Whether anchor is a slot reserve() gave out and nobody took back.
    bool reserved(int anchor) const {
        return anchor > 0 && static_cast<std::size_t>(anchor) < slots_.size() && slots_[anchor].reserved;
    }
    void commit(int anchor) {
        slots_[anchor].reserved = false;
        --reserved_;
    }
    bool has_reservations() const { return reserved_ != 0; }
    /// Takes back the reservations of spawns that raised between their two steps.
    void drop_reservations();

    /// Forgets every slot without touching Lua (the state is closing); returns the records.
    std::vector<light_thread*> forget_all();

private:
    lua_State* L_;
    std::vector<slot> slots_{1}; // by anchor; slot 0 unused (Lua arrays start at 1)
    std::vector<int> free_;      // slots whose array entry is nil
    std::vector<int> stale_;     // free slots still holding an ended coroutine
    int reserved_ = 0;
    int unstarted_head_ = 0;
};

} // namespace lasio
