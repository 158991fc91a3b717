-- Echo server on luv (libuv), plain callbacks: the idiomatic fastest luv echo.
--   luajit bench/echo_luv.lua [port]    (prints the bound port on the first line)
local uv = require 'luv'

-- libuv does not ignore SIGPIPE: a write to a socket the peer has closed would
-- kill the process. A (no-op) signal handle keeps the process alive.
local sigpipe = uv.new_signal()
sigpipe:start('sigpipe', function() end)
sigpipe:unref()

local port = tonumber(arg[1]) or 0
local server = uv.new_tcp()
assert(server:bind('127.0.0.1', port))
assert(server:listen(1024, function(err)
  assert(not err, err)
  local client = uv.new_tcp()
  server:accept(client)
  client:read_start(function(rerr, data)
    if rerr or not data then
      client:close()
      return
    end
    client:write(data)
  end)
end))
io.stdout:write(server:getsockname().port, '\n')
io.stdout:flush()
uv.run()
