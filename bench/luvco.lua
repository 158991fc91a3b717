-- luvco: the "luv + coroutines" peer used by threads.lua and channel.lua.
--
-- A minimal light-thread scheduler on luv, written the way one would without
-- LuaAsio: runnable coroutines sit in a ready queue that a uv idle handle
-- drains once per loop iteration (the handle is stopped while the queue is
-- empty, so the loop can block in epoll); sleep uses one luv timer per call;
-- condition variables are plain lists of parked coroutines.
local uv = require 'luv'

local M = {}

local ready, nready = {}, 0      -- coroutines to resume on the next drain
local spare = {}                 -- recycled queue table
local args = {}                  -- co -> packed start arguments (spawn with args)
local idle = uv.new_idle()
local idle_on = false
local cyield, cresume, cstatus = coroutine.yield, coroutine.resume, coroutine.status
local running = coroutine.running

local function check(co, ok, err)
  if not ok then
    io.stderr:write('luvco: light thread failed: ', tostring(err), '\n',
                    debug.traceback(co), '\n')
    os.exit(1)
  end
end

local function resume(co, ...)
  check(co, cresume(co, ...))
end

local function drain()
  local q, n = ready, nready
  ready, nready = spare, 0
  for i = 1, n do
    local co = q[i]
    q[i] = nil
    local a = args[co]
    if a then
      args[co] = nil
      check(co, cresume(co, unpack(a, 1, a.n)))
    else
      check(co, cresume(co))
    end
  end
  spare = q
  if nready == 0 then
    idle:stop()
    idle_on = false
  end
end

local function push(co)
  local n = nready + 1
  ready[n] = co
  nready = n
  if not idle_on then
    idle_on = true
    idle:start(drain)
  end
end
M.push = push

-- Start f(...) in a new light thread on the next drain.
function M.spawn(f, ...)
  local co = coroutine.create(f)
  if select('#', ...) > 0 then args[co] = { n = select('#', ...), ... } end
  push(co)
  return co
end

-- Let every other runnable light thread run once.
function M.yield()
  push(running())
  cyield()
end

-- Suspend the current light thread for s seconds (luv timers: ms resolution).
function M.sleep(s)
  local co = running()
  local t = uv.new_timer()
  t:start(math.floor(s * 1000 + 0.5), 0, function()
    t:close()
    resume(co)
  end)
  cyield()
end

-- Condition variable: wait() parks the current light thread; signal() makes
-- every parked one runnable again (broadcast, like cqueues' condition:signal()).
function M.cond()
  return { n = 0 }
end

function M.wait(c)
  local n = c.n + 1
  c[n] = running()
  c.n = n
  cyield()
end

function M.signal(c)
  local n = c.n
  if n == 0 then return end
  for i = 1, n do
    push(c[i])
    c[i] = nil
  end
  c.n = 0
end

M.now = function() return uv.hrtime() * 1e-9 end

-- Run f in a light thread and the loop until stop() is called (or no work).
function M.start(f)
  M.spawn(f)
  uv.run()
end

function M.stop()
  uv.stop()
end

M.status = cstatus
return M
