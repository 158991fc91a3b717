-- An echo service on a Unix domain socket: the same connection API as TCP, addressed by a path.
-- Loopback only; exits on its own and removes its socket file.
local asio = require 'asio'

local path = os.tmpname() .. '.sock'
local server = assert(asio.unix_server(path, function(conn)
  while true do
    local line = conn:read_line()
    if not line then break end
    conn:write('echo: ' .. line .. '\n')
  end
  conn:close()
end))
print('listening on', server:local_address())

asio.spawn_light_thread(function()
  local conn = assert(asio.unix_connect(path))
  conn:settimeout(2)
  for _, line in ipairs { 'hello', 'unix socket' } do
    conn:write(line .. '\n')
    local answer = assert(conn:read_line())
    print(answer)
    assert(answer == 'echo: ' .. line)
  end
  conn:close()
  server:close() -- also removes the socket file
end)

asio.run()
os.remove(path:sub(1, -6)) -- the placeholder file os.tmpname created
