// SPDX-License-Identifier: MIT
// Connection mechanics: the read buffer, reactor-style reads, the extras, cancel and close.
#include "net/stream.hpp"

#include "base/lua_bridge.hpp"
#include "net/stream_extras.hpp"
#include "sched/pending.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/version.hpp>

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

// Where the reactor is epoll (Linux), check that a read wait fits the storage sized for it.
#if defined(BOOST_ASIO_HAS_EPOLL) && !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT) && BOOST_ASIO_VERSION == 102600
#include <boost/asio/detail/reactive_wait_op.hpp>
#define LASIO_CHECK_READ_WAIT_SIZE 1
#endif

namespace lasio {

#if defined(__x86_64__) && defined(__GLIBC__)
// With make_shared's 16-byte control block: 248 bytes, a 256-byte malloc chunk (every idle
// connection has one).
static_assert(sizeof(stream) <= 232, "stream outgrew its malloc chunk");
#endif

/**
 * The completion of a plain stream's read wait. It keeps the stream alive while the wait is in
 * flight, counts in asio._stats().pending until it runs or is dropped (as counted() does, whose
 * wrapper would make it 8 bytes too large for the storage), and has Asio build the operation in
 * the stream's read_wait_storage: only one read wait is ever in flight (read_waiting_), and Asio
 * frees an operation's memory before it runs its handler.
 */
class stream::read_wait_handler {
public:
    template <class T>
    struct allocator {
        using value_type = T;
        explicit allocator(read_wait_storage* storage) noexcept : storage(storage) {}
        template <class U>
        allocator(const allocator<U>& other) noexcept : storage(other.storage) {}
        // Whether a block lives in the storage depends on its size alone, so freeing needs no
        // state: the handler that frees it may be another than the one that made it.
        static constexpr bool fits(std::size_t n) {
            return n * sizeof(T) <= sizeof(read_wait_storage) && alignof(T) <= alignof(read_wait_storage);
        }
        T* allocate(std::size_t n) {
            if (fits(n)) return reinterpret_cast<T*>(storage->bytes);
            return static_cast<T*>(::operator new(n * sizeof(T)));
        }
        void deallocate(T* p, std::size_t n) noexcept {
            if (!fits(n)) ::operator delete(p);
        }
        template <class U>
        bool operator==(const allocator<U>& other) const noexcept { return storage == other.storage; }
        template <class U>
        bool operator!=(const allocator<U>& other) const noexcept { return storage != other.storage; }
        read_wait_storage* storage;
    };
    using allocator_type = allocator<void>;

    explicit read_wait_handler(std::shared_ptr<stream> s) : s_(std::move(s)) { ++s_->rt_->stats().pending; }
    read_wait_handler(read_wait_handler&& other) noexcept = default;
    read_wait_handler(const read_wait_handler&) = delete;
    read_wait_handler& operator=(const read_wait_handler&) = delete;
    read_wait_handler& operator=(read_wait_handler&&) = delete;
    ~read_wait_handler() {
        if (s_) --s_->rt_->stats().pending;
    }

    allocator_type get_allocator() const noexcept { return allocator_type(s_ ? &s_->read_wait_ : nullptr); }

