-- SPDX-License-Identifier: MIT
-- Spec helpers for states on OS threads: run a body and check every worker ended, expect an
-- error, run a script in a child process.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'
local assert = require 'luassert' -- busted's, which spec files get as a global

local M = {}

--- Whether the worker OS threads are back to `baseline` (default none): every one started since
-- has closed its state (bounded: at most 500 steps of 10 ms). Workers that outlive a spec on
-- purpose, such as an offload pool that lives as long as the busted state, are the baseline.
function M.threads_gone(baseline)
  baseline = baseline or 0
  for _ = 1, 500 do
    if asio._os_threads() <= baseline then return true end
    asio.sleep(0.01)
  end
  return asio._os_threads() <= baseline
end

--- helpers.run_async, then every worker the body started must have ended.
function M.run(fn, timeout)
  helpers.run_async(function()
    local before = asio._os_threads()
    fn()
    assert.is_true(M.threads_gone(before), 'a worker OS thread is still running')
  end, { timeout = timeout or 30 })
end

--- fn(...) must raise an error containing pattern (plain text).
function M.raises(pattern, fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok)
  assert.truthy(tostring(err):find(pattern, 1, true), 'expected "' .. pattern .. '" in: ' .. tostring(err))
end

--- Runs spec/scripts/NAME.lua in a child luajit (leak detection on in the sanitizer build) and
-- expects "NAME: <marker>" in what it prints.
function M.run_script(name, marker)
  local env = os.getenv('ASIO_SANITIZE') and 'ASAN_OPTIONS=detect_leaks=1 ' or ''
  local here = debug.getinfo(1, 'S').source:match('^@(.*)spec/support/threads%.lua$') or './'
  local out = io.popen(env .. 'luajit ' .. here .. 'spec/scripts/' .. name .. '.lua 2>&1')
  local text = out:read('*a')
  out:close()
  assert.truthy(text:find(name .. ': ' .. marker, 1, true), text)
end

return M
