-- SPDX-License-Identifier: MIT
-- The client side of bench/ports_memory.sh, on the host: opens N connections to 127.0.0.1:PORT,
-- sends nothing, and waits until the server closes them.
--   luajit bench/ports_memory_client.lua PORT N
local asio = require 'asio'
local port, n = tonumber(arg[1]), tonumber(arg[2]) or 1000
asio.spawn_light_thread(function()
  for _ = 1, n do
    local c = assert(asio.connect('127.0.0.1', port))
    asio.spawn_light_thread(function()
      c:settimeout(120)
      c:read(1)
      c:close()
    end)
  end
end)
asio.run()
