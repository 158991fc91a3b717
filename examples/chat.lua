-- A line-based chat server: every line a client sends goes to every other client.
-- Three scripted clients talk on loopback, check what they hear, and the example exits.
local asio = require 'asio'

local clients = {}   -- conn -> name

local function broadcast(from, line)
  for conn, name in pairs(clients) do
    -- each write may wait; a slow client must not stop the others, so each gets a thread
    if conn ~= from then asio.spawn_light_thread(conn.write, conn, line .. '\n') end
  end
end

local server = assert(asio.server('127.0.0.1', 0, function(conn)
  local name = conn:read_line()
  if not name then return conn:close() end
  clients[conn] = name
  broadcast(conn, name .. ' joined')
  while true do
    local line = conn:read_line(1024)
    if not line then break end
    broadcast(conn, name .. ': ' .. line)
  end
  clients[conn] = nil
  broadcast(conn, name .. ' left')
  conn:close()
end))
local _, port = server:local_address()

local heard = {}
local function person(name, says)
  local conn = assert(asio.connect('127.0.0.1', port))
  conn:write(name .. '\n')
  heard[name] = {}
  local listener = asio.spawn_light_thread(function()
    while true do
      local line = conn:read_line()
      if not line then break end
      table.insert(heard[name], line)
    end
  end)
  asio.sleep(0.05)            -- let everybody join
  for _, line in ipairs(says) do conn:write(line .. '\n'); asio.sleep(0.01) end
  asio.sleep(0.1)
  conn:close()
  listener:join()
end

asio.spawn_light_thread(function()
  local a = asio.spawn_light_thread(person, 'ann', { 'hello all' })
  local b = asio.spawn_light_thread(person, 'bob', { 'hi ann' })
  local c = asio.spawn_light_thread(person, 'cyd', {})
  a:join(); b:join(); c:join()
  server:close()
  for _, name in ipairs { 'ann', 'bob', 'cyd' } do
    print(name .. ' heard: ' .. table.concat(heard[name], ' | '))
  end
  local cyd = table.concat(heard.cyd, '\n')
  assert(cyd:find('ann: hello all', 1, true) and cyd:find('bob: hi ann', 1, true), 'cyd missed a line')
end)

asio.run()
