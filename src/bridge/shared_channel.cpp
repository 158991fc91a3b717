// SPDX-License-Identifier: MIT
// Shared channels: the queue behind one mutex, and the waits that other OS threads end.
#include "bridge/shared_channel.hpp"

#include "sched/loop_mailbox.hpp"
#include "sched/runtime.hpp"

#include <algorithm>

namespace lasio {

// --- channel_ref -----------------------------------------------------------------------------

channel_ref::channel_ref(std::shared_ptr<shared_channel> ch) : ch_(std::move(ch)) {
    if (ch_ != nullptr) ch_->ref_in_flight();
}

channel_ref& channel_ref::operator=(channel_ref&& other) noexcept {
    if (this != &other) {
        release();
        ch_ = std::move(other.ch_);
    }
    return *this;
}

channel_ref::~channel_ref() { release(); }

void channel_ref::release() {
    if (ch_ == nullptr) return;
    ch_->unref_in_flight();
    ch_.reset();
}

// --- shared_channel --------------------------------------------------------------------------

bool shared_channel::ready_locked(channel_op op) {
    if (closed_) return true;
    if (op == channel_op::recv) return !buffer_.empty();
    if (capacity_ != 0) return buffer_.size() < capacity_;
    // A rendezvous send may complete while a receiver waits: drop those no longer waiting.
    while (!receivers_.empty() && receivers_.front()->state_.load() != channel_waiter::waiting)
        receivers_.erase(receivers_.begin());
    return !receivers_.empty();
}

bool shared_channel::take_one_locked(waiter_list& list, channel_op op, bool passes_on, wake_note& note) {
    std::size_t i = 0;
    for (; i < list.size(); ++i) {
        channel_waiter& w = *list[i];
        int expected = channel_waiter::waiting;
        if (!w.state_.compare_exchange_strong(expected, channel_waiter::woken)) continue;
        w.woken_by_ = this;
        w.woken_for_ = op;
        w.passes_on_ = passes_on;
        note.waiter = std::move(list[i]);
        note.generation = w.generation_.load(std::memory_order_relaxed);
        list.erase(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(i) + 1);
        return true;
    }
    list.clear(); // none of them waits any more: each will disarm and find itself gone
    return false;
}

void shared_channel::take_all_locked(waiter_list& list, channel_op op, std::vector<wake_note>& notes) {
    for (auto& w : list) {
        int expected = channel_waiter::waiting;
        if (!w->state_.compare_exchange_strong(expected, channel_waiter::woken)) continue;
        w->woken_by_ = this;
        w->woken_for_ = op;
        w->passes_on_ = false;
        notes.push_back({w, w->generation_.load(std::memory_order_relaxed)});
    }
    list.clear();
}

bool shared_channel::close_if_abandoned_locked(std::vector<wake_note>& notes) {
    if (closed_ || !was_shared_ || shared_locked()) return false;
    closed_ = true;
    take_all_locked(receivers_, channel_op::recv, notes);
    take_all_locked(senders_, channel_op::send, notes);
    return true;
}

void shared_channel::wake(const wake_note& note, runtime* caller) {
    channel_waiter& w = *note.waiter;
    if (caller == w.rt_) {
        w.wake_here(note.generation, false);
        return;
    }
    // Refused once that runtime has closed: its thread is gone with it.
    w.mailbox_->post([waiter = note.waiter, generation = note.generation]() {
        waiter->wake_here(generation, true);
    });
}

void shared_channel::wake_all(const std::vector<wake_note>& notes, runtime* caller) {
    for (const wake_note& note : notes) wake(note, caller);
}

shared_channel::result shared_channel::try_send(channel_message& m, runtime* caller) {
    wake_note note;
    {
        std::lock_guard<brief_mutex> lock(mutex_);
        if (closed_) return result::closed;
        if (capacity_ == 0) {
            if (!take_one_locked(receivers_, channel_op::recv, true, note)) return result::would_wait;
        } else if (buffer_.size() >= capacity_) {
            return result::would_wait;
        } else {
            take_one_locked(receivers_, channel_op::recv, true, note);
        }
        buffer_.push_back(std::move(m));
    }
    if (note.waiter != nullptr) wake(note, caller);
    return result::done;
}

shared_channel::result shared_channel::try_recv(channel_message& m, runtime* caller) {
    wake_note note;
    {
        std::lock_guard<brief_mutex> lock(mutex_);
        if (buffer_.empty()) return closed_ ? result::closed : result::would_wait;
        m = std::move(buffer_.front());
        buffer_.pop_front();
        // A slot is free. (A rendezvous sender waits for a receiver instead: see arm.)
        if (capacity_ != 0 && !closed_) take_one_locked(senders_, channel_op::send, true, note);
    }
    if (note.waiter != nullptr) wake(note, caller);
    return result::done;
}

bool shared_channel::close(runtime* caller) {
    std::vector<wake_note> notes;
    {
        std::lock_guard<brief_mutex> lock(mutex_);
        if (closed_) return false;
        closed_ = true;
        take_all_locked(receivers_, channel_op::recv, notes);
        take_all_locked(senders_, channel_op::send, notes);
    }
    wake_all(notes, caller);
    return true;
}

bool shared_channel::closed() const {
    std::lock_guard<brief_mutex> lock(mutex_);
    return closed_;
}

std::size_t shared_channel::size() const {
    std::lock_guard<brief_mutex> lock(mutex_);
    return buffer_.size();
}

int shared_channel::members() const {
    std::lock_guard<brief_mutex> lock(mutex_);
    return members_;
}

void shared_channel::join_state(runtime* caller) {
    std::vector<wake_note> notes;
    {
        std::lock_guard<brief_mutex> lock(mutex_);
        bool was = shared_locked();
        ++members_;
        if (members_ >= 2) was_shared_ = true;
        // Waits that began while nobody else could answer them did not keep their loops
        // running; now they should: woken, they try again and count when they wait again.
        if (!was && shared_locked()) {
            take_all_locked(receivers_, channel_op::recv, notes);
            take_all_locked(senders_, channel_op::send, notes);
        }
    }
    wake_all(notes, caller);
}

void shared_channel::leave_state(runtime* caller) {
    std::vector<wake_note> notes;
    {
        std::lock_guard<brief_mutex> lock(mutex_);
        if (members_ > 0) --members_;
        close_if_abandoned_locked(notes);
    }
    wake_all(notes, caller);
}

void shared_channel::ref_in_flight() {
    std::vector<wake_note> notes;
    {
        std::lock_guard<brief_mutex> lock(mutex_);
        bool was = shared_locked();
        ++in_flight_;
        if (!was) {
            take_all_locked(receivers_, channel_op::recv, notes);
            take_all_locked(senders_, channel_op::send, notes);
        }
    }
    wake_all(notes, nullptr);
}

void shared_channel::unref_in_flight() {
    std::vector<wake_note> notes;
    {
        std::lock_guard<brief_mutex> lock(mutex_);
        --in_flight_;
        close_if_abandoned_locked(notes);
    }
    wake_all(notes, nullptr);
}

bool shared_channel::arm(channel_waiter& w, channel_op op, runtime* caller, bool& counted) {
    wake_note note;
    {
        std::lock_guard<brief_mutex> lock(mutex_);
        if (ready_locked(op)) return true;
        counted = shared_locked();
        waiter_list& list = op == channel_op::recv ? receivers_ : senders_;
        list.push_back(w.shared_from_this());
        // A receiver waits now: a rendezvous sender may hand it a value.
        if (op == channel_op::recv && capacity_ == 0) take_one_locked(senders_, channel_op::send, true, note);
    }
    if (note.waiter != nullptr) wake(note, caller);
    return false;
}

void shared_channel::disarm(const channel_waiter& w, channel_op op) {
    std::lock_guard<brief_mutex> lock(mutex_);
    waiter_list& list = op == channel_op::recv ? receivers_ : senders_;
    auto it = std::find_if(list.begin(), list.end(), [&](const auto& p) { return p.get() == &w; });
    if (it != list.end()) list.erase(it);
}

void shared_channel::pass_on(channel_op op, runtime* caller) {
    wake_note note;
    {
        std::lock_guard<brief_mutex> lock(mutex_);
        if (closed_) return;
        take_one_locked(op == channel_op::recv ? receivers_ : senders_, op, true, note);
    }
    if (note.waiter != nullptr) wake(note, caller);
}

// --- channel_waiter --------------------------------------------------------------------------

channel_waiter::channel_waiter(runtime& rt) : rt_(&rt), mailbox_(rt.mailbox()) {}

channel_waiter::~channel_waiter() = default;

bool channel_waiter::arm(const std::shared_ptr<shared_channel>& ch, channel_op op, light_thread& th) {
    if (armed_.empty()) {
        // A new round: wakes posted for an earlier one carry an older generation and do nothing.
        generation_.fetch_add(1, std::memory_order_relaxed);
        woken_by_ = nullptr;
        passes_on_ = false;
        state_.store(waiting);
        th_ = th.shared_from_this();
    }
    armed_.reserve(armed_.size() + 1); // no allocation between registering and recording it
    bool counted = false;
    if (ch->arm(*this, op, rt_, counted)) return true;
    armed_.emplace_back(ch, op);
    if (counted && !counted_) {
        counted_ = true;
        rt_->remote_wait_begins();
    }
    return false;
}

void channel_waiter::disarm(const shared_channel* done, channel_op done_op) {
    auto armed = std::move(armed_);
    armed_.clear();
    // After this no channel can claim the waiter, and the one that did wrote woken_by_ under the
    // mutex taken here.
    for (auto& [ch, op] : armed) ch->disarm(*this, op);
    int was = state_.exchange(idle);
    if (counted_) {
        counted_ = false;
        if (!rt_->closing()) rt_->remote_wait_ends();
    }
    th_.reset();
    if (was != woken || !passes_on_ || woken_by_ == nullptr) return;
    if (woken_by_ == done && woken_for_ == done_op) return;
    for (auto& [ch, op] : armed) {
        if (ch.get() == woken_by_ && op == woken_for_) {
            ch->pass_on(op, rt_->closing() ? nullptr : rt_);
            break;
        }
    }
}

void channel_waiter::wake_here(std::uint32_t generation, bool from_handler) {
    if (generation != generation_.load(std::memory_order_relaxed) || armed_.empty() || th_ == nullptr) return;
    light_thread& th = *th_;
    if (th.status() != thread_status::waiting || th.waiting_for() != wait_kind::park) return;
    if (rt_->claim(th, th.token()) == nullptr) return;
    if (from_handler) rt_->resume_now(th);
    else rt_->make_ready(th);
}

} // namespace lasio