    void operator()(const error_code& ec) {
        std::shared_ptr<stream> s = std::move(s_);
        runtime& rt = *s->rt_;
        --rt.stats().pending; // this operation is over
        // The body runs as a counted handler: whatever counted() does around the handlers of all
        // other operations is done around this one too.
        counted(rt, [&] { s->on_read_ready(ec); })();
    }

private:
    std::shared_ptr<stream> s_;
};

stream::stream(runtime_ptr rt, socket_type socket)
    : io_object(std::move(rt)), closed_(false), socket_live_(false), layered_(false), read_waiting_(false),
      drained_(false), write_waiting_(false), request_in_extras_(false) {
    new (&socket_.value) socket_type(std::move(socket));
    socket_live_ = true;
    error_code ec;
    socket_.value.non_blocking(true, ec);
    ++rt_->stats().sockets;
}

stream::~stream() {
    // The Lua side is gone; make sure the descriptor is too.
    if (!closed_) {
        closed_ = true;
        --rt_->stats().sockets;
    }
    extras_.reset(); // a layer refers to the socket
    if (socket_live_) socket_.value.~socket_type();
}

stream::extras& stream::more() {
    if (!extras_) extras_ = std::make_unique<extras>(*this);
    return *extras_;
}

std::shared_ptr<layer_owner> stream::as_layer_owner() {
    // Shares the stream's ownership and points at the adapter, which lives as long as it does.
    return std::shared_ptr<layer_owner>(shared_from_this(), &extras_->reports);
}

const stream_timeouts& stream::timeouts() const {
    static const stream_timeouts none;
    return extras_ ? extras_->timeouts : none;
}

void stream::set_timeouts(const stream_timeouts& t) {
    if (extras_ || t.connect >= 0 || t.send >= 0 || t.read >= 0) more().timeouts = t;
}

double stream::read_timeout() const { return extras_ ? extras_->timeouts.read : -1; }

stream_layer* stream::layer() const { return extras_ ? extras_->layer.get() : nullptr; }

void stream::set_layer(std::unique_ptr<stream_layer> layer) {
    more().layer = std::move(layer);
    layered_ = extras_->layer != nullptr;
}

void stream::set_handshaking(bool on) { more().handshaking = on; }

bool stream::handshaking() const { return extras_ && extras_->handshaking; }

bool stream::busy() const { return reader_.th != nullptr || (extras_ && extras_->writer.th != nullptr); }

const error_code& stream::write_error() const {
    static const error_code none;
    return extras_ ? extras_->write_error : none;
}

// --- reading --------------------------------------------------------------------------------

error_code stream::read_error() const {
    switch (read_error_kind_) {
    case 1: return error_code(read_error_value_, boost::system::system_category());
    case 2: return error_code(read_error_value_, net::error::get_misc_category());
    default: return extras_->read_error;
    }
}

void stream::set_read_error(const error_code& ec) {
    read_error_value_ = ec.value();
    if (ec.category() == boost::system::system_category()) {
        read_error_kind_ = 1;
    } else if (ec.category() == net::error::get_misc_category()) {
        read_error_kind_ = 2;
    } else {
        more().read_error = ec;
        read_error_kind_ = 3;
    }
}

stream::read_buffer& stream::buffer() {
    if (!rbuf_) rbuf_ = std::make_unique<read_buffer>();
    return *rbuf_;
}

void stream::consume(std::size_t n) {
    if (!rbuf_) return;
    read_buffer& b = *rbuf_;
    b.pos += n;
    b.scanned = 0;
    if (b.pos < b.bytes.size()) {
        // Keep the live part at the front once the dead prefix dominates.
        if (b.pos > b.bytes.size() / 2 && b.pos > 4096) {
            b.bytes.erase(0, b.pos);
            b.pos = 0;
        }
        return;
    }
    b.pos = 0;
    if (b.bytes.capacity() > keep_buffer_capacity) std::string().swap(b.bytes);
    else b.bytes.clear();
}

int stream::deliver(lua_State* L, const read_request& req, const frame& f) {
    if (f.found == frame::state::too_long) {
        rbuf_->scanned = 0; // too long: there were bytes
        return push_fail(L, err::too_long); // the bytes stay buffered
    }
    if (req.what == read_request::kind::ready) {
        lua_pushboolean(L, 1);
        return 1;
    }
    copy_guard copying(*this);
    lua_pushlstring(L, buffered().data(), f.length);
    consume(f.consume);
    return 1;
}

int stream::deliver_failure(lua_State* L, const read_request& req, const char* msg) {
    copy_guard copying(*this);
    std::string_view partial = buffered();
    if (req.what == read_request::kind::some || req.what == read_request::kind::ready || partial.empty())
        return push_fail(L, msg);
    int n = push_fail(L, msg, partial);
    consume(partial.size());
    return n;
}

/// Completes req from the buffer and from what the socket has now. Returns the number of
/// results pushed onto stack() or 0 when it must wait; stack() is called only to deliver.
template <class Stack>
int stream::advance_read(const read_request& req, Stack&& stack) {
    for (;;) {
        std::size_t nothing_scanned = 0;
        frame f = find_frame(req, buffered(), rbuf_ ? rbuf_->scanned : nothing_scanned);
        if (f.found != frame::state::need_more) return deliver(stack(), req, f);
        if (read_failed()) return deliver_failure(stack(), req, error_string(read_error()).c_str());
        // A layer's bytes arrive only through its asynchronous read; a drained socket is left to
        // the reactor, which says when the kernel has data (no EAGAIN round trip).
        if (layered_ || drained_) return 0;
        // The socket may have bytes: read_into's wait ends here and reads them itself.
        if (req.what == read_request::kind::ready) {
            lua_pushboolean(stack(), 1);
            return 1;
        }
        error_code ec;
        scratch_lease lease(*rt_);
        if (lease.get() == nullptr) {
            // A finalizer reading while another copy holds the scratch buffer: read in place.
            std::string& bytes = buffer().bytes;
            std::size_t old = bytes.size();
            bytes.resize(old + runtime::scratch_size);
            std::size_t got = socket_.value.read_some(net::buffer(&bytes[old], runtime::scratch_size), ec);
            bytes.resize(old + got);
            if (would_block(ec)) {
                drained_ = true;
                return 0;
            }
            if (ec) set_read_error(ec);
            else drained_ = got < runtime::scratch_size;
            continue;
        }
        char* scratch = lease.get();
        std::size_t got = socket_.value.read_some(net::buffer(scratch, runtime::scratch_size), ec);
        if (would_block(ec)) {
            drained_ = true;
            return 0;
        }
        if (ec) {
            set_read_error(ec);
            continue;
        }
        drained_ = got < runtime::scratch_size;
        if (req.what == read_request::kind::some && buffered().empty()) {
            // Hand the bytes straight from the scratch buffer: no copy for the echo path. The
            // rest is kept first: the copy may run a finalizer that closes this stream.
            std::size_t k = std::min(got, req.n);
            if (got > k) {
                read_buffer& b = buffer();
                b.bytes.assign(scratch + k, got - k);
                b.pos = 0;
            }
            copy_guard copying(*this);
            lua_pushlstring(stack(), scratch, k);
            return 1;
        }
        buffer().bytes.append(scratch, got);
    }
}

void stream::refuse_read(lua_State* L, const char* fn) const {
    if (reader_.th != nullptr)
        luaL_error(L, "%s: another light thread is already reading this connection", fn);
    if (copying_ > 0) luaL_error(L, "%s: this connection is delivering a read (a finalizer may not read it)", fn);
    if (handshaking()) luaL_error(L, "%s: a TLS handshake or shutdown is in progress on this connection", fn);
}

std::size_t stream::read_now(char* dst, std::size_t cap, error_code& ec) {
    if (std::string_view have = buffered(); !have.empty()) {
        std::size_t n = std::min(cap, have.size());
        std::memcpy(dst, have.data(), n);
        consume(n);
        return n;
    }
    if (read_failed()) {
        ec = read_error();
        return 0;
    }
    // A layer's bytes arrive only through its asynchronous read, into the buffer, for the next
    // call. (A plain read wait still in flight holds no bytes: reading past it loses nothing.)
    if (layered_) return 0;
    std::size_t got = socket_.value.read_some(net::buffer(dst, cap), ec);
    if (would_block(ec)) {
        ec = {};
        drained_ = true;
        return 0;
    }
    if (ec) {
        set_read_error(ec);
        return 0;
    }
    drained_ = got < cap;
    return got;
}

int stream::read(lua_State* L, light_thread& th, read_request req) {
    if (closed_) return push_fail(L, err::closed);
    refuse_read(L, "read");
    bool fast = rt_->take_fast_path();
    if (fast) {
        if (int n = advance_read(req, [L] { return L; })) return n;
    }
    // Yield first: where the coroutine cannot yield (inside a call from C) it raises, and no
    // wait has been committed yet. Nothing below touches L's stack.
    bool in_extras = req.what == read_request::kind::until || req.n > std::numeric_limits<std::uint32_t>::max();
    if (in_extras) more(); // may raise (no memory): before the yield
    int suspended = rt_->yield_holding(L, 1);
    request_kind_ = req.what;
    request_in_extras_ = in_extras;
    if (in_extras) extras_->waiting_request = std::move(req);
    else reader_.owner_word = static_cast<std::uint32_t>(req.n);
    reader_.begin(*rt_, th, this, read_timeout());
    if (fast) {
        start_read_wait();
    } else {
        // Out of budget: let the others run once, then try again as if the socket were ready.
        read_waiting_ = true;
        net::post(rt_->io(), counted(*rt_, [self = shared_from_this()] { self->on_read_ready({}); }));
    }
    return suspended;
}

template <class F>
int stream::with_request(F&& f) {
    if (request_in_extras_) return f(static_cast<const read_request&>(extras_->waiting_request));
    read_request req;
    req.what = request_kind_;
    req.n = reader_.owner_word;
    return f(static_cast<const read_request&>(req));
}

void stream::start_read_wait() {
    if (read_waiting_) return; // the wait in flight will serve the current reader
    read_waiting_ = true;
    if (layered_) {
        ++rt_->stats().pending; // the layer's handler is counted down in on_layer_read
        return extras_->layer->start_read(as_layer_owner());
    }
    // A wait, not a receive: an idle connection holds no buffer, and the bytes are read into the
    // scratch buffer once they are there. Asio starts a wait without trying it first and re-arms
    // the descriptor (EPOLL_CTL_MOD), which reports data that came in since the socket was found
    // empty: no readiness is lost between that read and this wait.
#ifdef LASIO_CHECK_READ_WAIT_SIZE
    static_assert(sizeof(net::detail::reactive_wait_op<read_wait_handler, net::io_context::executor_type>) <=
                  sizeof(read_wait_storage));
#endif
    socket_.value.async_wait(socket_type::wait_read, read_wait_handler(shared_from_this()));
}

void stream::on_read_ready(const error_code& ec) {
    read_waiting_ = false;
    if (closed_) end_wait_closed(*rt_, reader_); // close() woke it: only a bug would leave one
    if (rt_->closing() || closed_) return;
    // Readable, or a bare abort (a wait of this socket was cancelled): look again, even if the
    // reader left (timed out, killed), so that the next read tries the socket before waiting.
    drained_ = false;
    if (reader_.th == nullptr) return;
    if (ec && ec != net::error::operation_aborted) set_read_error(ec);
    // The reader leaves the slot before its results are made: a finalizer run by making them
    // may close this stream, and must find nobody left to wake.
    claimed_waiter w;
    int n = with_request([&](const read_request& req) {
        return advance_read(req, [this, &w] {
            w = reader_.take(*rt_);
            return w.co;
        });
    });
    if (n == 0) {
        start_read_wait();
        return;
    }
    rt_->resume_now(*w.th);
}

void stream::on_layer_read(const error_code& layer_ec, const char* data, std::size_t n) {
    --rt_->stats().pending;
    error_code ec = adopt_error(layer_ec);
    if (!rt_->closing() && !closed_ && n > 0) buffer().bytes.append(data, n);
    if (ec && ec != net::error::operation_aborted && !read_failed()) set_read_error(ec);
    on_read_ready(ec);
}

// --- cancel and close ---------------------------------------------------------------------------

/**
 * Cancelling uses socket.cancel(), which aborts the other direction's operation too: both
 * handlers take a bare operation_aborted as "look again" and carry on, so the waiter on the other
 * side never notices. A per-operation cancellation slot would avoid that at the price of memory
 * per connection and work per operation.
 */
int stream::cancel_wait(light_thread& th, lua_State* co) {
    if (reader_.th.get() == &th) {
        reader_.forget(); // keeps the request's count, which the timeout's results read below
        // A wait moves no bytes, so none is lost. A TLS read stays in flight and appends what
        // it gets to the buffer for the next reader.
        if (!layered_) {
            error_code ec;
            socket_.value.cancel(ec);
        }
        if (co == nullptr) return 0;
        return with_request([&](const read_request& req) { return deliver_failure(co, req, err::timeout); });
    }
    if (extras_ && extras_->writer.th.get() == &th) {
        extras& x = *extras_;
        x.writer = {};
        std::size_t sent = x.wtotal - (x.output_size() - x.wpos);
        if (layered_) {
            // A TLS record cut in the middle cannot be resumed: the session is over. The write
            // in flight still reads the buffer: close() leaves it to the write's handler.
            close();
        } else {
            x.clear_output(); // the string it held leaves with its stack
            error_code ec;
            socket_.value.cancel(ec);
        }
        if (co == nullptr) return 0;
        lua_pushnil(co);
        lua_pushstring(co, err::timeout);
        lua_pushinteger(co, static_cast<lua_Integer>(sent));
        return 3;
    }
    return 0;
}

void stream::close() {
    if (closed_) return;
    closed_ = true;
    --rt_->stats().sockets;
    // What stays behind (this object, Asio's descriptor state until it is reused) goes only once
    // the collector finalizes the userdata, and the collector cannot see it.
    rt_->owe_collector(closed_object_charge);
    error_code ec;
    if (socket_live_) socket_.value.close(ec); // pending waits complete with operation_aborted
    end_wait_closed(*rt_, reader_);
    if (extras_) end_wait_closed(*rt_, extras_->writer);
    release_buffers();
}

void stream::release_buffers() {
    // A copy into Lua in progress (see copy_guard) releases the read buffer when it ends; a
    // TLS write in flight reads the write buffer until its handler runs, which releases it.
    if (copying_ == 0) rbuf_.reset();
    if (!write_waiting_ && extras_) {
        extras_->clear_output();
        std::string().swap(extras_->wbuf);
    }
}

void stream::release_io() {
    close();
    if (extras_) extras_->layer.reset(); // it refers to the socket
    layered_ = false;
    if (socket_live_) {
        socket_live_ = false;
        socket_.value.~socket_type();
    }
}

} // namespace lasio
