-- Echo server on cqueues: one coroutine per connection (cq:wrap).
--   luajit bench/echo_cqueues.lua [port]
local cqueues = require 'cqueues'
local socket = require 'cqueues.socket'

local port = tonumber(arg[1]) or 0
local cq = cqueues.new()
local srv = socket.listen { host = '127.0.0.1', port = port, reuseaddr = true, backlog = 1024 }
assert(srv:listen())
local _, _, bound = srv:localname()
io.stdout:write(bound, '\n')
io.stdout:flush()

local function handler(con)
  -- Return errors (e.g. ECONNRESET) from read/write instead of throwing them.
  con:onerror(function(_, _, code) return code end)
  con:setmode('bn', 'bn')
  while true do
    local d = con:xread(-65536, 'bn')   -- up to 64 KiB, whatever is available
    if not d then break end
    if not con:xwrite(d, 'bn') then break end
  end
  con:close()
end

cq:wrap(function()
  while true do
    local con = srv:accept()
    if con then cq:wrap(handler, con) end
  end
end)

while true do
  local ok, err = cq:loop()
  if not ok then io.stderr:write('cqueues: ', tostring(err), '\n') end
end
