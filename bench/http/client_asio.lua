-- SPDX-License-Identifier: MIT
-- asio.http's client: N sequential keep-alive GETs of URL from one light thread; prints
-- "requests seconds". luajit client_asio.lua URL N
local asio = require 'asio'
local http = require 'asio.http'
local url, n = arg[1], tonumber(arg[2])
asio.spawn_light_thread(function()
  local t0 = asio.now()
  for _ = 1, n do
    local res = assert(http.get(url))
    assert(res.status == 200)
  end
  print(n, asio.now() - t0)
  http.close_idle()
end)
asio.run()
