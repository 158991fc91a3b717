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

--- Stops a timer created by asio.timer or asio.every; a no-op once a one-shot timer has fired.
function timer_mt:cancel()
  if not self.fired then self.ticker:kill() end
  self.fired = true
end

--- Runs fn(...) as a light thread after delay seconds.
-- @param delay seconds (fractional)
-- @param fn function
-- @return timer with :cancel()
function M.timer(delay, fn, ...)
  if type(delay) ~= 'number' or delay ~= delay or delay < 0 then
    error("bad argument #1 to 'timer' (non-negative number expected, got " .. type(delay) .. ")", 2)
  end
  if type(fn) ~= 'function' then
    error("bad argument #2 to 'timer' (function expected, got " .. type(fn) .. ")", 2)
  end
  local t = setmetatable({ fired = false }, timer_mt)
  t.ticker = spawn(function(...)
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
  if type(interval) ~= 'number' or not (interval > 0) then
    error("bad argument #1 to 'every' (positive number expected, got " .. tostring(interval) .. ")", 2)
  end
  if type(fn) ~= 'function' then
    error("bad argument #2 to 'every' (function expected, got " .. type(fn) .. ")", 2)
  end
  local t = setmetatable({ fired = false }, timer_mt)
  local args, nargs = { ... }, select('#', ...)
  t.ticker = spawn(function()
    local next_at = now() + interval
    while true do
      sleep(math.max(0, next_at - now()))
      next_at = next_at + interval
      spawn(fn, unpack(args, 1, nargs))
    end
  end)
  return t
end

--- Compatibility with the original LuaAsio, which spelled it this way.
function M.destory_server(holder)
  return holder:close()
end
M.destroy_server = M.destory_server

-- Channels, select, locks, events, wait groups, wait_all/wait_any: plain Lua on park/wake.
require('asio.sync')(M)

return M
