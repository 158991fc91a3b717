-- Child processes per second, and the loop's latency while children run.
--   luajit bench/spawn.lua MODE [SECONDS]
-- MODE: asio_run      asio.run_command{'true'} one after another (stdout and stderr captured)
--       asio_run16    the same, 16 light threads at once
--       asio_wait     asio.spawn_process{'true'}:wait(), no pipes
--       luv_run       uv.spawn('true') with stdout and stderr piped and read to EOF, one after another
--       luv_run16     the same, 16 at once
--       luv_wait      uv.spawn('true') with no pipes, one after another
--       popen         io.popen('true'):read('*a') (a shell, then true), one after another
--       latency0      TCP ping-pong round trips over loopback in one asio process, nothing else
--       latency50     the same while 50 light threads each run run_command{'true'} in a loop
--                     (a spawn storm: the loop spawns back to back)
--       latency50sleep  the same with run_command{'sleep', '0.5'}: 50 children running at any
--                     time, about 100 spawns per second
--       luv_latency0, luv_latency50, luv_latency50sleep   the same with luv (callbacks;
--                     uv.spawn loops with stdout and stderr piped)
-- Prints "MODE value unit" (spawns per second, or "p50 p99 max" round-trip microseconds).
local mode, seconds = arg[1], tonumber(arg[2]) or 3

local function report(value, unit) print(('%s %s %s'):format(mode, value, unit)) end

