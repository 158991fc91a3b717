// SPDX-License-Identifier: MIT
// The anchor table's slow paths: clearing, reading coroutines, the unstarted list, reservations.
#include "sched/anchor_table.hpp"

#include "base/lua_bridge.hpp"

namespace lasio {

anchor_table::anchor_table(lua_State* L) {
    L_ = lua_newthread(L);
    ref_value(L); // kept for the state's lifetime: the runtime lives as long as the state
    lua_newtable(L_);
}

void anchor_table::clear(int anchor) {
    lua_pushnil(L_);
    lua_rawseti(L_, 1, anchor);
    free_.push_back(anchor);
}

void anchor_table::clear_stale(std::size_t keep) {
    while (stale_.size() > keep) {
        clear(stale_.back());
        stale_.pop_back();
    }
}

lua_State* anchor_table::coroutine(int anchor) {
    slot& s = slots_[anchor];
    if (s.co == nullptr) {
        lua_rawgeti(L_, 1, anchor);
        s.co = lua_tothread(L_, -1);
        lua_pop(L_, 1);
    }
    return s.co;
}

void anchor_table::link_unstarted(int anchor) {
    slot& s = slots_[anchor];
    s.prev_unstarted = 0;
    s.next_unstarted = unstarted_head_;
    if (unstarted_head_ != 0) slots_[unstarted_head_].prev_unstarted = anchor;
    unstarted_head_ = anchor;
}

void anchor_table::unlink_unstarted(slot& s) {
    if (s.prev_unstarted < 0) return;
    if (s.prev_unstarted != 0) slots_[s.prev_unstarted].next_unstarted = s.next_unstarted;
    else unstarted_head_ = s.next_unstarted;
    if (s.next_unstarted != 0) slots_[s.next_unstarted].prev_unstarted = s.prev_unstarted;
    s.prev_unstarted = -1;
}

void anchor_table::drop_reservations() {
    // Only after a spawn raised between its two steps (a debug hook's error): a scan is fine.
    for (std::size_t anchor = 1; anchor < slots_.size() && reserved_ > 0; ++anchor) {
        if (!slots_[anchor].reserved) continue;
        slots_[anchor].reserved = false;
        --reserved_;
        // The array may hold the coroutine of the spawn that never finished.
        clear(static_cast<int>(anchor));
    }
}

std::vector<light_thread*> anchor_table::forget_all() {
    std::vector<light_thread*> records;
    for (slot& s : slots_) {
        if (s.th != nullptr) records.push_back(s.th);
        s = slot{};
    }
    unstarted_head_ = 0;
    reserved_ = 0;
    return records;
}

} // namespace lasio
