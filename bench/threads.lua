-- Light-thread micro benchmarks: LuaAsio vs luv + coroutines vs cqueues.
--
--   luajit bench/threads.lua IMPL TEST [SECONDS]
--     IMPL: asio | luv | cqueues
--     TEST: switch    two threads yield to each other; switches per second
--           spawn     spawn + finish 1,000,000 light threads (batches of 1000); per second,
--                     the best of 5 rounds (BENCH_SPAWN_ROUNDS; BENCH_SPAWN_THREADS overrides
--                     the count: spawn_instructions.sh runs 1 round)
--           sleepmem  100,000 light threads asleep: bytes per thread
--                     (collectgarbage("count") delta and VmRSS delta)
--           timer     100,000 long deadlines pending, then 100,000 more light threads
--                     each spawn, sleep 1..10 ms, wake, finish; CPU µs per timed sleep
--
-- One implementation and one test per process (bench/run.sh runs them all,
-- pinned to one core). Prints one line: impl=... test=... key=value ...
-- For asio, LUA_PATH / LUA_CPATH must point at build/ (run.sh sets them).
local IMPL, TEST = arg[1], arg[2]
local SECONDS = tonumber(arg[3]) or tonumber(os.getenv('BENCH_SECONDS')) or 3

local function rss_kb()
  local f = io.open('/proc/self/status')
  if not f then return 0 end
  local s = f:read('*a')
  f:close()
  return tonumber(s:match('VmRSS:%s*(%d+)')) or 0
end

local function out(fmt, ...)
  io.stdout:write(('impl=%s test=%s '):format(IMPL, TEST), fmt:format(...), '\n')
  io.stdout:flush()
end

-- Each implementation: spawn(f), yield(), sleep(s), now(), start(f) runs f
-- in a light thread and the scheduler until stop() is called.
local impl = {}
if IMPL == 'asio' or IMPL == 'asio-core' then
  local ok, asio = pcall(require, 'asio')
  if not ok then
    out('status=unavailable reason=%q', tostring(asio):match('[^\n]*'))
    os.exit(0)
  end
  impl.spawn = asio.spawn_light_thread
  impl.yield = asio.yield
  impl.sleep = asio.sleep
  impl.now = asio.now
  impl.start = function(f)
    asio.spawn_light_thread(f)
    asio.run()
  end
  impl.stop = asio.stop
  -- asio-core: the core's C spawn, used where LuaJIT has no FFI (spawn_instructions.sh)
  if IMPL == 'asio-core' then impl.spawn = require('asio.core')._spawn_light_thread_c end
elseif IMPL == 'luv' then
  package.path = (arg[0]:match('^(.*)/[^/]*$') or '.') .. '/?.lua;' .. package.path
  local co = require 'luvco'
  impl.spawn, impl.yield, impl.sleep, impl.now = co.spawn, co.yield, co.sleep, co.now
  impl.start, impl.stop = co.start, co.stop
elseif IMPL == 'cqueues' then
  local cqueues = require 'cqueues'
  local cq = cqueues.new()
  local stopped = false
  impl.spawn = function(f, ...) cq:wrap(f, ...) end
  impl.yield = function() cqueues.poll() end
  impl.sleep = cqueues.sleep
  impl.now = cqueues.monotime
  impl.start = function(f)
    cq:wrap(f)
    while not stopped and not cq:empty() do
      local ok, err = cq:step()
      if not ok then error(err) end
    end
  end
  impl.stop = function() stopped = true end
else
  io.stderr:write('usage: luajit threads.lua asio|luv|cqueues switch|spawn|sleepmem|timer [seconds]\n')
  os.exit(1)
end

local spawn, yield, sleep, now = impl.spawn, impl.yield, impl.sleep, impl.now
local clock = os.clock -- process CPU time

local tests = {}

