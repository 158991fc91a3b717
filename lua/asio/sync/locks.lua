-- SPDX-License-Identifier: MIT
--- Mutual exclusion between light threads: mutex, readers-writer lock, counting semaphore.
--
-- Ownership passes directly from the releasing thread to the oldest live waiter (FIFO, no
-- barging), so a newcomer can never overtake a thread that waited. A waiter that is killed
-- while queued is skipped and never gets the lock (a killed waiting writer lets the readers
-- queued behind it in at once); one killed after it was handed the lock but before it resumed
-- gives the lock back to the next waiter (see asio.sync.waitq).
--
-- A thread that is killed (or ends) while *holding* a mutex or a write lock does not release
-- it: the lock is not freed silently, as the data it protects may be half updated. Instead the
-- next `lock`/`wlock`/`rlock` call raises "... held by a dead light thread". Threads already
-- queued when the holder dies keep waiting until their timeout. A killed reader's read lock and
-- a killed thread's semaphore permit are not tracked per thread and stay taken.
-- @module asio.sync.locks
local M = {}

local type, error, rawequal, setmetatable, getmetatable, select =
  type, error, rawequal, setmetatable, getmetatable, select
local math_floor = math.floor
local unpack = unpack or table.unpack

--- Adds `mutex`, `rwlock` and `semaphore` to `asio`.
-- @tparam table asio the module table
-- @tparam table W the helpers of asio.sync.waitq
function M.install(asio, W)
  local MAIN = W.MAIN

  local function check_self(self, mt, fname)
    if getmetatable(self) ~= mt then
      error(("bad self to '%s' (%s expected, got %s)"):format(fname, mt.__name, type(self)), 3)
    end
  end

  -- Raises when `owner` died holding the lock (see the module comment).
  local function check_holder(owner, fname, what)
    if owner and owner ~= MAIN and owner:status() == 'dead' then
      error(fname .. ': ' .. what .. ' held by a dead light thread (killed or ended while '
        .. 'holding it)', 3)
    end
  end

  -----------------------------------------------------------------------------------------
  -- mutex
  local Mutex = { __name = 'asio.mutex' }
  Mutex.__index = Mutex

  local pass_mutex

  local function reclaim_mutex(m, w)
    if rawequal(m.owner, w.th) then pass_mutex(m) end
  end

  -- Hands the mutex to the oldest live waiter, or frees it.
  function pass_mutex(m)
    local t = m.q:wake_next()
    if t then
      m.owner = t.w.th
      W.handed(t.w, reclaim_mutex, m)
    else
      m.owner = nil
    end
  end

  --- Locks the mutex, waiting while another thread holds it. Not reentrant: locking it again
  -- from the holder raises. Raises if the holder died while holding it.
  -- @tparam[opt] number timeout seconds; nil waits forever, 0 never waits
  -- @return true
  -- @return nil, "timeout"
  function Mutex:lock(timeout)
    check_self(self, Mutex, 'lock')
    W.check_timeout(timeout, 1, 'lock')
    local owner = self.owner
    if not owner then
      self.owner = W.who()
      return true
    end
    check_holder(owner, 'lock', 'mutex')
    if timeout == 0 then return nil, 'timeout' end
    local th = W.me('lock')
    if rawequal(owner, th) then error('lock: mutex already held by this light thread', 2) end
    if not W.wait_in(self.q, W.waiter(), th, timeout) then return nil, 'timeout' end
    return true
  end

  --- Unlocks the mutex; the oldest waiter gets it. Raises unless the caller holds it.
  function Mutex:unlock()
    check_self(self, Mutex, 'unlock')
    if self.owner == nil or not rawequal(self.owner, W.who()) then
      error('unlock: mutex not held by the caller', 2)
    end
    pass_mutex(self)
  end

  --- Runs `fn(...)` holding the mutex and returns its results; the mutex is released even when
  -- `fn` raises (the error is raised again, unchanged).
  function Mutex:with(fn, ...)
    check_self(self, Mutex, 'with')
    if type(fn) ~= 'function' and not (getmetatable(fn) or {}).__call then
      W.argerror(1, 'with', 'function expected, got ' .. type(fn))
    end
    self:lock()
    local r = { n = 0 }
    local function collect(ok, ...)
      r.n = select('#', ...)
      for k = 1, r.n do r[k] = (select(k, ...)) end
      return ok
    end
    local ok = collect(pcall(fn, ...))
    self:unlock()
    if not ok then error(r[1], 0) end
    return unpack(r, 1, r.n)
  end

  --- Whether some thread holds the mutex.
  function Mutex:locked()
    return self.owner ~= nil
  end

  --- Creates a mutex.
  function asio.mutex()
    return setmetatable({ q = W.queue(), owner = nil }, Mutex)
  end

  -----------------------------------------------------------------------------------------
  -- rwlock
  local RWLock = { __name = 'asio.rwlock' }
  RWLock.__index = RWLock

  local dispatch

  local function reclaim_read(rw)
    rw.readers = rw.readers - 1
    if rw.readers == 0 then dispatch(rw) end
  end

  local function reclaim_write(rw, w)
    if rawequal(rw.writer, w.th) then
      rw.writer = nil
      dispatch(rw)
    end
  end

  -- A waiting writer holds back the readers queued behind it, so its death must let them in
  -- now: nothing else would call dispatch while readers hold the lock.
  local function writer_killed(w)
    if not w.rw.writer then dispatch(w.rw) end
  end

  -- The oldest waiter still alive; killed ones at the head are dropped so that a dead writer
  -- does not hold new readers back.
  local function live_head(q)
    local t = q:peek()
    while t and t.w.th:status() == 'dead' do
      q:take(t)
      t = q:peek()
    end
    return t
  end

  -- Grants the lock in queue order: one writer, or every reader up to the next writer.
  -- While the lock is not write-held, the queue is empty or starts with a writer, because
  -- readers queue only behind a writer (waiting or holding).
  function dispatch(rw)
    local q = rw.q
    while not rw.writer do
      local t = q:peek()
      if not t then return end
      if t.write then
        if rw.readers > 0 then return end
        if q:take(t) then
          rw.writer = t.w.th
          W.handed(t.w, reclaim_write, rw)
          return
        end
      elseif q:take(t) then
        rw.readers = rw.readers + 1
        W.handed(t.w, reclaim_read, rw)
      end
    end
  end

  --- Takes a shared (read) lock. A reader arriving while a writer waits queues behind it, so
  -- writers are not starved.
  -- @tparam[opt] number timeout seconds; nil waits forever, 0 never waits
  -- @return true
  -- @return nil, "timeout"
  function RWLock:rlock(timeout)
    check_self(self, RWLock, 'rlock')
    W.check_timeout(timeout, 1, 'rlock')
    if not self.writer and not live_head(self.q) then
      self.readers = self.readers + 1
      return true
    end
    check_holder(self.writer, 'rlock', 'rwlock')
    if timeout == 0 then return nil, 'timeout' end
    local th = W.me('rlock')
    if rawequal(self.writer, th) then error('rlock: write lock held by this light thread', 2) end
    if not W.wait_in(self.q, W.waiter(), th, timeout) then return nil, 'timeout' end
    return true
  end

  --- Releases a read lock. Raises when no read lock is held.
  function RWLock:runlock()
    check_self(self, RWLock, 'runlock')
    if self.readers == 0 then error('runlock: rwlock not read-locked', 2) end
    self.readers = self.readers - 1
    if self.readers == 0 then dispatch(self) end
  end

  --- Takes the exclusive (write) lock.
  -- @tparam[opt] number timeout seconds; nil waits forever, 0 never waits
  -- @return true
  -- @return nil, "timeout"
  function RWLock:wlock(timeout)
    check_self(self, RWLock, 'wlock')
    W.check_timeout(timeout, 1, 'wlock')
    if not self.writer and self.readers == 0 then
      self.writer = W.who()
      return true
    end
    check_holder(self.writer, 'wlock', 'rwlock')
    if timeout == 0 then return nil, 'timeout' end
    local th = W.me('wlock')
    if rawequal(self.writer, th) then error('wlock: write lock already held by this light thread', 2) end
    if W.wait_in(self.q, { write = true, rw = self, on_kill = writer_killed }, th, timeout) then
      return true
    end
    -- Readers queued behind this writer may go now.
    if not self.writer then dispatch(self) end
    return nil, 'timeout'
  end

  --- Releases the write lock. Raises unless the caller holds it.
  function RWLock:wunlock()
    check_self(self, RWLock, 'wunlock')
    if self.writer == nil or not rawequal(self.writer, W.who()) then
      error('wunlock: write lock not held by the caller', 2)
    end
    self.writer = nil
    dispatch(self)
  end

  --- Current state, for tests and debugging.
  -- @treturn integer readers holding the lock
  -- @treturn boolean whether a writer holds it
  function RWLock:state()
    return self.readers, self.writer ~= nil
  end

  --- Creates a readers-writer lock (writer-preferring).
  function asio.rwlock()
    return setmetatable({ q = W.queue(), readers = 0, writer = nil }, RWLock)
  end

  -----------------------------------------------------------------------------------------
  -- semaphore
  local Semaphore = { __name = 'asio.semaphore' }
  Semaphore.__index = Semaphore

  local function release(s)
    local t = s.q:wake_next()
    if t then
      W.handed(t.w, release, s)
    else
      s.permits = s.permits + 1
    end
  end

  --- Takes a permit, waiting while none is left.
  -- @tparam[opt] number timeout seconds; nil waits forever, 0 never waits
  -- @return true
  -- @return nil, "timeout"
  function Semaphore:acquire(timeout)
    check_self(self, Semaphore, 'acquire')
    W.check_timeout(timeout, 1, 'acquire')
    if self.permits > 0 then
      self.permits = self.permits - 1
      return true
    end
    if timeout == 0 then return nil, 'timeout' end
    if not W.wait_in(self.q, W.waiter(), W.me('acquire'), timeout) then return nil, 'timeout' end
    return true
  end

  --- Returns a permit; the oldest waiter gets it. Permits are not owned: any thread may release,
  -- and releasing more than were acquired raises the count above the initial one.
  function Semaphore:release()
    check_self(self, Semaphore, 'release')
    release(self)
  end

  --- Permits available now.
  function Semaphore:available()
    return self.permits
  end

  --- Creates a counting semaphore.
  -- @tparam integer n initial permits (>= 0)
  function asio.semaphore(n)
    if type(n) ~= 'number' or n < 0 or n ~= math_floor(n) then
      W.argerror(1, 'semaphore', 'non-negative integer expected, got ' .. W.got(n))
    end
    return setmetatable({ q = W.queue(), permits = n }, Semaphore)
  end
end

return M
