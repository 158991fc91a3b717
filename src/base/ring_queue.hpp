// SPDX-License-Identifier: MIT
// FIFO of small trivially copyable values in one power-of-two ring that only ever grows.
#pragma once

#include <cstddef>
#include <type_traits>
#include <vector>

namespace lasio {

/**
 * The ready queue takes a push and a pop per resume. std::deque costs a branchy out-of-line
 * call per push and frees and reallocates its blocks as the queue breathes; a ring sized to
 * the longest queue seen does neither.
 */
template <class T>
class ring_queue {
    static_assert(std::is_trivially_copyable_v<T>);

public:
    bool empty() const { return count_ == 0; }
    std::size_t size() const { return count_; }

    /// Makes room for one more push_back, which then cannot throw.
    void reserve_one() {
        if (count_ == items_.size()) grow();
    }

    void push_back(const T& value) {
        if (count_ == items_.size()) grow();
        items_[(head_ + count_) & (items_.size() - 1)] = value;
        ++count_;
    }

    T pop_front() {
        T value = items_[head_];
        head_ = (head_ + 1) & (items_.size() - 1);
        --count_;
        return value;
    }

    void clear() { head_ = count_ = 0; }

private:
    void grow() {
        std::vector<T> bigger(items_.empty() ? 64 : items_.size() * 2);
        std::size_t mask = items_.size() - 1;
        for (std::size_t i = 0; i < count_; ++i) bigger[i] = items_[(head_ + i) & mask];
        items_.swap(bigger);
        head_ = 0;
    }

    std::vector<T> items_;
    std::size_t head_ = 0;
    std::size_t count_ = 0;
};

} // namespace lasio
