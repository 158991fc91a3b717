// SPDX-License-Identifier: MIT
// A mutex for critical sections of a few dozen instructions shared by busy OS threads.
#pragma once

#include <mutex>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace lasio {

/**
 * std::mutex that tries a while before it sleeps. A shared channel's lock is held for a push or
 * a pop; when a producer and a consumer state run on two cores, the holder leaves it sooner than
 * a futex sleep and wake-up take (a profile of one-way messages at capacity 256 showed the
 * sleeps and wakes of the contended lock among the top costs). Same interface as std::mutex, so
 * std::lock_guard and the thread sanitizer see an ordinary mutex.
 */
class brief_mutex {
public:
    void lock() {
        if (!m_.try_lock()) lock_contended();
    }
    bool try_lock() { return m_.try_lock(); }
    void unlock() { m_.unlock(); }

private:
    // Out of line: one copy of the spinning for the many places that lock.
    [[gnu::noinline]] void lock_contended() {
        for (int i = 0; i < spins; ++i) {
            relax();
            if (m_.try_lock()) return;
        }
        m_.lock();
    }

    // About a microsecond on current x86-64 cores: longer than the sections it guards.
    static constexpr int spins = 64;

    static void relax() {
#if defined(__x86_64__) || defined(__i386__)
        _mm_pause();
#endif
    }

    std::mutex m_;
};

} // namespace lasio
