-- SPDX-License-Identifier: MIT
-- Spec helpers: run a body inside a light thread under a watchdog, then prove nothing leaked.
local asio = require 'asio'

local M = {}

local tls_loads
--- Whether TLS can be used here: false in a build without asio/tls.so (the router-size build).
function M.has_tls()
  if tls_loads == nil then tls_loads = pcall(asio.tls_context, { mode = 'client', verify = false }) end
  return tls_loads
end

--- Whether this build has the daemon parts (processes, watches, stdin): false in the
-- router-size build, which leaves them out (LASIO_WITH_DAEMON=OFF).
function M.has_daemon() return asio._has_daemon == true end

--- Whether this build has asio.signal (every build unless LASIO_WITH_SIGNALS=OFF).
function M.has_signals() return asio._has_signals == true end

local function skip_without(present, option, title, name, fn, env)
  if present then return false end
  env.describe(title, function()
    env.it("raises '" .. name .. ": not in this build' where it is left out", function()
      env.assert.has_error(fn, name .. ': not in this build (' .. option .. '=OFF)')
    end)
  end)
  return true
end

--- In a build without the daemon parts, a spec file calls this instead of its tests: fn (one of
-- them) must raise "<name>: not in this build ...". Returns true when the parts are absent.
-- describe and it are the calling spec file's (busted gives each file an environment of its own).
function M.skip_without_daemon(title, name, fn)
  return skip_without(M.has_daemon(), 'LASIO_WITH_DAEMON', title, name, fn, getfenv(2))
end

--- The same for asio.signal.
function M.skip_without_signals(title, name, fn)
  return skip_without(M.has_signals(), 'LASIO_WITH_SIGNALS', title, name, fn, getfenv(2))
end

--- Runs fn() in a light thread, drives the loop and fails the test if fn raises, if any other
-- light thread raises, or if the loop is not drained within opts.timeout seconds (default 5).
-- Afterwards asio._stats() must show no live thread, socket, server, timer or pending operation.
function M.run_async(fn, opts)
  local timeout = (opts and opts.timeout) or 5
  local failure
  asio.on_error(function(msg) failure = failure or msg end)
  local finished = false
  asio.spawn_light_thread(function()
    local ok, err = xpcall(fn, debug.traceback)
    if not ok then failure = failure or err end
    finished = true
  end)
  -- Drive the loop in slices so that a hung test fails after `timeout` instead of hanging.
  local deadline = asio.now() + timeout
  while asio.run_once(0.05) do
    if asio.now() > deadline then
      failure = failure or ("watchdog: loop not drained after " .. timeout .. "s" ..
        (finished and " (the body finished; something it started is still waiting)" or ""))
      break
    end
  end
  asio.on_error(nil)
  if not finished and not failure then failure = "body never finished (it waits on something nobody will wake)" end
  if failure then
    M.force_close_all()
    error(failure, 2)
  end
  if not (opts and opts.allow_leftovers) then M.assert_clean() end
end

--- Drops whatever a failed test left behind so the next test starts from a clean runtime.
function M.force_close_all()
  collectgarbage(); collectgarbage()
  asio._close_all()
end

--- Fails unless every counter of asio._stats() is back to zero.
function M.assert_clean()
  collectgarbage(); collectgarbage()
  local s = asio._stats()
  local live = {}
  for _, k in ipairs { 'threads', 'sockets', 'servers', 'timers', 'pending' } do
    if s[k] ~= 0 then live[#live + 1] = k .. '=' .. tostring(s[k]) end
  end
  if #live > 0 then error('left alive after the test: ' .. table.concat(live, ' '), 2) end
end

--- Sleeps in 10 ms steps, at most 100 of them, until get() returns something other than nil;
-- returns what get() returns then (nil if it never did). From a light thread.
function M.wait_for(get)
  for _ = 1, 100 do
    if get() ~= nil then break end
    asio.sleep(0.01)
  end
  return get()
end

--- Starts a listening server on 127.0.0.1 with a free port; returns the holder and its port.
function M.server(handler, opts)
  local s = assert(asio.server('127.0.0.1', 0, handler, opts))
  local _, port = s:local_address()
  return s, port
end

return M
