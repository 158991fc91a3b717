-- SPDX-License-Identifier: MIT
--- Shared channels: channels between Lua states on different OS threads (`asio.thread`,
-- `asio.offload`), whose values are copied (see the README's list of what can cross).
--
-- The core's channel never blocks: `_try_send`/`_try_recv` complete at once, report "closed",
-- or report that the caller would have to wait. Waiting is a *waiter* armed on the channel: the
-- light thread parks, a counterpart in any state wakes it through its loop when the operation
-- may have become possible, and the thread tries again. Nothing is ever handed to a parked
-- thread, so a receiver killed or timed out before it runs loses nothing. The one wake a thread
-- got and did not use (it was killed, timed out, or completed another case of a select) is
-- passed on to the next waiter when the thread disarms, so no waiter is left asleep beside a
-- value.
-- @module asio.sync.shared_channel
local M = {}

local type, error, isyieldable, pcall = type, error, coroutine.isyieldable, pcall
local math_max = math.max

--- Adds the blocking methods to shared channels and returns what select needs of them.
-- @tparam table asio the module table
-- @tparam table W the helpers of asio.sync.waitq
function M.install(asio, W)
  local new_waiter, methods = asio._sc_waiter, asio._sc_methods()
  local try_send, try_recv = methods._try_send, methods._try_recv
  local park, now = asio.park, asio.now
  local NO_TICKETS = {}

  local function is_shared(ch)
    return type(ch) == 'userdata' and getmetatable(ch) == methods
  end

  local function check(self, fname)
    if not is_shared(self) then
      error(("bad self to '%s' (shared channel expected, got %s)"):format(fname, type(self)), 3)
    end
  end

  -- Parks the running thread `th` (watched as `w`, whose on_kill disarms) for up to `left`
  -- seconds. Where the thread cannot yield, park raises: the waiter is disarmed first.
  local function park_armed(th, w, wt, left)
    W.watch(th, w)
    if isyieldable == nil or not isyieldable() then
      local ok, err = pcall(park, left)
      W.unwatch(th)
      if not ok then
        wt:disarm()
        error(err, 0)
      end
      return
    end
    park(left)
    W.unwatch(th)
  end

  -- Each light thread's waiter and watch record, made on its first wait and kept while the
  -- thread lives (weak keys): a thread that waits often allocates nothing per wait.
  local kits = setmetatable({}, { __mode = 'k' })
  local function kit_of(th)
    local kit = kits[th]
    if kit then return kit.wt, kit.w end
    local wt = new_waiter()
    local w = { active = true, tickets = NO_TICKETS, on_kill = function() wt:disarm() end }
    kits[th] = { wt = wt, w = w }
    return wt, w
  end

  -- One blocking operation on one channel: tries, arms, parks, tries again until done.
  local function wait_for(self, op, fname, timeout, v)
    local th = W.me(fname)
    local deadline = timeout and now() + timeout
    local wt, w = kit_of(th)
    while true do
      local left = deadline and math_max(0, deadline - now())
      if left == 0 then return nil, 'timeout' end
      if not wt:arm(self, op) then park_armed(th, w, wt, left) end
      local ok, a, b
      if op == 'recv' then ok, a, b = try_recv(self) else ok, a = try_send(self, v) end
      if ok ~= false then
        wt:disarm(self, op)
        if op == 'recv' then return a, b end
        return ok, a
      end
      wt:disarm()
    end
  end

  --- Sends a copy of `v`, waiting while the channel is full (capacity 0: until a receiver
  -- waits for it).
  -- @return true | nil, "closed" | nil, "timeout"
  function methods.send(self, v, timeout)
    check(self, 'send')
    if v == nil then W.argerror(1, 'send', 'value expected, got nil') end
    W.check_timeout(timeout, 2, 'send')
    local ok, err = try_send(self, v)
    if ok ~= false then return ok, err end
    if timeout == 0 then return nil, 'timeout' end
    return wait_for(self, 'send', 'send', timeout, v)
  end

  --- Receives the oldest value, waiting while there is none; buffered values are received
  -- after close too.
  -- @return v | nil, "closed" | nil, "timeout"
  function methods.recv(self, timeout)
    check(self, 'recv')
    W.check_timeout(timeout, 1, 'recv')
    local ok, v, err = try_recv(self)
    if ok then return v, err end
    if timeout == 0 then return nil, 'timeout' end
    return wait_for(self, 'recv', 'recv', timeout)
  end

  --- Iterator receiving until the channel is closed and drained.
  function methods.iter(self)
    check(self, 'iter')
    local recv = methods.recv
    return function() return (recv(self)) end
  end

  --- What asio.select needs: whether a value is a shared channel, its non-blocking
  -- operations, and waiters.
  return { is_shared = is_shared, try_send = try_send, try_recv = try_recv, new_waiter = new_waiter,
    park_armed = park_armed }
end

return M
