-- A WebSocket chat room on asio.http and asio.ws: every message a member sends goes once to
-- every other member. N scripted clients (default 1,000; the first argument) join, each says one
-- line, each checks that it heard every other member exactly once, and the example exits.
local asio = require 'asio'
local http = require 'asio.http'

local n = tonumber(arg and arg[1]) or 1000

local members = {} -- ws -> its outbox

-- One writer light thread per member: a WebSocket takes one send at a time, and a member that
-- reads slowly fills only its own outbox (whose bound then slows the senders down).
local function writer(ws, outbox)
  for msg in outbox:iter() do
    if not ws:send(msg) then break end
  end
end

local srv = assert(http.server { host = '127.0.0.1', port = 0, backlog = n, routes = {
  ['GET /chat'] = function(req)
    local ws = assert(req:upgrade { protocols = { 'chat' } })
    local outbox = asio.channel(1024)
    members[ws] = outbox
    local w = asio.spawn_light_thread(writer, ws, outbox)
    outbox:send('welcome')
    while true do
      local msg = ws:receive()
      if not msg then break end
      for other, box in pairs(members) do
        if other ~= ws then box:send(msg) end
      end
    end
    members[ws] = nil
    outbox:close()
    w:join()
    ws:close()
  end,
} })
local _, port = srv:local_address()
local url = ('ws://127.0.0.1:%d/chat'):format(port)

local joined, everyone_in = 0, asio.event()
local failures, delivered = {}, 0

local function member(i)
  local ws, err = http.websocket(url, { protocols = { 'chat' }, timeout = 60 })
  if not ws then
    failures[#failures + 1] = ('client %d: %s'):format(i, err)
    joined = joined + 1
    if joined == n then everyone_in:set() end
    return
  end
  assert(ws:receive(60) == 'welcome')
  joined = joined + 1
  if joined == n then everyone_in:set() end
  everyone_in:wait(60)
  assert(ws:send('hello from ' .. i))
  local heard = {}
  for _ = 1, n - 1 do
    local msg, e = ws:receive(60)
    if not msg then
      failures[#failures + 1] = ('client %d: %s after %d messages'):format(i, e, delivered)
      break
    end
    local from = tonumber(msg:match('^hello from (%d+)$'))
    if not from or from == i or heard[from] then
      failures[#failures + 1] = ('client %d: unexpected %q'):format(i, msg)
    end
    heard[from or 0] = true
    delivered = delivered + 1
  end
  -- Nothing more may come: every other member said one line.
  local extra = ws:receive(0.05)
  if extra then failures[#failures + 1] = ('client %d: extra %q'):format(i, extra) end
  ws:close()
end

asio.spawn_light_thread(function()
  local t0 = asio.now()
  local threads = {}
  for i = 1, n do threads[i] = asio.spawn_light_thread(member, i) end
  for i = 1, n do threads[i]:join() end
  srv:close(1, true)
  print(('%d members, %d messages delivered (%d expected) in %.1f s'):format(n, delivered, n * (n - 1),
    asio.now() - t0))
  for i = 1, math.min(#failures, 10) do print(failures[i]) end
  assert(#failures == 0 and delivered == n * (n - 1), 'some messages were lost, doubled or misdelivered')
end)

asio.run()
