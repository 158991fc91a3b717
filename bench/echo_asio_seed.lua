-- Echo server on LuaAsio written in the seed's style (the original LuaAsio README): the accept
-- handler spawns a second light thread for the connection and returns at once.
--   luajit bench/echo_asio_seed.lua [port]
-- Needs LUA_PATH / LUA_CPATH pointing at build/ (bench/run.sh sets them).
local asio = require 'asio'

local function connection_th(conn)
  while true do
    local d = conn:read_some()
    if not d then break end
    conn:write(d)
  end
  conn:close()
end

local port = tonumber(arg[1]) or 0
local holder = asio.server('127.0.0.1', port, function(conn)
  asio.spawn_light_thread(connection_th, conn)
end)
local _, bound = holder:local_address()
io.stdout:write(bound, '\n')
io.stdout:flush()
asio.run()
