-- The asio.ws server of bench/ws: an http.server route that upgrades and echoes every message.
--   luajit bench/ws/echo_asio.lua PORT
local asio = require 'asio'
local http = require 'asio.http'

assert(http.server { host = '127.0.0.1', port = tonumber(arg[1]), backlog = 1024, routes = {
  ['GET /echo'] = function(req)
    local ws = assert(req:upgrade())
    while true do
      local msg, kind = ws:receive()
      if not msg or not ws:send(msg, kind) then break end
    end
  end,
} })
asio.run()
