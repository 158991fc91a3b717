-- SPDX-License-Identifier: MIT
-- The server side of bench/ports_memory.sh, run on the target (under qemu-user or Wine): accepts
-- N connections from a client process on the host, each served by a light thread parked in a
-- read, and prints the growth of the process (VmRSS) and of the Lua heap from before the first
-- connection to when all N are idle, per connection.
--   luajit bench/ports_memory.lua N     (prints "port P", then one result line)
local asio = require 'asio'
local n = tonumber(arg[1]) or 1000

local function rss_kb()
  local f = io.open('/proc/self/status', 'r')
  if not f then return nil end
  local kb
  for line in f:lines() do kb = kb or tonumber(line:match('^VmRSS:%s*(%d+)')) end
  f:close()
  return kb
end

local accepted = 0
local conns = {}
local server = assert(asio.server('127.0.0.1', 0, function(conn)
  accepted = accepted + 1
  conns[#conns + 1] = conn
  conn:read(1) -- idle until the end: the client sends nothing
end))
local _, port = server:local_address()
collectgarbage(); collectgarbage()
local rss0, lua0 = rss_kb(), collectgarbage('count')
io.stdout:write('port ', port, '\n')
io.stdout:flush()

asio.spawn_light_thread(function()
  for _ = 1, 6000 do -- at most 60 s
    if accepted >= n then break end
    asio.sleep(0.01)
  end
  asio.sleep(0.2)
  collectgarbage(); collectgarbage()
  local rss1, lua1 = rss_kb(), collectgarbage('count')
  local per_rss = rss0 and rss1 and ('%.0f'):format((rss1 - rss0) * 1024 / accepted) or '?'
  io.stdout:write(('%s %s: %d idle connections, %s bytes RSS and %.0f bytes of Lua heap per connection\n')
    :format(jit.os, jit.arch, accepted, per_rss, (lua1 - lua0) * 1024 / accepted))
  io.stdout:flush()
  for _, c in ipairs(conns) do c:close() end
  server:close()
end)
asio.run()
