-- SPDX-License-Identifier: MIT
-- lua-http (Debian's lua-http, on cqueues) hello world, for bench/http/run.sh under LuaJIT.
local http_server = require 'http.server'
local headers = require 'http.headers'
local server = assert(http_server.listen {
  host = '127.0.0.1', port = tonumber(arg[1]),
  onstream = function(_, stream)
    assert(stream:get_headers())
    local h = headers.new()
    h:append(':status', '200')
    h:append('content-length', '6')
    assert(stream:write_headers(h, false))
    assert(stream:write_chunk('hello\n', true))
  end,
})
assert(server:listen())
assert(server:loop())
