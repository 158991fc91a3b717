-- The README ping-pong, as the original LuaAsio's users wrote it: a server that answers
-- "<data>-pong" and two clients, all light threads in one OS thread. Exits on its own.
local asio = require 'asio'

local s = asio.server('127.0.0.1', 1234, function(con)
  asio.spawn_light_thread(function(con)
    local data = con:read(5)          -- synchronous-looking, non-blocking
    con:write(data .. '-pong')
    con:close()
  end, con)
end)

local done = 0
local function ping_send(text)
  local con = asio.connect('localhost', '1234')
  con:write(text)
  print(con:read(10))
  con:close()
  done = done + 1
  if done == 2 then s:close() end     -- nothing left to serve: asio.run() returns
end

asio.spawn_light_thread(ping_send, 'ping1')
asio.spawn_light_thread(ping_send, 'ping2')

asio.run()
