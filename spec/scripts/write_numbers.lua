-- Numbers in an array given to write are sent as tostring gives them, even when the collector
-- runs while they are converted (a small heap collects during the 50,000 conversions).
local asio = require 'asio'
local got
local s = assert(asio.server('127.0.0.1', 0, function(c)
  c:settimeout(5)
  local line = c:read_line(1e8)
  got = { line, c:read(#line) }
  c:close()
end))
local _, port = s:local_address()
asio.spawn_light_thread(function()
  local c = assert(asio.connect('127.0.0.1', port))
  c:settimeout(5)
  local items, text = {}, {}
  for i = 1, 50000 do items[i] = i + 0.5; text[i] = tostring(items[i]) end
  assert(c:write(table.concat(text) .. '\n'))
  text = nil
  collectgarbage()
  assert(c:write(items))
  for _ = 1, 500 do if got then break end asio.sleep(0.01) end
  c:close()
  s:close()
end)
asio.run()
assert(got, 'the server never received the data')
assert(#got[1] == #got[2], 'lengths differ')
assert(got[1] == got[2], 'the bytes differ from tostring of the items')
print('ok')
