// SPDX-License-Identifier: MIT
// The anchor table's slow paths: clearing, reading coroutines, the unstarted list, reservations.
#include "sched/anchor_table.hpp"

#include "base/lua_bridge.hpp"

namespace lasio {

// A slot per live light thread (every idle connection's).
static_assert(sizeof(void*) != 8 || sizeof(anchor_table::slot) <= 24, "anchor slot outgrew 24 bytes");

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
    // A thread queued for its first resume has no record yet (the list takes its place).
    s.unstarted_ = true;
    s.link_ = slot::links{0, unstarted_head_};
    if (unstarted_head_ != 0) slots_[unstarted_head_].link_.prev = anchor;
    unstarted_head_ = anchor;
}

void anchor_table::unlink_unstarted(slot& s) {
    if (!s.unstarted_) return;
    slot::links l = s.link_;
    if (l.prev != 0) slots_[l.prev].link_.next = l.next;
    else unstarted_head_ = l.next;
    if (l.next != 0) slots_[l.next].link_.prev = l.prev;
    s.unstarted_ = false;
    s.th_ = nullptr;
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
        if (light_thread* th = s.record()) records.push_back(th);
        s = slot{};
    }
    unstarted_head_ = 0;
    reserved_ = 0;
    return records;
}

} // namespace lasio
