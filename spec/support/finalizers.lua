-- SPDX-License-Identifier: MIT
-- Runs a finalizer at a chosen allocation: the next one the collector checks after arming.
--
-- Arming drops many canaries (userdata with a __gc) and steps the collector, one small step at
-- a time, until it finalizes the first: it is then in its finalize phase with the others pending,
-- and each later step finalizes exactly one (setstepmul 1 leaves room for one finalizer per step).
-- collectgarbage('restart') then sets the threshold to the current heap size, so the very next
-- allocation check takes a step, and that step runs the armed action. Code between arming and
-- the allocation aimed at must not allocate (no tables, closures, string concatenations).
local M = {}

local canaries = 2000
local default_stepmul = 200

local state = { action = nil, finalized = 0 }
local base = newproxy(true)
getmetatable(base).__gc = function()
  state.finalized = state.finalized + 1
  local action = state.action
  if action then
    state.action = nil
    action()
  end
end

--- Arms action to run in a finalizer at the next allocation check. Returns a record whose
-- `fired` counts the runs (1 once it ran) and `at` holds asio.now() or os.clock() when it ran.
function M.arm_for_next_allocation(action, clock)
  local ran = { fired = 0 }
  clock = clock or os.clock
  local armed = function()
    collectgarbage('setstepmul', default_stepmul)
    ran.fired = ran.fired + 1
    ran.at = clock()
    action()
  end
  jit.off() -- finalizers are not run on trace exits: keep the code in the interpreter
  collectgarbage('collect')
  collectgarbage('setstepmul', 1)
  state.finalized = 0
  for _ = 1, canaries do newproxy(base) end
  for _ = 1, 1e7 do
    if state.finalized > 0 then break end
    collectgarbage('step', 0)
  end
  assert(state.finalized > 0, 'the collector never reached its finalize phase')
  state.action = armed
  collectgarbage('restart')
  return ran
end

--- Arms action, then runs body at once; ran.result holds body's first result.
function M.run_inside_next_allocation(action, body)
  local ran = M.arm_for_next_allocation(action)
  local result = body()
  ran.result = result
  M.disarm()
  return ran
end

--- Disarms an action that never ran (a failed spec), so later specs are not affected.
function M.disarm()
  state.action = nil
  collectgarbage('setstepmul', default_stepmul)
  jit.on()
end

return M
