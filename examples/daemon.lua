-- SPDX-License-Identifier: MIT
-- A small daemon: serves a line protocol over TCP, reloads its config file on SIGHUP, and on
-- SIGTERM (or SIGINT) stops accepting, lets the requests in flight finish within a bound, and
-- exits 0.
--
--   luajit examples/daemon.lua CONFIG [PORT]   run as a daemon (spec/daemon_example_spec.lua)
--   luajit examples/daemon.lua                 a self-contained demo: it writes a config,
--                                              talks to itself, sends itself SIGHUP, then
--                                              SIGTERM with a request in flight, and exits 0
--
-- CONFIG holds `key = value` lines: `greeting` (the reply's prefix) and `grace` (seconds the
-- requests in flight get after SIGTERM). A request is a line; the reply is "<greeting> <line>".
-- "slow <seconds>" takes that long to answer: a request in flight to stop gracefully around.
local asio = require 'asio'
io.stdout:setvbuf('line') -- the spec reads our log as it comes

local config_path, port = arg[1], tonumber(arg[2]) or 0
local demo = config_path == nil
if demo then
  config_path = os.tmpname()
  local f = assert(io.open(config_path, 'w'))
  f:write('greeting = hello\ngrace = 5\n')
  f:close()
end

-- A config is a few lines of a small local file: read it in one go on the loop's thread.
local function load_config(path)
  local f, err = io.open(path)
  if not f then return nil, err end
  local cfg = { greeting = 'hello', grace = 5 }
  for line in f:lines() do
    local k, v = line:match('^%s*([%w_]+)%s*=%s*(.-)%s*$')
    if k then cfg[k] = tonumber(v) or v end
  end
  f:close()
  return cfg
end

local cfg = assert(load_config(config_path))
local open, busy = {}, {} -- connections being served; those in the middle of a request
local stopping = false
local done = asio.waitgroup()

-- Watch the signals before announcing the port: a supervisor may signal as soon as it knows
-- we are up, and until then SIGHUP's default action would end us.
local sig = asio.signal('HUP', 'TERM', 'INT')

local server = assert(asio.server('127.0.0.1', port, function(conn)
  open[conn] = asio.current()
  done:add(1)
  conn:settimeouts(nil, 10, 60)
  while not stopping do
    local line = conn:read_line()
    if not line then break end
    busy[conn] = true
    local seconds = tonumber(line:match('^slow ([%d.]+)$'))
    if seconds then
      print('in flight: ' .. line)
      asio.sleep(seconds)
    end
    local ok = conn:write(cfg.greeting .. ' ' .. line .. '\n')
    busy[conn] = nil
    if not ok then break end
  end
  open[conn] = nil
  conn:close()
  done:done()
end))
local _, bound = server:local_address()
print('listening ' .. bound)

asio.spawn_light_thread(function()
  while true do
    local name = sig:wait()
    if name ~= 'HUP' then break end
    local new, err = load_config(config_path)
    if new then
      cfg = new
      print('reloaded greeting=' .. cfg.greeting)
    else
      print('reload failed: ' .. err) -- keep serving with the old config
    end
  end
  -- From here a second TERM or INT has its default action again: it ends us at once.
  sig:close()
  stopping = true
  server:close()
  local n, idle = 0, 0
  for conn in pairs(open) do
    n = n + 1
    -- An idle connection has nothing in flight: close it now (its read ends with "closed").
    if not busy[conn] then conn:close(); idle = idle + 1 end
  end
  print(('stopping: %d connection(s), %d in flight'):format(n, n - idle))
  if not done:wait(cfg.grace) then
    -- Past the bound: cut them off (a handler may be asleep in its work, not in I/O).
    for conn, handler in pairs(open) do
      handler:kill()
      conn:close()
    end
    print('grace period over')
  end
  print('stopped')
end)

if demo then
  local ffi = require 'ffi'
  ffi.cdef 'int kill(int pid, int sig); int getpid(void);'
  local function signal_self(signo) ffi.C.kill(ffi.C.getpid(), signo) end
  asio.spawn_light_thread(function()
    local c = assert(asio.connect('127.0.0.1', bound))
    c:write('ping\n')
    assert(c:read_line() == 'hello ping')
    local f = assert(io.open(config_path, 'w'))
    f:write('greeting = hi\ngrace = 5\n')
    f:close()
    signal_self(1) -- SIGHUP
    for _ = 1, 100 do -- bounded: the reload comes on a later loop turn
      c:write('ping\n')
      if c:read_line() == 'hi ping' then break end
      asio.sleep(0.01)
    end
    c:write('slow 0.2\n')
    for _ = 1, 100 do -- bounded: until the server is in the middle of it
      if next(busy) then break end
      asio.sleep(0.01)
    end
    signal_self(15) -- SIGTERM
    assert(c:read_line() == 'hi slow 0.2', 'the request in flight was not finished')
    assert(c:read_line() == nil) -- then the daemon closed the connection
    c:close()
    assert(asio.connect('127.0.0.1', bound) == nil) -- and accepts no more
    os.remove(config_path)
    print('demo ok')
  end)
end

asio.run()
