-- Channel throughput: one producer and one consumer light thread pass numbers
-- through a channel of capacity CAP for SECONDS; messages per second.
--
--   luajit bench/channel.lua IMPL CAP [SECONDS]
--     IMPL: asio     asio.channel(CAP) with ch:send(v) / ch:recv()
--                    (prints status=unavailable when the module or asio.channel
--                    does not exist)
--           cqueues  a channel built from a queue and cqueues condition variables
--           luv      the same channel on luv + coroutines (bench/luvco.lua)
--     CAP 0 is a rendezvous: send returns once a receiver has taken the value.
--
-- The consumer checks that it gets 1, 2, 3, ... in order. Prints one line:
-- impl=... cap=... msgs=... msgs_per_s=... cpu_ns_per_msg=...
local IMPL, CAP = arg[1], tonumber(arg[2])
local SECONDS = tonumber(arg[3]) or tonumber(os.getenv('BENCH_SECONDS')) or 3
local clock = os.clock

local function out(fmt, ...)
  io.stdout:write(('impl=%s cap=%s '):format(IMPL, tostring(CAP)), fmt:format(...), '\n')
  io.stdout:flush()
end

if not CAP then
  io.stderr:write('usage: luajit channel.lua asio|cqueues|luv CAP [seconds]\n')
  os.exit(1)
end

-- A channel over wait(cond) / signal(cond) (signal wakes every waiter).
-- Capacity 0: the sender leaves its value in a one-slot buffer and waits
-- until a receiver has taken it.
local function make_channel(cap, newcond, wait, signal)
  local ch = { first = 1, last = 0, sent = 0, taken = 0,
               notempty = newcond(), notfull = newcond(), takencond = newcond() }
  local limit = math.max(cap, 1)
  function ch.send(v)
    while ch.last - ch.first + 1 >= limit do wait(ch.notfull) end
    local last = ch.last + 1
    ch[last] = v
    ch.last = last
    ch.sent = ch.sent + 1
    signal(ch.notempty)
    if cap == 0 then
      local ticket = ch.sent
      while ch.taken < ticket do wait(ch.takencond) end
    end
    return true
  end
  function ch.recv()
    while ch.last < ch.first do wait(ch.notempty) end
    local first = ch.first
    local v = ch[first]
    ch[first] = nil
    if first == ch.last then
      ch.first, ch.last = 1, 0
    else
      ch.first = first + 1
    end
    ch.taken = ch.taken + 1
    if cap == 0 then signal(ch.takencond) end
    signal(ch.notfull)
    return v
  end
  return ch
end

-- Each implementation: spawn(f), now(), start(f) (runs f and the scheduler
-- until stop()), newchan(cap) -> send(v), recv().
local impl = {}
if IMPL == 'asio' then
  local ok, asio = pcall(require, 'asio')
  if not ok then
    out('status=unavailable reason=%q', tostring(asio):match('[^\n]*'))
    os.exit(0)
  end
  if type(asio.channel) ~= 'function' then
    out('status=unavailable reason="asio.channel missing"')
    os.exit(0)
  end
  impl.spawn, impl.now, impl.stop = asio.spawn_light_thread, asio.now, asio.stop
  impl.start = function(f)
    asio.spawn_light_thread(f)
    asio.run()
  end
  impl.newchan = function(cap)
    local ch = asio.channel(cap)
    return function(v) return ch:send(v) end, function() return ch:recv() end
  end
elseif IMPL == 'cqueues' then
  local cqueues = require 'cqueues'
  local condition = require 'cqueues.condition'
  local cq = cqueues.new()
  local stopped = false
  impl.spawn = function(f) cq:wrap(f) end
  impl.now = cqueues.monotime
  impl.start = function(f)
    cq:wrap(f)
    while not stopped and not cq:empty() do
      local ok, err = cq:step()
      if not ok then error(err) end
    end
  end
  impl.stop = function() stopped = true end
  impl.newchan = function(cap)
    local ch = make_channel(cap, function() return condition.new() end,
                            function(c) c:wait() end, function(c) c:signal() end)
    return ch.send, ch.recv
  end
elseif IMPL == 'luv' then
  package.path = (arg[0]:match('^(.*)/[^/]*$') or '.') .. '/?.lua;' .. package.path
  local co = require 'luvco'
  impl.spawn, impl.now, impl.start, impl.stop = co.spawn, co.now, co.start, co.stop
  impl.newchan = function(cap)
    local ch = make_channel(cap, co.cond, co.wait, co.signal)
    return ch.send, ch.recv
  end
else
  io.stderr:write('unknown implementation ', tostring(IMPL), '\n')
  os.exit(1)
end

local send, recv = impl.newchan(CAP)
local now = impl.now
local received, bad, done = 0, 0, 0
local t0, c0, t1, c1
local function finish()
  done = done + 1
  if done == 2 then
    t1, c1 = now(), clock()
    impl.stop()
  end
end
impl.start(function()
  t0, c0 = now(), clock()
  impl.spawn(function()   -- consumer
    local expect = 1
    while true do
      local v = recv()
      if v == -1 then break end
      if v ~= expect then bad = bad + 1 end
      expect = expect + 1
    end
    received = expect - 1
    finish()
  end)
  impl.spawn(function()   -- producer
    local i = 0
    while true do
      for _ = 1, 1000 do
        i = i + 1
        send(i)
      end
      if now() - t0 >= SECONDS then break end
    end
    send(-1)
    finish()
  end)
end)
if not t1 then
  out('status=failed reason="the scheduler returned before both threads finished"')
  os.exit(1)
end
out('msgs=%d seconds=%.3f msgs_per_s=%.0f cpu_ns_per_msg=%.1f out_of_order=%d', received,
    t1 - t0, received / (t1 - t0), (c1 - c0) / math.max(received, 1) * 1e9, bad)
os.exit(bad == 0 and 0 or 2)
