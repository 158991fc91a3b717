-- SPDX-License-Identifier: MIT
--- Notifications between light threads: event, condition, waitgroup.
--
-- None of them hands an item over except `condition:signal`, whose wake-up is passed on to the
-- next waiter if the chosen one is killed before it runs (see asio.sync.waitq); `set`, `broadcast`
-- and a waitgroup reaching zero release every waiter, so a killed one takes nothing from the
-- others. Waiters are woken oldest first.
-- @module asio.sync.events
local M = {}

local type, error, setmetatable, getmetatable = type, error, setmetatable, getmetatable
local math_floor = math.floor

--- Adds `event`, `condition` and `waitgroup` to `asio`.
-- @tparam table asio the module table
-- @tparam table W the helpers of asio.sync.waitq
function M.install(asio, W)
  local function check_self(self, mt, fname)
    if getmetatable(self) ~= mt then
      error(("bad self to '%s' (%s expected, got %s)"):format(fname, mt.__name, type(self)), 3)
    end
  end

  -- Wakes every live waiter of q, oldest first; returns how many.
  local function wake_all(q)
    local n = 0
    while q:wake_next() do n = n + 1 end
    return n
  end

  -----------------------------------------------------------------------------------------
  -- event
  local Event = { __name = 'asio.event' }
  Event.__index = Event

  --- Sets the flag and releases every waiter; later waits return at once until `clear`.
  -- Works from anywhere.
  function Event:set()
    check_self(self, Event, 'set')
    self.flag = true
    wake_all(self.q)
  end

  --- Clears the flag. Waiters already released by `set` still return true.
  function Event:clear()
    check_self(self, Event, 'clear')
    self.flag = false
  end

  --- Whether the flag is set.
  function Event:is_set()
    check_self(self, Event, 'is_set')
    return self.flag
  end

  --- Waits until the flag is set.
  -- @tparam[opt] number timeout seconds; nil waits forever, 0 never waits
  -- @return true
  -- @return nil, "timeout"
  function Event:wait(timeout)
    check_self(self, Event, 'wait')
    W.check_timeout(timeout, 1, 'wait')
    if self.flag then return true end
    if timeout == 0 then return nil, 'timeout' end
    if not W.wait_in(self.q, W.waiter(), W.me('wait'), timeout) then return nil, 'timeout' end
    return true
  end

  --- Creates an event, initially clear.
  function asio.event()
    return setmetatable({ q = W.queue(), flag = false }, Event)
  end

  -----------------------------------------------------------------------------------------
  -- condition
  local Condition = { __name = 'asio.condition' }
  Condition.__index = Condition

  local signal

  -- A signalled waiter killed before it ran passes its wake-up on, so no signal is lost
  -- while someone else waits.
  local function reclaim_signal(c)
    signal(c)
  end

  function signal(c)
    local t = c.q:wake_next()
    if not t then return false end
    W.handed(t.w, reclaim_signal, c)
    return true
  end

  --- Waits until `signal` or `broadcast`. Light threads are cooperative, so checking a predicate
  -- and then waiting needs no mutex: nothing runs in between. Recheck the predicate after waking
  -- all the same, since another thread may have run first.
  -- @tparam[opt] number timeout seconds; nil waits forever, 0 returns nil, "timeout" at once
  -- @return true
  -- @return nil, "timeout"
  function Condition:wait(timeout)
    check_self(self, Condition, 'wait')
    W.check_timeout(timeout, 1, 'wait')
    if timeout == 0 then return nil, 'timeout' end
    if not W.wait_in(self.q, W.waiter(), W.me('wait'), timeout) then return nil, 'timeout' end
    return true
  end

  --- Wakes the oldest waiter. A signal with nobody waiting is lost, as for any condition.
  -- @treturn boolean whether a waiter was woken
  function Condition:signal()
    check_self(self, Condition, 'signal')
    return signal(self)
  end

  --- Wakes every waiter.
  -- @treturn integer how many were woken
  function Condition:broadcast()
    check_self(self, Condition, 'broadcast')
    return wake_all(self.q)
  end

  --- Creates a condition (no mutex argument: see `wait`).
  function asio.condition()
    return setmetatable({ q = W.queue() }, Condition)
  end

  -----------------------------------------------------------------------------------------
  -- waitgroup
  local WaitGroup = { __name = 'asio.waitgroup' }
  WaitGroup.__index = WaitGroup

  local function add(self, n, fname)
    local count = self.n + n
    if count < 0 then error(fname .. ': waitgroup counter would go negative', 3) end
    self.n = count
    if count == 0 then wake_all(self.q) end
  end

  --- Adds `n` (may be negative) to the counter; waiters are released when it reaches zero.
  -- Raises if the counter would go negative.
  -- @tparam[opt=1] integer n
  function WaitGroup:add(n)
    check_self(self, WaitGroup, 'add')
    if n == nil then n = 1 end
    if type(n) ~= 'number' or n ~= math_floor(n) then
      W.argerror(1, 'add', 'integer expected, got ' .. W.got(n))
    end
    add(self, n, 'add')
  end

  --- Same as `add(-1)`.
  function WaitGroup:done()
    check_self(self, WaitGroup, 'done')
    add(self, -1, 'done')
  end

  --- The counter.
  function WaitGroup:count()
    check_self(self, WaitGroup, 'count')
    return self.n
  end

  --- Waits until the counter is zero.
  -- @tparam[opt] number timeout seconds; nil waits forever, 0 never waits
  -- @return true
  -- @return nil, "timeout"
  function WaitGroup:wait(timeout)
    check_self(self, WaitGroup, 'wait')
    W.check_timeout(timeout, 1, 'wait')
    if self.n == 0 then return true end
    if timeout == 0 then return nil, 'timeout' end
    if not W.wait_in(self.q, W.waiter(), W.me('wait'), timeout) then return nil, 'timeout' end
    return true
  end

  --- Creates a waitgroup with a zero counter.
  function asio.waitgroup()
    return setmetatable({ q = W.queue(), n = 0 }, WaitGroup)
  end
end

return M
