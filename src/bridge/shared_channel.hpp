// SPDX-License-Identifier: MIT
// Shared channels: bounded FIFO queues of copied values between Lua states on any OS threads.
#pragma once

#include "bridge/brief_mutex.hpp"
#include "sched/light_thread.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace lasio {

class runtime;
class loop_mailbox;
class shared_channel;
class channel_waiter;

/**
 * A channel named by a value in flight (an encoded buffer nobody has decoded yet): the channel
 * counts it as reachable from elsewhere while it lives, so waits on it keep their loops running.
 */
class channel_ref {
public:
    explicit channel_ref(std::shared_ptr<shared_channel> ch);
    channel_ref(channel_ref&& other) noexcept = default;
    channel_ref& operator=(channel_ref&& other) noexcept;
    channel_ref(const channel_ref&) = delete;
    channel_ref& operator=(const channel_ref&) = delete;
    ~channel_ref();

    const std::shared_ptr<shared_channel>& get() const { return ch_; }

private:
    void release();
    std::shared_ptr<shared_channel> ch_;
};

/// The channels an encoded buffer names, by index (see value_codec).
using codec_refs = std::vector<channel_ref>;

/// An encoded value's bytes. Small values (a short string, a table of a few fields) fit inline:
/// the buffer is made on one OS thread and dropped on another, and a malloc and a cross-thread
/// free per message cost a one-way stream of small tables about a tenth of its rate.
class message_bytes {
public:
    void assign(const char* data, std::size_t size) {
        heap_.reset(size > sizeof inline_ ? new char[size] : nullptr);
        std::memcpy(heap_ ? heap_.get() : inline_, data, size);
        size_ = size;
    }
    const char* data() const { return heap_ ? heap_.get() : inline_; }
    std::size_t size() const { return size_; }

private:
    char inline_[48] = {};
    std::unique_ptr<char[]> heap_;
    std::size_t size_ = 0;
};

/// One encoded value travelling through a channel, with the channels it names.
struct channel_message {
    message_bytes bytes;
    codec_refs refs;
};

enum class channel_op : unsigned char { recv, send };

/**
 * The thread-safe part of asio.shared_channel. Every state holding the channel has a handle
 * (a userdata) naming this object; operations never block: they complete at once, report that
 * the channel is closed, or report that the caller has to wait. Waiting is a channel_waiter
 * registered on the channel and woken, through its loop, when the operation may have become
 * possible: the woken light thread tries again (nothing is handed to a waiter, so nothing is
 * lost when it is killed or times out before it runs).
 *
 * Capacity 0 is a rendezvous: a send completes only while a receiver waits, and the value is
 * then queued for it (if that receiver gives up before it takes the value, the value waits in
 * the channel for the next receiver: never lost, never received twice).
 *
 * Sharing: a channel is shared while two or more live states hold it, or a value naming it is in
 * flight. A channel that was shared and is no longer (every other state holding it ended) closes
 * itself: its buffered values can still be received, then receivers get "closed", and senders
 * get "closed" at once instead of waiting for a receiver that can no longer exist.
 */
class shared_channel : public std::enable_shared_from_this<shared_channel> {
public:
    static constexpr std::size_t unbounded = std::numeric_limits<std::size_t>::max();
    enum class result : unsigned char { done, closed, would_wait };

    explicit shared_channel(std::size_t capacity) : capacity_(capacity) { ++live_count_; }
    ~shared_channel() { --live_count_; }
    shared_channel(const shared_channel&) = delete;
    shared_channel& operator=(const shared_channel&) = delete;

    // Any OS thread. caller: the calling state's runtime (its own waiters are woken straight
    // into its ready queue) or nullptr (every wake goes through the waiter's loop mailbox).

    /// Queues m (moved from on done).
    result try_send(channel_message& m, runtime* caller);
    /// Takes the oldest value into m.
    result try_recv(channel_message& m, runtime* caller);
    /// Closes the channel and wakes every waiter; false when it was closed already.
    bool close(runtime* caller);

    bool closed() const;
    std::size_t size() const;
    std::size_t capacity() const { return capacity_; }
    /// Live states holding the channel (for tostring and specs).
    int members() const;
    /// Channels not freed yet, in the whole process (for specs: the last reference frees).
    static long live_count() { return live_count_.load(); }

