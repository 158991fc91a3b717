-- Servers of the TLS / UDP benchmarks (bench/run_tls_udp.sh runs them pinned):
--   luajit bench/tls_udp.lua tls-server CERT KEY [port]   LuaAsio TLS echo, a light thread per connection
--   luajit bench/tls_udp.lua udp-server [port]            LuaAsio UDP echo, one light thread
--   luajit bench/tls_udp.lua luv-udp-server [port]        luv UDP echo (callbacks), the comparison
-- Each binds 127.0.0.1, prints the bound port on the first line and serves until killed.
local mode = arg[1]

local function announce(port)
  io.stdout:write(port, '\n')
  io.stdout:flush()
end

if mode == 'tls-server' then
  local asio = require 'asio'
  local ctx = assert(asio.tls_context { mode = 'server', cert = arg[2], key = arg[3] })
  local holder = assert(asio.server('127.0.0.1', tonumber(arg[4]) or 0, function(conn)
    conn:setoption('nodelay', true)
    while true do
      local d = conn:read_some()
      if not d or not conn:write(d) then break end
    end
    conn:close()
  end, { tls = ctx }))
  local _, port = holder:local_address()
  announce(port)
  asio.run()
elseif mode == 'udp-server' then
  local asio = require 'asio'
  local u = assert(asio.udp('127.0.0.1', tonumber(arg[2]) or 0))
  local _, port = u:local_address()
  announce(port)
  asio.spawn_light_thread(function()
    while true do
      local d, ip, p = u:recvfrom()
      if d then u:sendto(d, ip, p) end
    end
  end)
  asio.run()
elseif mode == 'luv-udp-server' then
  local uv = require 'luv'
  local u = uv.new_udp()
  assert(u:bind('127.0.0.1', tonumber(arg[2]) or 0))
  announce(u:getsockname().port)
  u:recv_start(function(err, data, addr)
    if data and addr then u:send(data, addr.ip, addr.port, function() end) end
  end)
  uv.run()
else
  io.stderr:write('usage: luajit bench/tls_udp.lua tls-server CERT KEY [port] | udp-server [port] | luv-udp-server [port]\n')
  os.exit(1)
end
