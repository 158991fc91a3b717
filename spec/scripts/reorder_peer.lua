-- The peer of buffer_io_spec's byte-order spec, in a process of its own (the server's loop is
-- made to stall): lets the server's writer fill its buffers, drains them so that the server's
-- socket becomes writable while its loop stalls, then sends 1000 numbered bytes.
--   luajit spec/scripts/reorder_peer.lua PORT
local asio = require 'asio'
local port = assert(tonumber(arg[1]))
asio.spawn_light_thread(function()
  local c = assert(asio.connect('127.0.0.1', port))
  asio.sleep(0.4)
  local stop = asio.now() + 0.15
  c:settimeout(0.005)
  while asio.now() < stop do c:read_some(1048576) end
  c:settimeout(5)
  local t = {}
  for i = 0, 999 do t[#t + 1] = string.char(i % 251) end
  assert(c:write(table.concat(t)))
  while c:read_some(1048576) do end
  c:close()
end)
asio.run()
