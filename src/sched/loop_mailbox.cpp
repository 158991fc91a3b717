// SPDX-License-Identifier: MIT
// Tasks and wake-ups from other OS threads: queued under one lock, handed to the loop in batches.
#include "sched/loop_mailbox.hpp"

#include "sched/runtime.hpp"

#include <boost/asio/post.hpp>

namespace lasio {

bool loop_mailbox::enqueue(task* fn, bool wake) {
    task refused; // destroyed after the lock is released: its captures may post in turn
    std::lock_guard<std::mutex> lock(mutex_);
    if (io_ == nullptr) return false;
    bool pushed = false;
    try {
        if (fn != nullptr) {
            queued_.push_back(std::move(*fn));
            pushed = true;
        }
        // One handler per batch: a thread posting a million tasks costs the loop one handler
        // per turn, not a million.
        if (!posted_.load(std::memory_order_relaxed)) {
            // A loop watching for us (spin_for_mailbox) takes the batch itself: no handler to
            // post, no reactor to interrupt.
            if (spinning_.load(std::memory_order_acquire)) direct_ = true;
            else net::post(*io_, [self = shared_from_this()] { self->deliver(); });
            posted_.store(true, std::memory_order_release);
        }
    } catch (...) { // no memory: the task is not queued
        if (pushed) {
            refused = std::move(queued_.back());
            queued_.pop_back();
        }
        return false;
    }
    if (wake) wake_ = true;
    return true;
}

bool loop_mailbox::closed() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return io_ == nullptr;
}

void loop_mailbox::deliver() {
    bool wake;
    bool polling;
    runtime* rt;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        rt = rt_;
        if (rt == nullptr) return; // closed
        // Swapped, not copied: both vectors keep their capacity, so a steady stream of tasks
        // allocates nothing here.
        running_.swap(queued_);
        wake = wake_;
        wake_ = false;
        // io_context::poll also runs the handlers posted while it runs: a thread that posts
        // without pause would keep a poll from ever returning. While polling, this handler
        // stays posted (the others queue their tasks behind it, posting nothing) and the poll's
        // end posts the next one (repost_after_poll): one batch per poll.
        polling = rt->polling();
        if (!polling) posted_.store(false, std::memory_order_release);
    }
    // Tasks posted while these run go to the next batch, behind a handler of their own: the
    // batch is bounded by what was queued when it began.
    {
        struct clear_batch { // should a task throw after all, the batch never runs twice
            std::vector<task>& batch;
            ~clear_batch() { batch.clear(); }
        } clear{running_};
        for (task& t : running_) t();
    }
    if (wake) rt->wake_up();
    if (polling) rt->hold_mailbox();
}

bool loop_mailbox::end_spin() {
    std::lock_guard<std::mutex> lock(mutex_);
    spinning_.store(false, std::memory_order_release);
    bool direct = direct_;
    direct_ = false;
    return direct;
}

void loop_mailbox::repost_after_poll() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (io_ == nullptr) return;
    if (queued_.empty() && !wake_) {
        posted_.store(false, std::memory_order_release);
        return;
    }
    try {
        net::post(*io_, [self = shared_from_this()] { self->deliver(); });
    } catch (...) { // no memory: the next post posts it
        posted_.store(false, std::memory_order_release);
    }
}

void loop_mailbox::close() {
    std::vector<task> dropped; // destroyed outside the lock: a task's captures may post (refused)
    std::lock_guard<std::mutex> lock(mutex_);
    rt_ = nullptr;
    io_ = nullptr;
    dropped.swap(queued_);
    wake_ = false;
    direct_ = false;
    posted_.store(false, std::memory_order_release);
}

} // namespace lasio
