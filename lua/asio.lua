-- SPDX-License-Identifier: MIT
--- LuaAsio: synchronous-looking, non-blocking network I/O for LuaJIT light threads.
-- Re-exports the C++ core (asio.core) and adds the pure-Lua conveniences.
-- @module asio
local core = require 'asio.core'

local M = {}
for k, v in pairs(core) do M[k] = v end
local spawn, sleep, now = core.spawn_light_thread, core.sleep, core.now

local timer_mt = {}
timer_mt.__index = timer_mt

-- Timers whose light thread has not run yet: they have no deadline in the core yet, but
-- asio._stats().timers counts them from the moment timer/every returns.
local not_started = setmetatable({}, { __mode = 'k' })

-- Raises "bad argument #n to 'fname' (msg)"; level as for error, seen from the caller.
local function argerror(n, fname, msg, level)
  error(("bad argument #%d to '%s' (%s)"):format(n, fname, msg), level + 1)
end

--- Stops a timer created by asio.timer or asio.every; a no-op once a one-shot timer has fired.
function timer_mt.cancel(...)
  local self = ...
  if getmetatable(self) ~= timer_mt then
    -- t.cancel() instead of t:cancel() passes no value at all.
    argerror(1, 'cancel', 'timer expected, got ' .. (select('#', ...) == 0 and 'no value'
      or type(self)), 2)
  end
  if not self.fired then self.ticker:kill() end
  self.fired = true
end

-- Checks the delay of timer (every: the interval, which must not be 0) and the function; the
-- errors blame the caller of timer/every.
local function check_timer_args(fname, what, delay, fn, zero_ok)
  if type(delay) ~= 'number' then
    argerror(1, fname, 'number expected, got ' .. type(delay), 3)
  end
  if delay ~= delay or delay < 0 or (delay == 0 and not zero_ok) then
    argerror(1, fname, what, 3)
  end
  if type(fn) ~= 'function' then
    argerror(2, fname, 'function expected, got ' .. type(fn), 3)
  end
end

--- Runs fn(...) as a light thread after delay seconds.
-- @param delay seconds (fractional)
-- @param fn function
-- @return timer with :cancel()
function M.timer(delay, fn, ...)
  check_timer_args('timer', 'delay must be a non-negative number', delay, fn, true)
  local t = setmetatable({ fired = false }, timer_mt)
  not_started[t] = true
  t.ticker = spawn(function(...)
    not_started[t] = nil
    sleep(delay)
    t.fired = true
    return fn(...)
  end, ...)
  return t
end

--- Runs fn(...) as a new light thread every interval seconds, on a fixed schedule (no drift).
-- @param interval seconds, > 0
-- @param fn function
-- @return timer with :cancel()
function M.every(interval, fn, ...)
  check_timer_args('every', 'interval must be a positive number', interval, fn, false)
  local t = setmetatable({ fired = false }, timer_mt)
  not_started[t] = true
  local args, nargs = { ... }, select('#', ...)
  t.ticker = spawn(function()
    not_started[t] = nil
    local next_at = now() + interval
    while true do
      sleep(math.max(0, next_at - now()))
      next_at = next_at + interval
      spawn(fn, unpack(args, 1, nargs))
    end
  end)
  return t
end

--- Live counts (see the README); timers count from the moment timer/every returns.
function M._stats()
  local s = core._stats()
  for t in pairs(not_started) do
    if t.ticker:status() ~= 'dead' then s.timers = s.timers + 1 end
  end
  return s
end

--- Compatibility with the original LuaAsio, which spelled it this way.
-- The core registers the server metatable under its name (hosts may leave debug out).
local getregistry, getmetatable_raw = debug and debug.getregistry, debug and debug.getmetatable
local server_mt = getregistry and getregistry()['asio.server']
function M.destory_server(holder)
  if type(holder) ~= 'userdata' or (server_mt and getmetatable_raw(holder) ~= server_mt) then
    local got = type(holder) == 'userdata' and 'other userdata' or type(holder)
    error("bad argument #1 to 'destroy_server' (server expected, got " .. got .. ")", 2)
  end
  return holder:close()
end
M.destroy_server = M.destory_server

-- Channels, select, locks, events, wait groups, wait_all/wait_any: plain Lua on park/wake.
local install_sync_part = require('asio.sync')(M)

-- Parts loaded on first use, so that a state that never uses them (every asio.thread state
-- starts by loading this module) neither loads nor keeps them: about half the Lua heap of a
-- fresh state, and half the time of a thread's spawn + join. `asio.mutex` and the rest work
-- as if they had always been there; only pairs(asio) does not list them before their first use.
local on_first_use = {}
local function lazy(names, install)
  for _, name in ipairs(names) do on_first_use[name] = install end
end
lazy({ 'mutex', 'rwlock', 'semaphore' }, function() install_sync_part('locks') end)
lazy({ 'event', 'condition', 'waitgroup' }, function() install_sync_part('events') end)
lazy({ 'wait_all', 'wait_any' }, function() install_sync_part('threads') end)
-- Work off the loop: a pool of asio.thread workers fed through a shared channel.
if M.thread then lazy({ 'offload', 'offload_pool' }, function() require('asio.offload').install(M) end) end
-- run_command over spawn_process (where the core has processes: not on Windows).
lazy({ 'run_command' }, function() require('asio.process')(M) end)

setmetatable(M, {
  __index = function(t, name)
    local install = on_first_use[name]
    if not install then return nil end
    install()
    for other, how in pairs(on_first_use) do
      if how == install then on_first_use[other] = nil end
    end
    return rawget(t, name)
  end,
})

return M
