-- SPDX-License-Identifier: MIT
--- Wait queues and the parking protocol shared by every primitive of `asio.sync`.
--
-- A blocking call creates a *waiter* (the parked light thread, whether it is still waiting,
-- what it got) and one *ticket* per queue it waits in: a plain `recv` has one ticket and is its
-- own ticket; a `select` has one ticket per case. Whoever completes a wait (a sender, an unlock)
-- pops a ticket, wakes its thread with `asio.wake` and stores the outcome in the waiter, which
-- reads it when it resumes. `asio.wake` returning false means the thread is not parked: when it
-- is dead the ticket is dropped and the next one is tried; when it is alive, something else
-- already scheduled its resumption (a stray `asio.wake` from user code, or its own timeout) and
-- it is completed all the same, since it resumes into `W.wait`, which finds the outcome there.
-- Skipping it instead would lose the hand-off: the thread would queue itself again and sleep
-- while the lock is free, the event set or a value buffered.
--
-- Queues are head/tail index tables. A waiter that gives up (timeout, or another `select` case
-- fired) leaves its tickets in place, marked cancelled; pops skip them and a queue whose
-- cancelled tickets outnumber the live ones is compacted, so polling with short timeouts does
-- not grow a queue without bound.
--
-- Kill safety (the handoff ledger): when a primitive hands an item to a parked waiter (a value,
-- the lock, a permit, a signal), the waiter is woken but runs only later in the loop, and it can
-- be killed in between; a killed thread never resumes. Every such handoff is written in a
-- ledger until the waiter resumes, and the core tells of every kill (`asio._on_kill`, listened to
-- from first use on), so that killing a thread with an outstanding handoff gives the item back to
-- its primitive at once: the value goes to the next receiver or back to the front of the buffer,
-- the lock to the next waiter, the permit and the signal likewise. Nothing handed over is lost,
-- and no other waiter is left asleep because the chosen one was killed.
--
-- A thread killed while still queued (nothing handed to it yet) is handled by the same notice:
-- every thread parked in `W.wait` is *watched*, and killing it cancels its tickets at once (so a
-- busy primitive does not pile up dead waiters and their stacks) and runs the waiter's
-- `on_kill(w)`, for primitives where a queued waiter holds others back (a waiting writer of an
-- rwlock). `W.watch` offers the same to waits built on `park` directly (wait_any).
-- @module asio.sync.waitq
local M = {}

local pcall, error, type, next, setmetatable = pcall, error, type, next, setmetatable
local isyieldable = coroutine.isyieldable -- LuaJIT 2.1 (nil in 2.0)
local math_max = math.max


