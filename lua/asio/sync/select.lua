-- SPDX-License-Identifier: MIT
--- `asio.select`: wait on several channel operations and complete exactly one.
--
-- The ready cases are tried in a fresh random order on every call (Go's rule), so a channel that
-- is always ready cannot starve another. When none is ready the caller queues one ticket per
-- case, all naming one waiter; the first counterpart that wakes the waiter completes its case
-- and the waiter leaves its other tickets behind as cancelled (asio.sync.waitq). Only one case can
-- complete because only one `asio.wake` of a parked thread returns true.
-- @module asio.sync.select
local M = {}

local type, random = type, math.random

--- Adds `asio.select` to one `asio` table, over its channels.
-- @tparam table asio the module table
-- @tparam table W the helpers of asio.sync.waitq
-- @tparam table chan what asio.sync.channel's `install` returned (state, try_send, try_recv)
-- @tparam[opt] table sc what asio.sync.shared_channel's `install` returned, for shared channels
function M.install(asio, W, chan, sc)
  local state_of, try_send, try_recv = chan.state, chan.try_send, chan.try_recv
  local now, math_max = asio.now, math.max
  local RECV, SEND = 1, 2

  -- Case i completed at once: i, v, err; or nil when it would have to wait.
  local function try_case(cases, ops, sts, i)
    local st, c = sts[i], cases[i]
    if ops[i] == RECV then
      local ok, v, err
      if st then ok, v, err = try_recv(st) else ok, v, err = sc.try_recv(c[2]) end
      if ok then return i, v, err end
    else
      local ok, err
      if st then ok, err = try_send(st, c[3]) else ok, err = sc.try_send(c[2], c[3]) end
      if ok ~= false then return i, ok, err end
    end
  end

  -- Visits the cases in a uniformly random order (Fisher-Yates), stopping at the first ready.
  local function try_all(cases, n, ops, sts, order)
    for i = 1, n do order[i] = i end
    for k = 1, n do
      local j = random(k, n)
      local i = order[j]
      order[j] = order[k]
      order[k] = i
      local fired, v, err = try_case(cases, ops, sts, i)
      if fired then return fired, v, err end
    end
  end

  -- The waiting part of a select with shared channels among its cases. Local cases queue
  -- tickets as usual; shared ones arm one waiter. Whichever wakes the thread, it tries every
  -- case again (a shared channel's wake carries no value), and parks again if none is ready.
  local function select_shared(cases, n, ops, sts, timeout, th, order)
    local deadline = timeout and now() + timeout
    local wt = sc.new_waiter()
    while true do
      local left = deadline and math_max(0, deadline - now())
      if left == 0 then return nil, 'timeout' end
      local w = { th = th, active = true }
      local tickets = {}
      for i = 1, n do
        if sts[i] then
          local t = { w = w, i = i, v = cases[i][3] }
          tickets[#tickets + 1] = t
          if ops[i] == RECV then sts[i].recvq:push(t) else sts[i].sendq:push(t) end
        end
      end
      w.tickets = tickets
      local ready = false
      for i = 1, n do
        if not sts[i] and wt:arm(cases[i][2], ops[i] == RECV and 'recv' or 'send') then
          ready = true
          break
        end
      end
      if ready then
        W.withdraw(w)
      else
        w.on_kill = function() wt:disarm() end
        w.on_raise = w.on_kill
        if W.wait_once(w, left) then
          wt:disarm()
          local i = w.fired
          if w.err then return i, nil, w.err end
          return i, w.value
        end
      end
      local fired, v, err = try_all(cases, n, ops, sts, order)
      if fired then
        if sts[fired] then
          wt:disarm()
        else
          wt:disarm(cases[fired][2], ops[fired] == RECV and 'recv' or 'send')
        end
        return fired, v, err
      end
      wt:disarm()
    end
  end

  --- Waits until one of the cases can complete, and completes exactly that one.
  -- @tparam table cases a list of `{"recv", ch}` and `{"send", ch, value}`; `ch` is a channel
  -- or a shared channel
  -- @tparam[opt] number timeout seconds; nil waits forever, 0 never waits
  -- @return i, v: case `i` fired; `v` is the value received, or true for a send
  -- @return i, nil, "closed": case `i`'s channel is closed (and, for a receive, drained)
  -- @return nil, "timeout"
  local function select(cases, timeout)
    if type(cases) ~= 'table' then
      W.argerror(1, 'select', 'table of cases expected, got ' .. type(cases))
    end
    local n = #cases
    if n == 0 then W.argerror(1, 'select', 'at least one case expected') end
    W.check_timeout(timeout, 2, 'select')
    local ops, sts = {}, {}
    local shared = false
    for i = 1, n do
      local c = cases[i]
      if type(c) ~= 'table' then
        W.argerror(1, 'select', ('case %d: table expected, got %s'):format(i, type(c)))
      end
      local op = c[1]
      if op == 'recv' then
        ops[i] = RECV
      elseif op == 'send' then
        ops[i] = SEND
        if c[3] == nil then
          W.argerror(1, 'select', ('case %d: value to send expected, got nil'):format(i))
        end
      else
        W.argerror(1, 'select', ('case %d: "recv" or "send" expected, got %s')
          :format(i, tostring(op)))
      end
      local st = state_of(c[2])
      if not st then
        if not (sc and sc.is_shared(c[2])) then
          W.argerror(1, 'select', ('case %d: channel expected, got %s'):format(i, type(c[2])))
        end
        st = false
        shared = true
      end
      sts[i] = st
    end

    local order = {}
    local fired, v, err = try_all(cases, n, ops, sts, order)
    if fired then return fired, v, err end
    if timeout == 0 then return nil, 'timeout' end
    local th = W.me('select')
    if not shared then
      local w = { th = th, active = true }
      local tickets = {}
      for i = 1, n do
        local t = { w = w, i = i, v = cases[i][3] }
        tickets[i] = t
        if ops[i] == RECV then sts[i].recvq:push(t) else sts[i].sendq:push(t) end
      end
      w.tickets = tickets
      if not W.wait(w, timeout) then return nil, 'timeout' end
      local i = w.fired
      if w.err then return i, nil, w.err end
      return i, w.value
    end
    return select_shared(cases, n, ops, sts, timeout, th, order)
  end

  asio.select = select
end

return M
