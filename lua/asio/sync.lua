-- SPDX-License-Identifier: MIT
--- Coordination between light threads, written in Lua on top of four core primitives:
-- `asio.current`, `asio.park`, `asio.wake` and the thread handle's `status`/`join`/`kill`.
--
-- Adds to `asio`:
--
-- * `channel([capacity])` with `send`, `recv`, `close`, `len` (and `#ch`), `iter`
--   (asio.sync.channel);
-- * `select(cases [, timeout])` (asio.sync.select);
-- * `mutex()`, `rwlock()`, `semaphore(n)` (asio.sync.locks);
-- * `event()`, `condition()`, `waitgroup()` (asio.sync.events);
-- * `wait_all(th...)`, `wait_any(th...)` (asio.sync.threads).
--
-- Common rules: every waiting call takes an optional timeout in seconds (nil waits forever,
-- 0 never waits) and returns true (or its value) on success, `nil, "timeout"` when the timeout
-- passes; a call that would have to wait outside a light thread raises
-- "<name>: not called from a light thread" before changing anything, while calls that complete
-- at once work anywhere; bad arguments raise "bad argument #n to '<name>' (...)". Waiters are
-- served in FIFO order, and a light thread killed while waiting leaves the primitive consistent
-- (asio.sync.waitq explains how items handed to a thread that is killed before it runs come back).
--
-- Kill safety needs to know when a thread is killed: the core tells asio.sync.waitq of every
-- kill (`asio._on_kill`, listened to from first use on), which then gives back whatever was
-- handed to a thread that can no longer resume, withdraws the queued tickets of a killed waiter,
-- lets in the readers a killed waiting writer held back, and kills the helper threads of a
-- killed `wait_any`.
--
-- Choices where the specification left room:
--
-- * channels are `newproxy` userdata so that `#ch` works on stock LuaJIT; `ch:len()` too;
-- * `wait_all` returns one table `{ok, ...; n = k}` per thread (what `join` returned);
--   `wait_any` returns the winner's argument index followed by what its `join` returned;
-- * a thread killed (or ended) while holding a mutex or write lock leaves it held; the next
--   `lock`/`rlock`/`wlock` raises "... held by a dead light thread";
-- * a value, lock, permit or signal handed to a waiter that is killed before it resumes is
--   given back (to the next waiter, or to the primitive), never lost.
--
-- Usage: `require('asio.sync')(asio)` once, from the module that builds the `asio` table.
-- @module asio.sync

--- Adds channels and select to `asio` (shared channels' methods too: a channel can arrive in a
-- state before any function of asio is called). Returns the installer of the other parts, which
-- the module loads on first use: install_part('locks' | 'events' | 'threads').
-- @tparam table asio the module table with the core primitives
-- @treturn function install_part
return function(asio)
  -- Every part installs itself the same way: install(asio, W [, what it builds on]).
  local W = require('asio.sync.waitq').new(asio)
  local chan = require('asio.sync.channel').install(asio, W)
  local sc = asio._sc_methods and require('asio.sync.shared_channel').install(asio, W)
  require('asio.sync.select').install(asio, W, chan, sc)
  -- For tests: handoffs whose waiter has not resumed yet (0 once the loop is idle).
  asio._sync_pending_handoffs = W.pending_handoffs
  return function(part)
    require('asio.sync.' .. part).install(asio, W)
  end
end