-- Two light threads yield to each other until SECONDS have passed.
function tests.switch()
  local stop, done, n1, n2 = false, 0, 0, 0
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
    spawn(function()
      local n = 0
      while not stop do
        for _ = 1, 1000 do yield() end
        n = n + 1000
        if now() - t0 >= SECONDS then stop = true end
      end
      n1 = n
      finish()
    end)
    spawn(function()
      local n = 0
      while not stop do
        yield()
        n = n + 1
      end
      n2 = n
      finish()
    end)
  end)
  local sw = n1 + n2
  out('switches=%d seconds=%.3f switches_per_s=%.0f cpu_ns_per_switch=%.1f', sw, t1 - t0,
      sw / (t1 - t0), (c1 - c0) / sw * 1e9)
end

-- Spawn 1,000,000 light threads that finish at once, 1000 per batch.
function tests.spawn()
  -- Rounds of N in one process, the best reported: one round takes a fraction of a second,
  -- shorter than the slow spells of a shared machine, and a spell should not decide the figure.
  local N, B = tonumber(os.getenv('BENCH_SPAWN_THREADS')) or 1000000, 1000
  local ROUNDS = tonumber(os.getenv('BENCH_SPAWN_ROUNDS')) or 5
  local best_wall, best_cpu = math.huge, math.huge
  local finished
  local function body() finished = finished + 1 end
  impl.start(function()
    for _ = 1, ROUNDS do
      finished = 0
      local t0, c0 = now(), clock()
      for _ = 1, N / B do
        for _ = 1, B do spawn(body) end
        yield()
      end
      while finished < N do yield() end
      best_wall = math.min(best_wall, now() - t0)
      best_cpu = math.min(best_cpu, clock() - c0)
    end
    impl.stop()
  end)
  out('threads=%d rounds=%d seconds=%.3f spawns_per_s=%.0f cpu_ns_per_thread=%.1f', N, ROUNDS,
      best_wall, N / best_wall, best_cpu / N * 1e9)
end

-- Start N light threads that go to sleep for an hour; spawn them in batches
-- and return once all of them are asleep.
local function park_sleepers(N)
  local started = 0
  local function sleeper(d)
    started = started + 1
    sleep(d)
  end
  local i = 0
  while i < N do
    for _ = 1, math.min(1000, N - i) do
      i = i + 1
      spawn(sleeper, 3600 + (i % 977))
    end
    yield()
  end
  while started < N do yield() end
end

function tests.sleepmem()
  local N = 100000
  impl.start(function()
    -- Warm up the allocator and the scheduler's own structures first.
    park_sleepers(100)
    collectgarbage('collect')
    collectgarbage('collect')
    local g0, r0 = collectgarbage('count'), rss_kb()
    park_sleepers(N)
    collectgarbage('collect')
    collectgarbage('collect')
    local g1, r1 = collectgarbage('count'), rss_kb()
    out('threads=%d gc_bytes_per_thread=%.0f rss_bytes_per_thread=%.0f gc_kb=%.0f rss_kb=%d',
        N, (g1 - g0) * 1024 / N, (r1 - r0) * 1024 / N, g1 - g0, r1 - r0)
    impl.stop()
  end)
end

function tests.timer()
  local PENDING, M, B = 100000, 100000, 1000
  local finished = 0
  local t0, c0, t1, c1
  math.randomseed(42)
  local function worker(d)
    sleep(d)
    finished = finished + 1
    if finished == M then
      t1, c1 = now(), clock()
      impl.stop()
    end
  end
  impl.start(function()
    park_sleepers(PENDING)
    t0, c0 = now(), clock()
    for _ = 1, M / B do
      for _ = 1, B do spawn(worker, (1 + math.random(0, 9)) / 1000) end
      yield()
    end
  end)
  out('pending=%d sleeps=%d seconds=%.3f cpu_us_per_sleep=%.3f', PENDING, M, t1 - t0,
      (c1 - c0) / M * 1e6)
end

if not tests[TEST] then
  io.stderr:write('unknown test ', tostring(TEST), '\n')
  os.exit(1)
end
tests[TEST]()
os.exit(0)
