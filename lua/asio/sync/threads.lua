-- SPDX-License-Identifier: MIT
--- Waiting for several light threads: `asio.wait_all` and `asio.wait_any`.
--
-- Both take thread handles as arguments, optionally followed by a timeout in seconds (a number
-- can't be a handle, so a trailing number is unambiguous). Each thread's outcome is what
-- `th:join()` returns: `true, results...` or `false, err` (err is "killed" for a killed thread).
-- @module asio.sync.threads
local M = {}

local type, select, pcall, rawequal = type, select, pcall, rawequal
local math_max = math.max
local unpack = unpack or table.unpack

local function pack(...) return { n = select('#', ...), ... } end

--- Adds `wait_all` and `wait_any` to `asio`.
-- @tparam table asio the module table
-- @tparam table W the helpers of asio.sync.waitq
function M.install(asio, W)
  local park, wake, now, spawn = asio.park, asio.wake, asio.now, asio.spawn_light_thread

  -- Nil when `v` is a light-thread handle, else what to call it in the error message.
  local function not_thread(v)
    local tv = type(v)
    if tv == 'thread' then
      -- Handles are coroutines, but so is any coroutine: status raises for a plain one.
      if pcall(v.status, v) then return nil end
      return 'plain coroutine'
    end
    if tv ~= 'userdata' and tv ~= 'table' then return tv end
    local ok, join = pcall(function() return v.join end)
    if ok and type(join) == 'function' then return nil end
    return tv
  end

  -- Splits (th1, ..., thn [, timeout]) and checks every argument. Its errors blame the caller
  -- of wait_all/wait_any, two levels up.
  local function parse(fname, ...)
    local n = select('#', ...)
    local timeout = n > 0 and select(n, ...) or nil
    if type(timeout) == 'number' then
      W.check_timeout(timeout, n, fname, 3)
      n = n - 1
    else
      timeout = nil
    end
    if n == 0 then W.argerror(1, fname, 'light thread expected, got no value', 3) end
    local ths = { ... }
    local me = W.running()
    for i = 1, n do
      local th = ths[i]
      local bad = not_thread(th)
      if bad then W.argerror(i, fname, 'light thread expected, got ' .. bad, 3) end
      -- It would never end while waiting: wait_any would sleep for good, wait_all's join raise.
      if me ~= nil and rawequal(th, me) then
        W.argerror(i, fname, 'a light thread cannot wait for itself', 3)
      end
    end
    return ths, n, timeout
  end

  -- The caller of a wait_any was killed: nobody else would kill its helpers, which may wait for
  -- threads that never end.
  local function kill_helpers(guard)
    local helpers = guard.helpers
    for i = 1, #helpers do
      if helpers[i]:status() ~= 'dead' then helpers[i]:kill() end
    end
  end

  --- Waits until every thread has finished.
  -- @param ... thread handles, then optionally a timeout in seconds
  -- @return one table per thread, in argument order: `{true, results..., n = k}` or
  -- `{false, err, n = 2}` (`n` counts the entries, so nil results survive)
  -- @return nil, "timeout" if they did not all finish in time (none is killed)
  function asio.wait_all(...)
    local ths, n, timeout = parse('wait_all', ...)
    if timeout ~= 0 then
      -- Only a wait needs a light thread: threads that all ended answer anywhere, as join does.
      for i = 1, n do
        if ths[i]:status() ~= 'dead' then
          W.me('wait_all')
          break
        end
      end
    end
    local deadline = timeout and now() + timeout
    local out = {}
    for i = 1, n do
      local th = ths[i]
      local left
      if deadline then
        left = math_max(0, deadline - now())
        if left == 0 and th:status() ~= 'dead' then return nil, 'timeout' end
      end
      local r = pack(th:join(left))
      if r[1] == nil then return nil, 'timeout' end
      out[i] = r
    end
    return unpack(out, 1, n)
  end

  --- Waits until one of the threads finishes. Helper threads join each argument and are killed
  -- as soon as one finished, the timeout passed, or the caller itself is killed.
  -- @param ... thread handles, then optionally a timeout in seconds
  -- @return i, true, results... or i, false, err: the argument index of the first thread to
  -- finish (the lowest index among those already finished) and what its join returned
  -- @return nil, "timeout"
  function asio.wait_any(...)
    local ths, n, timeout = parse('wait_any', ...)
    for i = 1, n do
      -- Joining an ended thread answers at once, from anywhere.
      if ths[i]:status() == 'dead' then return i, ths[i]:join(0) end
    end
    if timeout == 0 then return nil, 'timeout' end
    local parent = W.me('wait_any')
    local winner, result
    local helpers = {}
    for i = 1, n do
      helpers[i] = spawn(function(th)
        local r = pack(th:join())
        if not winner then
          winner, result = i, r
          wake(parent, true)
        end
      end, ths[i])
    end
    local guard = { helpers = helpers, on_kill = kill_helpers }
    W.watch(parent, guard)
    local deadline = timeout and now() + timeout
    local left = timeout
    while not winner do
      local a, b = park(left)
      if not winner and deadline then
        left = (a == nil and b == 'timeout') and 0 or math_max(0, deadline - now())
        if left == 0 then break end
      end
    end
    W.unwatch(parent)
    winner = winner or 0 -- a late helper must not wake us any more
    for i = 1, n do
      if helpers[i]:status() ~= 'dead' then helpers[i]:kill() end
    end
    if winner == 0 then return nil, 'timeout' end
    return winner, unpack(result, 1, result.n)
  end
end

return M
