-- An echo server and a client that measures itself: round trips per second over one connection
-- and over many. Loopback only; exits on its own.
local asio = require 'asio'

local server = assert(asio.server('127.0.0.1', 0, function(conn)
  conn:setoption('nodelay', true)
  while true do
    local data = conn:read_some()
    if not data then break end
    conn:write(data)
  end
  conn:close()
end))
local _, port = server:local_address()

-- Each client sends a 64-byte message and waits for it to come back, `rounds` times.
local function client(rounds, message)
  local conn = assert(asio.connect('127.0.0.1', port))
  conn:setoption('nodelay', true)
  for _ = 1, rounds do
    assert(conn:write(message))
    assert(conn:read(#message) == message)
  end
  conn:close()
end

asio.spawn_light_thread(function()
  local message = string.rep('x', 64)
  for _, clients in ipairs { 1, 50 } do
    local rounds = 2000
    local t0 = asio.now()
    local threads = {}
    for i = 1, clients do threads[i] = asio.spawn_light_thread(client, rounds, message) end
    for _, th in ipairs(threads) do assert(th:join()) end
    local dt = asio.now() - t0
    print(string.format('%3d connection(s): %d round trips in %.2f s = %.0f per second',
      clients, clients * rounds, dt, clients * rounds / dt))
  end
  server:close()
end)

asio.run()
