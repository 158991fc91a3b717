-- SPDX-License-Identifier: MIT
-- Ends the state (the interpreter's lua_close) with a server, connections, a UDP socket, timers
-- and light threads suspended in a read, a sleep and a channel receive: nothing may crash, hang
-- or run Lua after finalization began. tools/ports.sh checks the exit status and the last line.
local asio = require 'asio'

local server = assert(asio.server('127.0.0.1', 0, function(conn)
  conn:read(1) -- never answered: the server's side of the connection stays suspended
end))
local _, port = server:local_address()
local udp = assert(asio.udp('127.0.0.1', 0))
local ch = asio.channel()
local ready = 0

asio.spawn_light_thread(function()
  local c = assert(asio.connect('127.0.0.1', port))
  ready = ready + 1
  c:read(1)
end)
asio.spawn_light_thread(function() ready = ready + 1; udp:recvfrom() end)
asio.spawn_light_thread(function() ready = ready + 1; asio.sleep(3600) end)
asio.spawn_light_thread(function() ready = ready + 1; ch:recv() end)
asio.timer(3600, function() end)
asio.every(3600, function() end)

for _ = 1, 200 do
  if ready == 4 then break end
  asio.run_once(0.05)
end
asio.run_once(0.05)
local s = asio._stats()
assert(ready == 4, 'the light threads did not all start')
assert(s.threads >= 4 and s.sockets >= 3 and s.servers == 1, 'not everything is live')
print('lua_close: everything was live')
