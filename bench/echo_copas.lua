-- Echo server on copas (Debian's copas, luasocket, select()-based).
--   luajit bench/echo_copas.lua [port]
local copas = require 'copas'
local socket = require 'socket'

local port = tonumber(arg[1]) or 0
local srv = assert(socket.tcp())
assert(srv:bind('127.0.0.1', port))
assert(srv:listen(1024))
local _, bound = srv:getsockname()
io.stdout:write(bound, '\n')
io.stdout:flush()

copas.addserver(srv, function(skt)
  while true do
    -- receivePartial returns as soon as some bytes are there (in `part`).
    local s, err, part = copas.receivePartial(skt, 65536)
    local d = s or part
    if d and #d > 0 then
      if not copas.send(skt, d) then break end
    end
    if not s and err ~= 'timeout' then break end
  end
  skt:close()
end)

copas.loop()
