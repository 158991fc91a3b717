-- SPDX-License-Identifier: MIT
-- One seeded random program over the whole API: luajit spec/fuzz/fuzz.lua SEED [ACTIONS]
--
-- A few actor light threads each run ACTIONS random steps: servers (TCP, Unix, TLS) whose
-- handlers behave at random, connections, UDP sockets, reads and writes of every kind with good
-- and bad arguments, closes, timeouts, kills, joins, park/wake, timers, channels, locks, select,
-- and the collector at random points: objects dropped while light threads wait on them, full and
-- partial collections, a tiny step multiplier, and finalizers that close, kill, wake and read
-- from inside whatever allocation runs them. Every argument error must be a clear Lua error
-- (a string), every I/O failure nil plus a string. At the end everything is closed and
-- asio._stats() must be back at zero. Exit status 0 means the seed passed; the sanitizer build
-- reports memory errors by itself (spec/fuzz/run.sh looks for them).
local asio = require 'asio'
local has_sbuf, sbuf = pcall(require, 'string.buffer')
if not has_sbuf then sbuf = nil end

local seed = tonumber(arg and arg[1]) or 1
local actions_per_actor = tonumber(arg and arg[2]) or 300
local time_limit = 3 -- seconds of loop before everything is closed
math.randomseed(seed)
local random = math.random

