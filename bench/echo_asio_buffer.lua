-- Echo server on LuaAsio streaming through a string buffer (conn:read_into / conn:write_from):
-- the bytes go from the socket into the buffer and back out with no Lua string made for them.
--   luajit bench/echo_asio_buffer.lua [port]
-- Needs LUA_PATH / LUA_CPATH pointing at build/ (bench/run.sh sets them).
local asio = require 'asio'
local buffer = require 'string.buffer'

local port = tonumber(arg[1]) or 0
local holder = asio.server('127.0.0.1', port, function(conn)
  local buf = buffer.new()
  while conn:read_into(buf) do
    if not conn:write_from(buf) then break end
  end
  conn:close()
end)
local _, bound = holder:local_address()
io.stdout:write(bound, '\n')
io.stdout:flush()
asio.run()
