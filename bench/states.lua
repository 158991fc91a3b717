-- Several Lua states on OS threads: LuaAsio's asio.thread, shared channels and offload beside
-- the peers installable here (luv's queue_work, cqueues' thread with its socket pair).
--
--   luajit bench/states.lua IMPL TEST [SECONDS]
--     IMPL: asio | luv | cqueues
--     TEST: roundtrip   a light thread sends a small value to another state and waits for the
--                       answer; round trips per second (luv: queue_work of a job returning its
--                       argument; cqueues: a line over the thread's socket pair)
--           oneway CAP KIND   one producer state, one consumer, shared channel of capacity CAP
--                       (0, 1, 256); KIND str16 (16-byte strings) or table (small tables);
--                       messages per second (asio only)
--           offload     asio.offload of an empty function (luv: queue_work), round trips/s
--           scaling N   a CPU-bound job split over N workers (asio.offload, pool of N); jobs/s
--           spawnjoin   asio.thread(fn) + join per second (luv: new_thread + join)
-- Prints one line: impl=... test=... key=value ...
local IMPL, TEST = arg[1], arg[2]
local SECONDS = tonumber(os.getenv('BENCH_SECONDS')) or 2

local function out(fmt, ...)
  io.stdout:write(('impl=%s test=%s '):format(IMPL, TEST), fmt:format(...), '\n')
  io.stdout:flush()
end

local function clock() return os.clock() end

-- A CPU-bound job: about 2 ms of arithmetic.
local function burn(n)
  local x = 0
  for i = 1, n do x = (x + i * i) % 1000003 end
  return x
end

if IMPL == 'asio' then
  local asio = require 'asio'
  local now = asio.now
  local tests = {}

  function tests.roundtrip()
    local req, rep = asio.shared_channel(1), asio.shared_channel(1)
    local th = asio.thread(function(a, b) for v in a:iter() do b:send(v) end end, req, rep)
    for i = 1, 1000 do req:send(i) rep:recv() end -- warm up both sides
    local n, t0, c0 = 0, now(), clock()
    while now() - t0 < SECONDS do
      for i = 1, 1000 do
        req:send(i)
        rep:recv()
      end
      n = n + 1000
    end
    local dt, cpu = now() - t0, clock() - c0
    req:close()
    th:join()
    out('round_trips=%d seconds=%.3f round_trips_per_s=%.0f cpu_us_per_round_trip=%.2f', n, dt, n / dt, cpu / n * 1e6)
  end

  function tests.oneway()
    local cap, kind = tonumber(arg[3]) or 256, arg[4] or 'str16'
    local ch = asio.shared_channel(cap)
    local N = tonumber(os.getenv("BENCH_ONEWAY_MESSAGES")) or 200000
    local th = asio.thread(function(c, n, k)
      local v = k == 'table' and { id = 1, name = 'x', ok = true } or ('x'):rep(16)
      for _ = 1, n do c:send(v) end
      c:close()
    end, ch, N, kind)
    local t0 = now()
    local got = 0
    for _ in ch:iter() do got = got + 1 end
    local dt = now() - t0
    th:join()
    assert(got == N)
    out('capacity=%d kind=%s messages=%d seconds=%.3f messages_per_s=%.0f', cap, kind, N, dt, N / dt)
  end

  function tests.offload()
    asio.offload_pool{ size = 1 }
    local function id(x) return x end
    for i = 1, 200 do asio.offload(id, i) end
    local n, t0, c0 = 0, now(), clock()
    while now() - t0 < SECONDS do
      for i = 1, 200 do asio.offload(id, i) end
      n = n + 200
    end
    local dt, cpu = now() - t0, clock() - c0
    out('round_trips=%d seconds=%.3f round_trips_per_s=%.0f cpu_us_per_round_trip=%.2f', n, dt, n / dt, cpu / n * 1e6)
  end

  function tests.scaling()
    local workers = tonumber(arg[3]) or 1
    asio.offload_pool{ size = workers }
    local JOBS, WORK = 200, 400000
    local threads = {}
    local t0 = now()
    for w = 1, workers do
      threads[w] = asio.spawn_light_thread(function()
        for _ = 1, JOBS / workers do assert(asio.offload(burn, WORK)) end
      end)
    end
    asio.wait_all(unpack(threads))
    local dt = now() - t0
    out('workers=%d jobs=%d seconds=%.3f jobs_per_s=%.1f', workers, JOBS, dt, JOBS / dt)
  end

  function tests.spawnjoin()
    local n, t0 = 0, now()
    while now() - t0 < SECONDS do
      assert(asio.thread(function() return 1 end):join())
      n = n + 1
    end
    local dt = now() - t0
    out('threads=%d seconds=%.3f spawn_joins_per_s=%.0f', n, dt, n / dt)
  end

  local test = tests[TEST] or error('unknown test ' .. tostring(TEST))
  asio.spawn_light_thread(test)
  asio.run()
elseif IMPL == 'luv' then
  local uv = require 'luv'
  local now = function() return uv.hrtime() / 1e9 end
  if TEST == 'roundtrip' or TEST == 'offload' then
    local n, t0, c0 = 0, 0, 0
    local work
    local function again(x)
      n = n + 1
      if n % 1000 == 0 and now() - t0 >= SECONDS then return end
      work:queue(x)
    end
    work = uv.new_work(function(x) return x end, again)
    t0, c0 = now(), clock()
    work:queue(1)
    uv.run()
    local dt, cpu = now() - t0, clock() - c0
    out('round_trips=%d seconds=%.3f round_trips_per_s=%.0f cpu_us_per_round_trip=%.2f', n, dt, n / dt, cpu / n * 1e6)
  elseif TEST == 'spawnjoin' then
    local n, t0 = 0, now()
    while now() - t0 < SECONDS do
      uv.new_thread(function() return 1 end):join()
      n = n + 1
    end
    local dt = now() - t0
    out('threads=%d seconds=%.3f spawn_joins_per_s=%.0f', n, dt, n / dt)
  else
    out('status=unavailable reason="no such test for luv"')
  end
elseif IMPL == 'cqueues' then
  local cqueues = require 'cqueues'
  local thread = require 'cqueues.thread'
  if TEST ~= 'roundtrip' then
    out('status=unavailable reason="no such test for cqueues"')
    os.exit(0)
  end
  local cq = cqueues.new()
  local result
  cq:wrap(function()
    local thr, sock = thread.start(function(s)
      s:setmode('bl', 'bl') -- lines, no buffering delay
      for line in s:lines() do s:write(line, '\n') s:flush() end
    end)
    sock:setmode('bl', 'bl')
    for i = 1, 1000 do sock:write(i, '\n') sock:flush() sock:read('*l') end
    local n, t0, c0 = 0, cqueues.monotime(), clock()
    while cqueues.monotime() - t0 < SECONDS do
      for i = 1, 1000 do
        sock:write(i, '\n')
        sock:flush()
        sock:read('*l')
      end
      n = n + 1000
    end
    local dt, cpu = cqueues.monotime() - t0, clock() - c0
    sock:close()
    thr:join()
    result = ('round_trips=%d seconds=%.3f round_trips_per_s=%.0f cpu_us_per_round_trip=%.2f'):format(n, dt, n / dt, cpu / n * 1e6)
  end)
  assert(cq:loop())
  out('%s', result)
else
  io.stderr:write('usage: luajit bench/states.lua asio|luv|cqueues roundtrip|oneway|offload|scaling|spawnjoin\n')
  os.exit(1)
end
