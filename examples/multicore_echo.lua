-- SPDX-License-Identifier: MIT
-- One echo server on every core: a worker state per core (asio.thread), each accepting on the
-- same port (reuseport: the kernel spreads the connections), one shared channel that tells
-- every worker to stop, and a graceful shutdown that lets the connections in flight finish.
--
-- Usage: luajit examples/multicore_echo.lua [workers] [port]
--   With no port it picks a free one, drives itself with a few hundred clients (one of them
--   still talking while the workers are told to stop), prints what each worker served and
--   exits. With a port it serves until a line "shutdown" arrives on any connection.
local asio = require 'asio'

local WORKERS = tonumber(arg and arg[1]) or asio.cpu_count()
local PORT = tonumber(arg and arg[2])
local DEMO = PORT == nil

-- Runs in each worker state (it travels as bytecode: everything it uses is its own).
local function worker(id, port, stop, events)
  local asio = require 'asio'
  local active, served = 0, 0
  local server = assert(asio.server('127.0.0.1', port, function(conn)
    active, served = active + 1, served + 1
    conn:settimeout(30)
    while true do
      local line = conn:read_line()
      if not line then break end
      if line == 'shutdown' then events:send('shutdown') end
      if not conn:write(('%s [worker %d]\n'):format(line, id)) then break end
    end
    conn:close()
    active = active - 1
  end, { reuseport = true }))
  events:send('listening')
  stop:recv()    -- parks this light thread only; the server keeps accepting meanwhile
  server:close() -- stop accepting; the connections in flight go on
  for _ = 1, 500 do -- let them finish, within 5 s
    if active == 0 then break end
    asio.sleep(0.01)
  end
  return served, active
end

-- A free port for every worker to share (found by a server closed at once).
if not PORT then
  local probe = assert(asio.server('127.0.0.1', 0, function() end))
  PORT = select(2, probe:local_address())
  probe:close()
end

local failed = false
asio.on_error(function(msg)
  io.stderr:write(msg, '\n')
  failed = true
end)

local stop = asio.shared_channel(0)   -- never sent on: closing it wakes every worker
local events = asio.shared_channel(64)

asio.spawn_light_thread(function()
  local workers = {}
  for i = 1, WORKERS do workers[i] = asio.thread(worker, i, PORT, stop, events) end
  for _ = 1, WORKERS do assert(events:recv(10) == 'listening') end
  print(('%d workers listening on 127.0.0.1:%d'):format(WORKERS, PORT))

  if DEMO then
    -- One client keeps its connection open across the shutdown.
    local lingering = assert(asio.connect('127.0.0.1', PORT))
    lingering:settimeout(10)
    assert(lingering:write('before\n') and lingering:read_line())
    local clients = {}
    for c = 1, 200 do
      clients[c] = asio.spawn_light_thread(function()
        local conn = assert(asio.connect('127.0.0.1', PORT))
        conn:settimeout(10)
        for k = 1, 5 do
          local msg = ('client %d message %d'):format(c, k)
          assert(conn:write(msg .. '\n'))
          local answer = assert(conn:read_line())
          assert(answer:sub(1, #msg) == msg, answer)
        end
        conn:close()
      end)
    end
    asio.wait_all(unpack(clients))
    stop:close() -- every worker stops accepting
    asio.sleep(0.05)
    -- The connection in flight is still served, then closed by its client.
    assert(lingering:write('after the stop\n'))
    print('in flight: ' .. assert(lingering:read_line()))
    lingering:close()
  else
    while events:recv() ~= 'shutdown' do end
    stop:close()
  end

  local total = 0
  for i = 1, WORKERS do
    local ok, served, left = workers[i]:join(30)
    assert(ok, served)
    print(('worker %d served %d connections (%d cut at the deadline)'):format(i, served, left))
    total = total + served
  end
  print(('%d connections served in all'):format(total))
end)
asio.run()
if failed then os.exit(1) end