--- Builds the queue and parking helpers bound to one `asio` table.
-- @tparam table asio the module table holding the core primitives (park, wake, current, now)
-- @treturn table the helpers used by the primitives
function M.new(asio)
  local park, wake, current, now = asio.park, asio.wake, asio.current, asio.now
  local W = {}

  -- Whoever calls from outside a light thread (the main chunk, a timer callback) owns locks as
  -- this one sentinel, so non-blocking lock/unlock pairs also work there.
  W.MAIN = setmetatable({}, { __tostring = function() return 'main' end })

  -------------------------------------------------------------------------------------------
  -- queues
  local Queue = {}
  Queue.__index = Queue

  --- A new empty FIFO of tickets.
  function W.queue()
    return setmetatable({ first = 1, last = 0, cancelled = 0 }, Queue)
  end

  function Queue:push(t)
    local last = self.last + 1
    self.last = last
    self[last] = t
    t.q = self
    t.home = self
  end

  -- Rebuilds the array without cancelled tickets; amortised O(1) per cancellation.
  function Queue:compact()
    local j = 0
    local items = {}
    for k = self.first, self.last do
      local t = self[k]
      self[k] = nil
      if not t.cancelled then
        j = j + 1
        items[j] = t
      end
    end
    for k = 1, j do self[k] = items[k] end
    self.first, self.last, self.cancelled = 1, j, 0
  end

  --- Number of tickets in the queue, cancelled ones included (an upper bound of the waiters).
  function Queue:size()
    return self.last - self.first + 1
  end

  -- Removes and returns the oldest ticket whose waiter is still waiting, dropping the others.
  local function pop_active_slow(q)
    local first, last = q.first, q.last
    while first <= last do
      local t = q[first]
      q[first] = nil
      first = first + 1
      t.q = nil
      if t.cancelled then
        q.cancelled = q.cancelled - 1
      elseif t.w.active then
        q.first = first
        return t
      end
    end
    q.first, q.last = 1, 0
    return nil
  end

  -- Hot paths stay loop-free: LuaJIT aborts the trace of a caller that enters a loop, so the
  -- common case (the head is live) is handled before falling back to the loops.
  local function pop_active(q)
    local first = q.first
    if first > q.last then return nil end
    local t = q[first]
    if t.cancelled or not t.w.active then return pop_active_slow(q) end
    q[first] = nil
    if first == q.last then q.first, q.last = 1, 0 else q.first = first + 1 end
    t.q = nil
    return t
  end

  --- The oldest ticket that could be woken, left in the queue (dead ones are dropped).
  -- @return the ticket or nil
  function Queue:peek()
    while self.first <= self.last do
      local t = self[self.first]
      if not t.cancelled and t.w.active then return t end
      self[self.first] = nil
      self.first = self.first + 1
      t.q = nil
      if t.cancelled then self.cancelled = self.cancelled - 1 end
    end
    return nil
  end

  -- Wakes the thread of a popped ticket and marks its waiter fired; the dead are retired. One
  -- that is alive but not parked (a stray asio.wake or its timeout scheduled it, it has yet to
  -- run) is fired too: it resumes inside W.wait and takes the outcome (see the module comment).
  local function try_wake(t)
    local w = t.w
    if not wake(w.th, true) then
      local status = w.th:status()
      if status ~= 'waiting' then
        if status == 'dead' then w.active = false end
        return false
      end
    end
    w.active = false
    w.fired = t.i
    return true
  end

  --- Removes `t`, the ticket `peek` just returned, and tries to wake its thread.
  -- @return true when woken (the caller completes `t.w` right away), false when its thread is
  -- dead
  function Queue:take(t)
    self[self.first] = nil
    self.first = self.first + 1
    t.q = nil
    return try_wake(t)
  end

  local function wake_loop(q)
    while true do
      local t = pop_active(q)
      if not t or try_wake(t) then return t end
    end
  end

  --- Pops tickets until one whose thread is alive; that waiter is then completed by the caller,
  -- which must store the outcome in `t.w` right away (it resumes later, never now).
  -- @return the ticket, or nil when no live waiter is left
  function Queue:wake_next()
    local t = pop_active(self)
    if not t or try_wake(t) then return t end
    return wake_loop(self)
  end

  -- Marks a queued ticket as given up; compaction keeps polling waiters from growing the queue.
  local function cancel(t)
    local q = t.q
    if not q or t.cancelled then return end
    t.cancelled = true
    local c = q.cancelled + 1
    q.cancelled = c
    if c > 16 and c * 2 > q.last - q.first + 1 then q:compact() end
  end

  -------------------------------------------------------------------------------------------
  -- the handoff ledger
  local ledger = {} -- waiter -> true while an item handed to it awaits its resumption
  local hooked = false
  -- Light thread -> the waiter it is parked in. Weak both ways: the waiter reaches its thread,
  -- and LuaJIT has no ephemerons; the waiter is kept alive by the parked thread's stack anyway.
  local watched = setmetatable({}, { __mode = 'kv' })

  -- Cancels every ticket of waiter `w` (a single-ticket waiter is its own ticket).
  local function cancel_tickets(w)
    local ts = w.tickets
    if ts then
      for k = 1, #ts do cancel(ts[k]) end
    else
      cancel(w)
    end
  end

  -- A watched waiter's thread was killed: it will never withdraw its tickets itself. One that
  -- was already handed its item is inactive; the ledger gives that item back.
  local function killed(w)
    cancel_tickets(w)
    if w.active then
      w.active = false
      local on_kill = w.on_kill
      if on_kill then on_kill(w) end
    end
  end

  -- Gives back what was handed to waiters killed before they could resume.
  local function sweep()
    local dead
    for w in next, ledger do
      if w.th:status() == 'dead' then
        dead = dead or {}
        dead[#dead + 1] = w
      end
    end
    if not dead then return end
    for k = 1, #dead do
      local w = dead[k]
      ledger[w] = nil
      w.reclaim(w.reclaim_from, w)
    end
  end

  --- Settles the waits and handoffs of every thread that died (after asio._close_all, which
  -- ends them all at once).
  function W.sweep()
    local dead
    for th, w in next, watched do
      if th:status() == 'dead' then
        dead = dead or {}
        dead[#dead + 1] = th
        dead[#dead + 1] = w
      end
    end
    if dead then
      for k = 1, #dead, 2 do
        watched[dead[k]] = nil
        killed(dead[k + 1])
      end
    end
    sweep()
  end

  -- The core tells of every kill: th after th:kill(th) ended it, nothing after _close_all.
  -- Registered on first use, so a program that never coordinates pays nothing.
  local function on_kill(th)
    if th == nil then return W.sweep() end
    local w = watched[th]
    if w then
      watched[th] = nil
      killed(w)
    end
    if next(ledger) then sweep() end
  end
  local function listen_for_kills()
    hooked = true
    asio._on_kill(on_kill)
  end

  --- Calls `w.on_kill(w)` if `th` is killed before `W.unwatch(th)`: for waits that park without
  -- `W.wait`. A thread is watched for one wait at a time.
  function W.watch(th, w)
    w.active = true
    watched[th] = w
  end

  function W.unwatch(th)
    watched[th] = nil
  end

  --- Records that `w` was handed an item; `reclaim(from, w)` gives it back if `w` is killed
  -- before it resumes.
  function W.handed(w, reclaim, from)
    w.reclaim, w.reclaim_from = reclaim, from
    ledger[w] = true
  end

  --- Number of handoffs still awaiting their waiter (for tests and debugging).
  function W.pending_handoffs()
    local n = 0
    for _ in next, ledger do n = n + 1 end
    return n
  end

  -------------------------------------------------------------------------------------------
  -- checks and parking

  -- The running light thread or nil. The core's current() returns nil outside a light thread;
  -- should it raise instead, the pcall form is used (slower: it sits on the lock fast path).
  local running = current
  if pcall(current) == false then
    running = function()
      local ok, th = pcall(current)
      if ok then return th end
    end
  end
  W.running = running

  --- The running light thread; raises "<fname>: not called from a light thread" otherwise.
  -- @tparam string fname the public name to blame
  function W.me(fname)
    local th = running()
    if th == nil then error(fname .. ': not called from a light thread', 3) end
    if not hooked then listen_for_kills() end
    return th
  end

  --- The caller as a lock owner: its thread handle, or `W.MAIN` outside light threads.
  function W.who()
    local th = running()
    if th == nil then return W.MAIN end
    if not hooked then listen_for_kills() end
    return th
  end

  --- What a bad argument was, for messages: a number's value (it says more than "number"),
  -- otherwise its type (the string "2" must not read as the number 2).
  function W.got(v)
    if type(v) ~= 'number' then return type(v) end
    return v == v and tostring(v) or 'nan'
  end

  --- Raises a "bad argument" error for argument `n` of `fname` at the user's call site.
  -- @tparam[opt=2] integer level where the user's call is, seen from the caller (as `error`'s)
  function W.argerror(n, fname, msg, level)
    error(("bad argument #%d to '%s' (%s)"):format(n, fname, msg), (level or 2) + 1)
  end

  --- Checks an optional timeout: nil (forever) or a non-negative number.
  -- @tparam[opt=2] integer level as for `W.argerror`
  function W.check_timeout(timeout, n, fname, level)
    if timeout ~= nil and (type(timeout) ~= 'number' or not (timeout >= 0)) then
      error(("bad argument #%d to '%s' (timeout must be a non-negative number, got %s)")
        :format(n, fname, W.got(timeout)), (level or 2) + 1)
    end
  end

  -- Takes back every ticket of a waiter that leaves W.wait without an outcome.
  local function withdraw(w)
    w.active = false
    cancel_tickets(w)
  end

  -- Parks the thread of `w`. Should park raise instead (it does when the thread cannot yield
  -- here: "attempt to yield across C-call boundary"), the waiter is withdrawn first, leaving
  -- the primitive as it was: a ticket left queued would later be handed the item although its
  -- thread is no longer waiting for it.
  local function park_for(w, timeout)
    -- Through pcall only where park is bound to raise (the thread cannot yield here), or where
    -- LuaJIT cannot tell: the common case, a rendezvous, parks on every message.
    if isyieldable == nil or not isyieldable() then
      local ok, a, b = pcall(park, timeout)
      if ok then return a, b end
      withdraw(w)
      if w.on_raise then w.on_raise(w) end -- what else it waited on (a shared channel)
      watched[w.th] = nil
      error(a, 0)
    end
    return park(timeout)
  end

  -- What W.wait does once a ticket fired: the handoff is settled, the other tickets withdrawn.
  local function settle_fired(w)
    if ledger[w] then ledger[w] = nil end
    local ts = w.tickets
    if ts then
      for k = 1, #ts do
        if ts[k].q then cancel(ts[k]) end
      end
    end
  end

  -- Handles what a park returned: true when fired, false when the time is up, nil (and the
  -- time left) after a stray wake, once the tickets it cost are queued again.
  local function after_park(w, a, b, deadline)
    if w.fired then
      settle_fired(w)
      return true
    end
    local left
    if deadline then
      left = (a == nil and b == 'timeout') and 0 or math_max(0, deadline - now())
      if left == 0 then
        withdraw(w)
        return false
      end
    end
    -- A live waiter's tickets stay queued (see try_wake): this is only a safeguard.
    local ts = w.tickets or { w }
    for k = 1, #ts do
      local t = ts[k]
      if not t.q and not t.cancelled then t.home:push(t) end
    end
    return nil, left
  end

  local function wait_more(w, left, deadline)
    while true do
      local a, b = park_for(w, left)
      local done
      done, left = after_park(w, a, b, deadline)
      if done ~= nil then return done end
    end
  end

  --- Parks `w` (whose tickets are already queued) once, for waits that also have other ways
  -- to be woken (a select over shared channels, whose wakes carry no outcome).
  -- @return true when one of its tickets fired; false otherwise (the time is up, or a wake
  -- without an outcome came), with every ticket withdrawn: the caller tries again
  function W.wait_once(w, timeout)
    local th = w.th
    watched[th] = w
    park_for(w, timeout)
    watched[th] = nil
    if w.fired then
      settle_fired(w)
      return true
    end
    withdraw(w)
    return false
  end

  --- Withdraws every ticket of `w`, which will not wait after all.
  W.withdraw = withdraw

  --- Parks `w` (whose tickets are already queued) until one of them fires or `timeout` passes.
  -- Any wake that did not come with an outcome (a stray `asio.wake` from user code) is ignored:
  -- the tickets stay queued (a counterpart that comes before the thread runs again completes
  -- it all the same) and the thread parks for the time that is left.
  -- @return true when fired (`w.fired`, `w.value`, `w.err` hold the outcome), false on timeout
  function W.wait(w, timeout)
    local th = w.th
    watched[th] = w
    local deadline = timeout and now() + timeout
    local a, b = park_for(w, timeout)
    local done, left = after_park(w, a, b, deadline)
    if done == nil then done = wait_more(w, left, deadline) end
    watched[th] = nil
    return done
  end

  --- Queues a single-ticket waiter for the running thread `th` in `q` and waits.
  -- @param w a fresh table; becomes the waiter and its own ticket
  -- @return as `W.wait`
  --- A new waiter holding, from the start, every field the waiting machinery may set (v: a
  -- sender's value). Set one by one, they would make LuaJIT grow the table's hash part four
  -- times per wait.
  function W.waiter(v)
    return { th = false, active = false, w = false, i = 1, fired = false, value = false,
      err = false, reclaim = false, reclaim_from = false, tickets = false, on_kill = false,
      seq = 0, v = v }
  end

  function W.wait_in(q, w, th, timeout)
    w.th, w.active, w.w, w.i = th, true, w, 1
    q:push(w)
    return W.wait(w, timeout)
  end

  return W
end

return M