-- bench/spawn.sh's table: "| figure | median | range | unit |" rows from the raw lines (file
-- arg[2]) of the modes in $BENCH_MODES, in that order.
if mode == 'summarize' then
  local rows = {}
  for line in io.lines(arg[2]) do
    local m, rest = line:match('^(%S+) (.*)$')
    if m then
      local unit = rest:match('(%S+)$')
      local vals = {}
      for v in rest:sub(1, #rest - #unit):gmatch('[%d.]+') do vals[#vals + 1] = tonumber(v) end
      rows[m] = rows[m] or { unit = unit }
      table.insert(rows[m], vals)
    end
  end
  for m in os.getenv('BENCH_MODES'):gmatch('%S+') do
    local r = rows[m]
    if r then
      local med, range = {}, {}
      for k = 1, #r[1] do
        local col = {}
        for _, vals in ipairs(r) do col[#col + 1] = vals[k] end
        table.sort(col)
        med[k] = col[math.floor((#col + 1) / 2)]
        range[k] = col[1] .. '-' .. col[#col]
      end
      print(('| %s | %s | %s | %s |'):format(m, table.concat(med, ' / '), table.concat(range, ' / '), r.unit))
    end
  end
  return
end

if mode == 'popen' then
  local clock = os.clock -- wall time: the child's time is not ours
  local t0 = os.time()
  local ffi = require 'ffi'
  ffi.cdef 'typedef struct { long tv_sec; long tv_nsec; } lasio_ts; int clock_gettime(int, lasio_ts *);'
  local ts = ffi.new('lasio_ts')
  local function now() ffi.C.clock_gettime(1, ts); return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9 end
  local start, n = now(), 0
  while now() - start < seconds do
    local p = io.popen('true')
    p:read('*a')
    p:close()
    n = n + 1
  end
  return report(('%.0f'):format(n / (now() - start)), 'spawns/s')
end

if mode:match('^luv_latency') then
  local uv = require 'luv'
  local commands = tonumber(mode:match('(%d+)'))
  local cmd, cmd_args = 'true', {}
  if mode:match('sleep$') then cmd, cmd_args = 'sleep', { '0.5' } end
  local stop, spawned = false, 0
  local function command_loop()
    if stop then return end
    local pending = 3
    local function part_done()
      pending = pending - 1
      if pending == 0 then spawned = spawned + 1; command_loop() end
    end
    local out, err = uv.new_pipe(false), uv.new_pipe(false)
    local handle
    handle = uv.spawn(cmd, { args = cmd_args, stdio = { nil, out, err } }, function() handle:close(); part_done() end)
    for _, pipe in ipairs { out, err } do
      pipe:read_start(function(_, data) if not data then pipe:close(); part_done() end end)
    end
  end
  local server = uv.new_tcp()
  server:bind('127.0.0.1', 0)
  server:listen(128, function()
    local c = uv.new_tcp()
    server:accept(c)
    c:read_start(function(_, data)
      if data then c:write(data) else c:close() end
    end)
  end)
  local port = server:getsockname().port
  for _ = 1, commands do command_loop() end
  local samples, client, t, start = {}, uv.new_tcp(), 0, nil
  local tick = uv.new_timer()
  client:connect('127.0.0.1', port, function()
    client:read_start(function(_, data)
      if not data then return end
      samples[#samples + 1] = (uv.hrtime() - t) / 1e3
      if (uv.hrtime() - start) / 1e9 >= seconds then
        stop = true
        client:close(); server:close(); tick:close()
        return
      end
      tick:start(1, 0, function() t = uv.hrtime(); client:write('ping\n') end)
    end)
    tick:start(200, 0, function()
      start = uv.hrtime()
      t = uv.hrtime()
      client:write('ping\n')
    end)
  end)
  uv.run()
  table.sort(samples)
  local function pct(p) return samples[math.max(1, math.ceil(#samples * p))] end
  io.stderr:write(('%s: %d round trips, %d commands run\n'):format(mode, #samples, spawned))
  return report(('%.0f %.0f %.0f'):format(pct(0.5), pct(0.99), samples[#samples]), 'us(p50,p99,max)')
end

if mode:match('^luv') then
  local uv = require 'luv'
  local concurrency = tonumber(mode:match('(%d+)$')) or 1
  local piped = mode:match('^luv_run') ~= nil
  local start, n, stop = uv.hrtime(), 0, false
  local function one()
    if stop then return end
    local pending = piped and 3 or 1
    local function part_done()
      pending = pending - 1
      if pending == 0 then
        n = n + 1
        if (uv.hrtime() - start) / 1e9 >= seconds then stop = true end
        one()
      end
    end
    local out, err = piped and uv.new_pipe(false), piped and uv.new_pipe(false)
    local handle
    handle = uv.spawn('true', { args = {}, stdio = { nil, out or nil, err or nil } }, function()
      handle:close()
      part_done()
    end)
    for _, pipe in ipairs(piped and { out, err } or {}) do
      pipe:read_start(function(e, data)
        if not data then pipe:close(); part_done() end
      end)
    end
  end
  for _ = 1, concurrency do one() end
  uv.run()
  return report(('%.0f'):format(n / ((uv.hrtime() - start) / 1e9)), 'spawns/s')
end

local asio = require 'asio'

if mode:match('^asio') then
  local concurrency = tonumber(mode:match('(%d+)$')) or 1
  local wait_only = mode == 'asio_wait'
  local n, start = 0, asio.now()
  for _ = 1, concurrency do
    asio.spawn_light_thread(function()
      while asio.now() - start < seconds do
        if wait_only then
          assert(asio.spawn_process { 'true' }:wait())
        else
          assert(asio.run_command { 'true' })
        end
        n = n + 1
      end
    end)
  end
  asio.run()
  return report(('%.0f'):format(n / (asio.now() - start)), 'spawns/s')
end

if mode:match('^latency') then
  local commands = tonumber(mode:match('(%d+)'))
  local command = mode:match('sleep$') and { 'sleep', '0.5' } or { 'true' }
  local s = assert(asio.server('127.0.0.1', 0, function(c)
    while true do
      local line = c:read_line()
      if not line then break end
      c:write(line .. '\n')
    end
    c:close()
  end))
  local _, port = s:local_address()
  local stop, spawned = false, 0
  for _ = 1, commands do
    asio.spawn_light_thread(function()
      while not stop do
        assert(asio.run_command(command))
        spawned = spawned + 1
      end
    end)
  end
  local samples = {}
  asio.spawn_light_thread(function()
    local c = assert(asio.connect('127.0.0.1', port))
    asio.sleep(0.2) -- let the commands get going
    local start = asio.now()
    while asio.now() - start < seconds do
      local t = asio.now()
      c:write('ping\n')
      assert(c:read_line() == 'ping')
      samples[#samples + 1] = (asio.now() - t) * 1e6
      asio.sleep(0.001) -- one round trip per millisecond, as a game tick or a health check would
    end
    stop = true
    c:close(); s:close()
  end)
  asio.run()
  table.sort(samples)
  local function pct(p) return samples[math.max(1, math.ceil(#samples * p))] end
  io.stderr:write(('%s: %d round trips, %d commands run\n'):format(mode, #samples, spawned))
  return report(('%.0f %.0f %.0f'):format(pct(0.5), pct(0.99), samples[#samples]), 'us(p50,p99,max)')
end

error('unknown mode ' .. tostring(mode))
