// SPDX-License-Identifier: MIT
// Min-heap of light threads ordered by deadline, with O(log n) removal of any entry.
#pragma once

#include "sched/light_thread.hpp"

#include <vector>

namespace lasio {

/**
 * One entry per light thread at most: a thread waits on one thing at a time, so sleeps,
 * park/join timeouts and I/O timeouts all share this heap and a single Asio timer.
 * Equal deadlines fire in arming order.
 *
 * The deadline and its arming order live in the heap entry, not in the thread's record: every
 * idle connection has a record, few have a deadline, and the record keeps only its place here.
 */
class deadline_queue {
public:
    bool empty() const { return heap_.empty(); }
    std::size_t size() const { return heap_.size(); }
    light_thread* top() const { return heap_.front().th; }
    steady_clock::time_point top_deadline() const { return heap_.front().when; }

    void push(light_thread& th, steady_clock::time_point when) {
        th.heap_index_ = static_cast<std::uint32_t>(heap_.size());
        heap_.push_back(entry{when, next_seq_++, &th});
        sift_up(th.heap_index_);
    }

    void remove(light_thread& th) {
        std::size_t i = th.heap_index_;
        if (i == light_thread::npos) return;
        th.heap_index_ = light_thread::npos;
        entry last = heap_.back();
        heap_.pop_back();
        if (last.th == &th) return;
        place(i, last);
        sift_down(i);
        sift_up(last.th->heap_index_);
    }

    void clear() {
        for (const entry& e : heap_) e.th->heap_index_ = light_thread::npos;
        heap_.clear();
    }

private:
    struct entry {
        steady_clock::time_point when;
        std::uint64_t seq; // arming order among equal deadlines
        light_thread* th;
    };

    static bool earlier(const entry& a, const entry& b) {
        if (a.when != b.when) return a.when < b.when;
        return a.seq < b.seq;
    }

    void place(std::size_t i, const entry& e) {
        heap_[i] = e;
        e.th->heap_index_ = static_cast<std::uint32_t>(i);
    }

    void sift_up(std::size_t i) {
        entry e = heap_[i];
        while (i > 0) {
            std::size_t parent = (i - 1) / 2;
            if (!earlier(e, heap_[parent])) break;
            place(i, heap_[parent]);
            i = parent;
        }
        place(i, e);
    }

    void sift_down(std::size_t i) {
        entry e = heap_[i];
        std::size_t n = heap_.size();
        for (;;) {
            std::size_t child = 2 * i + 1;
            if (child >= n) break;
            if (child + 1 < n && earlier(heap_[child + 1], heap_[child])) ++child;
            if (!earlier(heap_[child], e)) break;
            place(i, heap_[child]);
            i = child;
        }
        place(i, e);
    }

    std::vector<entry> heap_;
    std::uint64_t next_seq_ = 0;
};

} // namespace lasio