    /// A state starts holding the channel (its first handle of it).
    void join_state(runtime* caller);
    /// A state holding the channel ended.
    void leave_state(runtime* caller);
    /// A value naming the channel is created or destroyed (channel_ref).
    void ref_in_flight();
    void unref_in_flight();

private:
    friend class channel_waiter;
    struct wake_note {
        std::shared_ptr<channel_waiter> waiter;
        std::uint32_t generation = 0;
    };
    using waiter_list = std::vector<std::shared_ptr<channel_waiter>>;

    /**
     * Registers w for op unless op could complete now (then true, and w is not registered).
     * counted: whether the channel is shared (the wait then keeps w's loop running).
     */
    bool arm(channel_waiter& w, channel_op op, runtime* caller, bool& counted);
    void disarm(const channel_waiter& w, channel_op op);
    /// Wakes one more waiter for op: one that was woken left without trying.
    void pass_on(channel_op op, runtime* caller);

    // --- under mutex_ ---
    bool shared_locked() const { return members_ >= 2 || in_flight_ > 0; }
    bool ready_locked(channel_op op);
    /// Claims the oldest registered waiter of list that is still waiting (dropping the others).
    bool take_one_locked(waiter_list& list, channel_op op, bool passes_on, wake_note& note);
    void take_all_locked(waiter_list& list, channel_op op, std::vector<wake_note>& notes);
    /// Closes when the channel was shared and no longer is; returns the waiters to wake.
    bool close_if_abandoned_locked(std::vector<wake_note>& notes);

    static void wake(const wake_note& note, runtime* caller);
    static void wake_all(const std::vector<wake_note>& notes, runtime* caller);

    static inline std::atomic<long> live_count_{0};
    const std::size_t capacity_;
    mutable brief_mutex mutex_;
    std::deque<channel_message> buffer_;
    waiter_list receivers_;
    waiter_list senders_;
    bool closed_ = false;
    bool was_shared_ = false;
    int members_ = 0;
    long in_flight_ = 0;
};

/**
 * One light thread's wait on one or more shared channels (a select may wait on several): armed
 * on each before the thread parks, woken once by the first channel where its operation may now
 * complete, disarmed after the thread tried again. Made and used on its runtime's OS thread;
 * other threads only claim it (an atomic state) and post its wake to that runtime's mailbox.
 */
class channel_waiter : public std::enable_shared_from_this<channel_waiter> {
public:
    explicit channel_waiter(runtime& rt);
    ~channel_waiter();
    channel_waiter(const channel_waiter&) = delete;
    channel_waiter& operator=(const channel_waiter&) = delete;

    /**
     * Registers the running light thread th for op on ch, unless op could complete now (true:
     * the caller tries it, then disarms). The thread then parks (asio.park): a wake ends that
     * park with no values.
     */
    bool arm(const std::shared_ptr<shared_channel>& ch, channel_op op, light_thread& th);
    /**
     * Unregisters from every channel armed on. done: the channel and op the thread completed
     * after its wake (nullptr: none). A wake that came from another channel or op, for an
     * operation the thread did not complete, is passed on to the next waiter there.
     */
    void disarm(const shared_channel* done, channel_op done_op);
    bool armed() const { return !armed_.empty(); }

private:
    friend class shared_channel;
    enum state : int { idle, waiting, woken };

    /// Runs on the waiter's OS thread: resumes its parked thread if the wake is still current.
    void wake_here(std::uint32_t generation, bool from_handler);

    runtime* const rt_;
    const std::shared_ptr<loop_mailbox> mailbox_;
    // The loop's thread only.
    thread_ptr th_;
    std::vector<std::pair<std::shared_ptr<shared_channel>, channel_op>> armed_;
    bool counted_ = false;
    // Shared: claimed by compare-and-swap from waiting to woken, by exactly one channel.
    std::atomic<int> state_{idle};
    std::atomic<std::uint32_t> generation_{0};
    // Written by the channel that won state_, under its mutex; read after disarm took it.
    const shared_channel* woken_by_ = nullptr;
    channel_op woken_for_ = channel_op::recv;
    bool passes_on_ = false;
};

} // namespace lasio
