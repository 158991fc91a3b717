-- Echo server on LuaAsio (this project): one light thread per connection.
--   luajit bench/echo_asio.lua [port]
-- Needs LUA_PATH / LUA_CPATH pointing at build/ (bench/run.sh sets them).
local asio = require 'asio'

local port = tonumber(arg[1]) or 0
local holder = asio.server('127.0.0.1', port, function(conn)
  while true do
    local d = conn:read_some()
    if not d then break end
    conn:write(d)
  end
  conn:close()
end)
local _, bound = holder:local_address()
io.stdout:write(bound, '\n')
io.stdout:flush()
asio.run()
