-- SPDX-License-Identifier: MIT
--- Waiting for several light threads: `asio.wait_all` and `asio.wait_any`.
--
-- Both take thread handles as arguments, optionally followed by a timeout in seconds (a number
-- can't be a handle, so a trailing number is unambiguous). Each thread's outcome is what
-- `th:join()` returns: `true, results...` or `false, err` (err is "killed" for a killed thread).
-- @module asio.threads
local M = {}

local type, error, select, pcall = type, error, select, pcall
local math_max = math.max
local unpack = unpack or table.unpack

local function pack(...) return { n = select('#', ...), ... } end

--- Adds `wait_all` and `wait_any` to `asio`.
-- @tparam table asio the module table
-- @tparam table W the helpers of asio.waitq
function M.install(asio, W)
  local park, wake, now, spawn = asio.park, asio.wake, asio.now, asio.spawn_light_thread

  local function is_thread(v)
    local tv = type(v)
    if tv == 'thread' then return true end -- handles are coroutines; join checks the rest
    if tv ~= 'userdata' and tv ~= 'table' then return false end
    local ok, join = pcall(function() return v.join end)
    return ok and type(join) == 'function'
  end

  -- Splits (th1, ..., thn [, timeout]) and checks every argument.
  local function parse(fname, ...)
    local n = select('#', ...)
    local timeout = n > 0 and select(n, ...) or nil
    if type(timeout) == 'number' then
      W.check_timeout(timeout, n, fname)
      n = n - 1
    else
      timeout = nil
    end
    if n == 0 then W.argerror(1, fname, 'light thread expected, got no value') end
    local ths = { ... }
    for i = 1, n do
      if not is_thread(ths[i]) then
        error(("bad argument #%d to '%s' (light thread expected, got %s)")
          :format(i, fname, type(ths[i])), 3)
      end
    end
    return ths, n, timeout
  end

  --- Waits until every thread has finished.
  -- @param ... thread handles, then optionally a timeout in seconds
  -- @return one table per thread, in argument order: `{true, results..., n = k}` or
  -- `{false, err, n = 2}` (`n` counts the entries, so nil results survive)
  -- @return nil, "timeout" if they did not all finish in time (none is killed)
  function asio.wait_all(...)
    local ths, n, timeout = parse('wait_all', ...)
    if timeout ~= 0 then W.me('wait_all') end
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
  -- as soon as one finished or the timeout passed (if the caller itself is killed meanwhile,
  -- they linger until their thread ends).
  -- @param ... thread handles, then optionally a timeout in seconds
  -- @return i, true, results... or i, false, err: the argument index of the first thread to
  -- finish (the lowest index among those already finished) and what its join returned
  -- @return nil, "timeout"
  function asio.wait_any(...)
    local ths, n, timeout = parse('wait_any', ...)
    for i = 1, n do
      if ths[i]:status() == 'dead' then
        if timeout ~= 0 then W.me('wait_any') end
        return i, ths[i]:join(timeout)
      end
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
    local deadline = timeout and now() + timeout
    local left = timeout
    while not winner do
      local a, b = park(left)
      if not winner and deadline then
        left = (a == nil and b == 'timeout') and 0 or math_max(0, deadline - now())
        if left == 0 then break end
      end
    end
    winner = winner or 0 -- a late helper must not wake us any more
    for i = 1, n do
      if helpers[i]:status() ~= 'dead' then helpers[i]:kill() end
    end
    if winner == 0 then return nil, 'timeout' end
    return winner, unpack(result, 1, result.n)
  end
end

return M
