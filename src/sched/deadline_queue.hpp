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
 */
class deadline_queue {
public:
    bool empty() const { return heap_.empty(); }
    std::size_t size() const { return heap_.size(); }
    light_thread* top() const { return heap_.front(); }

    void push(light_thread& th, steady_clock::time_point when) {
        th.deadline_ = when;
        th.deadline_seq_ = next_seq_++;
        th.heap_index_ = heap_.size();
        heap_.push_back(&th);
        sift_up(th.heap_index_);
    }

    void remove(light_thread& th) {
        std::size_t i = th.heap_index_;
        if (i == light_thread::npos) return;
        th.heap_index_ = light_thread::npos;
        light_thread* last = heap_.back();
        heap_.pop_back();
        if (last == &th) return;
        heap_[i] = last;
        last->heap_index_ = i;
        sift_down(i);
        sift_up(last->heap_index_);
    }

    void clear() {
        for (light_thread* th : heap_) th->heap_index_ = light_thread::npos;
        heap_.clear();
    }

private:
    static bool earlier(const light_thread* a, const light_thread* b) {
        if (a->deadline_ != b->deadline_) return a->deadline_ < b->deadline_;
        return a->deadline_seq_ < b->deadline_seq_;
    }

    void place(std::size_t i, light_thread* th) {
        heap_[i] = th;
        th->heap_index_ = i;
    }

    void sift_up(std::size_t i) {
        light_thread* th = heap_[i];
        while (i > 0) {
            std::size_t parent = (i - 1) / 2;
            if (!earlier(th, heap_[parent])) break;
            place(i, heap_[parent]);
            i = parent;
        }
        place(i, th);
    }

    void sift_down(std::size_t i) {
        light_thread* th = heap_[i];
        std::size_t n = heap_.size();
        for (;;) {
            std::size_t child = 2 * i + 1;
            if (child >= n) break;
            if (child + 1 < n && earlier(heap_[child + 1], heap_[child])) ++child;
            if (!earlier(heap_[child], th)) break;
            place(i, heap_[child]);
            i = child;
        }
        place(i, th);
    }

    std::vector<light_thread*> heap_;
    std::uint64_t next_seq_ = 0;
};

} // namespace lasio
