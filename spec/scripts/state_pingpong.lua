-- Run by spec/host/two_states in two OS threads at once: each state serves and calls itself.
local asio = require 'asio'
local rounds, done = 2000, 0
local s = assert(asio.server('127.0.0.1', 0, function(c)
  while true do
    local line = c:read_line()
    if not line then break end
    c:write(line .. '\n')
  end
  c:close()
end))
local _, port = s:local_address()
asio.spawn_light_thread(function()
  local c = assert(asio.connect('127.0.0.1', port))
  for i = 1, rounds do
    c:write('state ' .. STATE_INDEX .. ' round ' .. i .. '\n')
    assert(c:read_line() == 'state ' .. STATE_INDEX .. ' round ' .. i)
    done = done + 1
  end
  c:close(); s:close()
end)
asio.run()
-- leave something alive for lua_close to release
asio.server('127.0.0.1', 0, function() end)
return done == rounds