local violations = {}
local function violation(what)
  violations[#violations + 1] = what
  io.stderr:write('fuzz seed ', seed, ': ', what, '\n')
end

local tmpdir = os.getenv('ASIO_FUZZ_TMP') or '/tmp'
local unix_dir = ('%s/lasio-fuzz-%d-%d'):format(tmpdir, seed, math.floor(os.time() % 100000))
os.execute('mkdir -p ' .. unix_dir)
local cert_dir = os.getenv('ASIO_FUZZ_CERTS') -- cert.pem and key.pem, made by run.sh

-- What the program knows of; entries are dropped at random so the collector finds them.
local pool = {
  servers = {}, ports = {}, unix_paths = {}, conns = {}, udps = {}, udp_ports = {},
  threads = {}, channels = {}, mutexes = {}, semaphores = {}, events = {}, timers = {},
  tls_server_ctx = nil, tls_client_ctx = nil,
}

local function pick(list)
  local n = #list
  if n == 0 then return nil end
  return list[random(n)]
end

local function add(list, v)
  if v ~= nil and #list < 64 then list[#list + 1] = v end
  return v
end

local function drop(list)
  local n = #list
  if n > 0 then table.remove(list, random(n)) end
end

local big = string.rep('z', 70000)
local function junk()
  local k = random(22)
  if k == 1 then return nil
  elseif k == 2 then return true
  elseif k == 3 then return -1
  elseif k == 4 then return 0
  elseif k == 5 then return 0.5
  elseif k == 6 then return 2 ^ 53
  elseif k == 7 then return 2 ^ 64
  elseif k == 8 then return math.huge
  elseif k == 9 then return -math.huge
  elseif k == 10 then return 0 / 0
  elseif k == 11 then return ''
  elseif k == 12 then return 'x\0y'
  elseif k == 13 then return big
  elseif k == 14 then return {}
  elseif k == 15 then return { 'a', 1, 'b' }
  elseif k == 16 then return function() end
  elseif k == 17 then return coroutine.create(function() end)
  elseif k == 18 then return newproxy()
  elseif k == 19 then return pick(pool.conns)
  elseif k == 20 then return pick(pool.udps)
  elseif k == 21 then return pick(pool.threads)
  else return random(1, 100000) end
end

local function small_timeout()
  local k = random(10)
  if k == 1 then return nil end -- waits until something else ends it
  if k == 2 then return 0 end
  return random() * 0.05
end

-- Checks what an I/O call returned under pcall: nothing, a value, or nil and a string.
local function io_result(name, ...)
  local ok, v, err = ...
  if not ok then
    if type(v) ~= 'string' then violation(name .. ' raised a ' .. type(v)) end
    return
  end
  if select('#', ...) > 1 and v == nil and type(err) ~= 'string' then
    violation(name .. ' returned nil without an error string')
  end
end

local function call(name, f, ...)
  io_result(name, pcall(f, ...))
end

-- Argument lists: mostly good, sometimes bad.
local function maybe(good) return random(6) == 1 and junk() or good end

local conn_ops = {
  function(c) call('read', c.read, c, maybe(random(0, 3000))) end,
  function(c) call('read_some', c.read_some, c, maybe(random(1, 70000))) end,
  function(c) call('read_until', c.read_until, c, maybe('\n'), maybe(random(1, 100))) end,
  function(c) call('read_line', c.read_line, c, maybe(random(1, 100))) end,
  function(c)
    if c.read_into and sbuf then call('read_into', c.read_into, c, maybe(sbuf.new()), maybe(random(1, 70000))) end
  end,
  function(c)
    if c.write_from and sbuf then
      call('write_from', c.write_from, c, maybe(sbuf.new():put(string.rep('b', random(0, 100000)))))
    end
  end,
  function(c)
    local k = random(4)
    local data = k == 1 and string.rep('d', random(0, 200000)) or k == 2 and { 'a', 42, 'b\n' }
      or k == 3 and 'line\n' or junk()
    call('write', c.write, c, data)
  end,
  function(c) call('close', c.close, c) end,
  function(c) call('shutdown', c.shutdown, c, maybe(({ 'send', 'receive', 'both' })[random(3)])) end,
  function(c) call('settimeout', c.settimeout, c, maybe(small_timeout())) end,
  function(c) call('settimeouts', c.settimeouts, c, small_timeout(), small_timeout(), maybe(small_timeout())) end,
  function(c) call('setoption', c.setoption, c, maybe('nodelay'), maybe(true)) end,
  function(c) call('setoption', c.setoption, c, maybe('rcvbuf'), maybe(4096)) end,
  function(c) call('local_address', c.local_address, c) end,
  function(c) call('remote_address', c.remote_address, c) end,
  function(c) call('original_dst', c.original_dst, c) end,
  function(c) pcall(c.tls_info, c) end, -- nil for a plain connection
  function(c)
    if pool.tls_client_ctx then
      call('tls_handshake', c.tls_handshake, c, maybe(pool.tls_client_ctx), { timeout = 0.05 })
    end
  end,
  function(c) call('tls_shutdown', c.tls_shutdown, c, maybe(0.02)) end,
  function(c) tostring(c) end,
}

local udp_ops = {
  function(u) call('recv', u.recv, u, maybe(random(1, 70000))) end,
  function(u) call('recvfrom', u.recvfrom, u, maybe(random(1, 70000))) end,
  function(u)
    local port = pick(pool.udp_ports) or 9
    call('sendto', u.sendto, u, maybe(string.rep('u', random(0, 2000))), maybe('127.0.0.1'), maybe(port))
  end,
  function(u) call('send', u.send, u, maybe('hello')) end,
  function(u) call('connect', u.connect, u, maybe('127.0.0.1'), maybe(pick(pool.udp_ports) or 9)) end,
  function(u) call('settimeout', u.settimeout, u, maybe(small_timeout())) end,
  function(u) call('setoption', u.setoption, u, maybe('broadcast'), maybe(true)) end,
  function(u) call('local_address', u.local_address, u) end,
  function(u) call('close', u.close, u) end,
}

-- What a connection handler does with the connection it is handed.
local function handler_behaviour()
  local k = random(6)
  if k == 1 then
    return function(c) -- echo until the end
      for _ = 1, 50 do
        local data = c:read_some()
        if not data or not c:write(data) then break end
      end
      c:close()
    end
  elseif k == 2 then
    return function(c) c:write(string.rep('s', random(1, 300000))) end
  elseif k == 3 then
    return function(c) asio.sleep(random() * 0.1); c:close() end
  elseif k == 4 then
    return function() error('handler fails on purpose') end
  elseif k == 5 then
    return function(c) for _ = 1, 5 do if not c:read_line(64) then break end end end
  else
    return function() end -- returns at once; the connection is collected
  end
end

local spawn_actor -- forward

local actions = {
  -- servers and connections
  function()
    local s = asio.server('127.0.0.1', 0, handler_behaviour(), random(4) == 1 and { backlog = random(1, 8) } or nil)
    if s then
      add(pool.servers, s)
      add(pool.ports, select(2, s:local_address()))
    end
  end,
  function()
    local path = ('%s/s%d'):format(unix_dir, random(1000))
    local s = asio.unix_server(path, handler_behaviour())
    if s then add(pool.servers, s); add(pool.unix_paths, path) end
  end,
  function()
    if not pool.tls_server_ctx then return end
    local s = asio.server('127.0.0.1', 0, handler_behaviour(), { tls = pool.tls_server_ctx, handshake_timeout = 0.2 })
    if s then add(pool.ports, select(2, s:local_address())); add(pool.servers, s) end
  end,
  function()
    local port = pick(pool.ports) or 1
    local opts = random(3) == 1 and { timeout = small_timeout() } or nil
    if pool.tls_client_ctx and random(4) == 1 then
      opts = { tls = pool.tls_client_ctx, timeout = 0.2 }
    end
    local ok, c, err = pcall(asio.connect, maybe('127.0.0.1'), maybe(port), opts)
    io_result('connect', ok, c, err)
    if ok and c then add(pool.conns, c) end
  end,
  function()
    local ok, c, err = pcall(asio.unix_connect, maybe(pick(pool.unix_paths) or unix_dir .. '/none'))
    io_result('unix_connect', ok, c, err)
    if ok and c then add(pool.conns, c) end
  end,
  function() local c = pick(pool.conns); if c then conn_ops[random(#conn_ops)](c) end end,
  function() local c = pick(pool.conns); if c then conn_ops[random(#conn_ops)](c) end end,
  function() local c = pick(pool.conns); if c then conn_ops[random(#conn_ops)](c) end end,
  function() local s = pick(pool.servers); if s then call('server close', s.close, s) end end,
  function() call('resolve', asio.resolve, maybe('localhost'), maybe(nil), small_timeout()) end,
  -- UDP
  function()
    local ok, u = pcall(asio.udp, '127.0.0.1', 0)
    if ok and u then
      add(pool.udps, u)
      add(pool.udp_ports, select(2, u:local_address()))
    end
  end,
  function() local u = pick(pool.udps); if u then udp_ops[random(#udp_ops)](u) end end,
  function() local u = pick(pool.udps); if u then udp_ops[random(#udp_ops)](u) end end,
  -- light threads
  function() if #pool.threads < 40 then add(pool.threads, spawn_actor(random(5, 40))) end end,
  function() local t = pick(pool.threads); if t then pcall(t.kill, t) end end,
  function() local t = pick(pool.threads); if t then pcall(t.join, t, small_timeout()) end end,
  function() local t = pick(pool.threads); if t then pcall(t.status, t) end end,
  function() pcall(asio.park, small_timeout()) end,
  function() local t = pick(pool.threads); if t then pcall(asio.wake, t, 'woken', junk()) end end,
  function() pcall(asio.sleep, maybe(random() * 0.02)) end,
  function() asio.yield() end,
  function() coroutine.yield() end,
  function()
    local ok, t = pcall(asio.timer, maybe(random() * 0.05), function() asio.sleep(0.01) end)
    if ok then add(pool.timers, t) end
  end,
  function()
    local ok, t = pcall(asio.every, maybe(0.01), function() end)
    if ok then add(pool.timers, t) end
  end,
  function() local t = pick(pool.timers); if t then pcall(t.cancel, t) end end,
  function() pcall(asio.run) end, -- refused inside a light thread
  function() pcall(asio.current) end,
  -- coordination
  function() local ok, ch = pcall(asio.channel, maybe(random(0, 4))); if ok then add(pool.channels, ch) end end,
  function() local ch = pick(pool.channels); if ch then pcall(ch.send, ch, junk() or 1, small_timeout()) end end,
  function() local ch = pick(pool.channels); if ch then pcall(ch.recv, ch, small_timeout()) end end,
  function() local ch = pick(pool.channels); if ch then pcall(ch.close, ch) end end,
  function()
    local a, b = pick(pool.channels), pick(pool.channels)
    if a and b then pcall(asio.select, { { a, 'recv' }, { b, 'send', 1 } }, small_timeout()) end
  end,
  function() local ok, m = pcall(asio.mutex); if ok then add(pool.mutexes, m) end end,
  function()
    local m = pick(pool.mutexes)
    if m and pcall(m.lock, m, small_timeout()) then
      if random(2) == 1 then asio.sleep(0.001) end
      pcall(m.unlock, m)
    end
  end,
  function() local ok, s = pcall(asio.semaphore, maybe(random(0, 2))); if ok then add(pool.semaphores, s) end end,
  function()
    local s = pick(pool.semaphores)
    if s and pcall(s.acquire, s, small_timeout()) then pcall(s.release, s) end
  end,
  function() local ok, e = pcall(asio.event); if ok then add(pool.events, e) end end,
  function()
    local e = pick(pool.events)
    if e then
      if random(2) == 1 then pcall(e.set, e) else pcall(e.wait, e, small_timeout()) end
    end
  end,
  function()
    local a, b = pick(pool.threads), pick(pool.threads)
    if a and b then pcall(random(2) == 1 and asio.wait_any or asio.wait_all, a, b) end
  end,
  -- the collector
  function() collectgarbage('collect') end,
  function() collectgarbage('step', random(0, 20)) end,
  function() collectgarbage('setstepmul', ({ 1, 2, 10, 200, 400 })[random(5)]) end,
  function() drop(pool.conns) end,
  function() drop(pool.udps) end,
  function() drop(pool.servers) end,
  function() drop(pool.threads) end,
  function() drop(pool.channels) end,
}

-- Finalizers that act on the module from inside whatever allocation runs them. They must not
-- raise (LuaJIT passes a finalizer's error on to the allocation that ran it) nor yield.
local finalizer_acts = {
  function() local c = pick(pool.conns); if c then c:close() end end,
  function() local u = pick(pool.udps); if u then u:close() end end,
  function() local t = pick(pool.threads); if t then t:kill() end end,
  function() local t = pick(pool.threads); if t then asio.wake(t, 'from a finalizer') end end,
  function() local c = pick(pool.conns); if c then c:read_some() end end,
  function() local c = pick(pool.conns); if c then c:write('from a finalizer') end end,
  function() local s = pick(pool.servers); if s then s:close() end end,
  function() local ch = pick(pool.channels); if ch then ch:send(1, 0) end end,
}
local canary_mt_holder = newproxy(true)
getmetatable(canary_mt_holder).__gc = function()
  pcall(finalizer_acts[random(#finalizer_acts)])
end
local function drop_canaries(n)
  for _ = 1, n do newproxy(canary_mt_holder) end
end
actions[#actions + 1] = function() drop_canaries(random(1, 50)) end
actions[#actions + 1] = function() drop_canaries(random(1, 50)) end

-- The pattern of the first bug: a thread waits on an object that another drops and collects.
actions[#actions + 1] = function()
  local c = pick(pool.conns)
  if not c then return end
  local holder = { c = c }
  local t = asio.spawn_light_thread(function()
    holder.c:settimeout(small_timeout())
    pcall(holder.c.read, holder.c, random(1, 10))
  end)
  add(pool.threads, t)
  asio.spawn_light_thread(function()
    asio.sleep(random() * 0.01)
    holder.c = nil
    drop(pool.conns)
    collectgarbage('collect')
  end)
end

local actions_run = 0
local function run_actions(n)
  for _ = 1, n do
    actions_run = actions_run + 1
    local act = actions[random(#actions)]
    local ok, err = pcall(act)
    if not ok and type(err) ~= 'string' then violation('an action raised a ' .. type(err)) end
  end
end

spawn_actor = function(n)
  return asio.spawn_light_thread(run_actions, n)
end

-- TLS contexts, when run.sh made a certificate.
if cert_dir and pcall(asio.tls_context, { mode = 'client', verify = false }) then
  pool.tls_server_ctx = asio.tls_context { mode = 'server', cert = cert_dir .. '/cert.pem', key = cert_dir .. '/key.pem' }
  pool.tls_client_ctx = asio.tls_context { mode = 'client', verify = false }
end

local uncaught = 0
asio.on_error(function(msg)
  uncaught = uncaught + 1
  if type(msg) ~= 'string' then violation('the error handler got a ' .. type(msg)) end
end)

local actors = {}
for i = 1, random(3, 6) do actors[i] = spawn_actor(actions_per_actor) end

local deadline = asio.now() + time_limit
for _ = 1, 100000 do
  local more = asio.run_once(0.02)
  local busy = false
  for _, a in ipairs(actors) do
    if a:status() ~= 'dead' then busy = true end
  end
  if not busy or asio.now() > deadline then break end
  if not more then break end
end

-- Everything ends: threads killed, objects closed, handlers drained, garbage collected.
collectgarbage('setstepmul', 200)
asio._close_all()
for _ = 1, 50 do
  if not asio.run_once(0.01) then break end
end
pool = nil
collectgarbage(); collectgarbage()
asio._close_all()
for _ = 1, 50 do
  if not asio.run_once(0.01) then break end
end
collectgarbage(); collectgarbage()
local stats = asio._stats()
for _, k in ipairs({ 'threads', 'sockets', 'servers', 'pending' }) do
  if stats[k] ~= 0 then violation(('asio._stats().%s is %d at the end'):format(k, stats[k])) end
end
os.execute('rm -rf ' .. unix_dir)
if #violations > 0 then os.exit(1) end
print(('fuzz seed %d: passed (%d actions, %d uncaught errors of handlers that raise on purpose)')
  :format(seed, actions_run, uncaught))
