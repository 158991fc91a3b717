-- SPDX-License-Identifier: MIT
-- asio.http hello world for bench/http/run.sh: luajit hello_asio.lua PORT
local asio = require 'asio'
local http = require 'asio.http'
assert(http.server { host = '127.0.0.1', port = tonumber(arg[1]), backlog = 1024,
  routes = { ['GET /'] = function() return 200, 'hello\n' end } })
asio.run()
