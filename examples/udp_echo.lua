-- A UDP echo service and a client that checks its answers, with a timeout for lost datagrams.
-- Loopback only; exits on its own.
local asio = require 'asio'

local server = assert(asio.udp('127.0.0.1', 0))
local _, port = server:local_address()

asio.spawn_light_thread(function()
  while true do
    local data, ip, p = server:recvfrom()
    if not data then break end -- "closed": the example is over
    server:sendto(data:upper(), ip, p)
  end
end)

asio.spawn_light_thread(function()
  local client = assert(asio.udp('127.0.0.1'))
  client:settimeout(1) -- UDP may lose datagrams: never wait forever
  assert(client:connect('127.0.0.1', port))
  for _, word in ipairs { 'ping', 'pong', 'datagram' } do
    assert(client:send(word))
    local answer, err = client:recv()
    print(word, '->', answer or err)
    assert(answer == word:upper())
  end
  client:close()
  server:close()
end)

asio.run()
