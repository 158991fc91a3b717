-- The scripted side of examples/embed/game_loop.cpp: a small TCP game-state server. Clients send
-- "move X Y" lines; every sixth frame the host calls frame(n) and the state goes to every client
-- ("state N id:x,y ..."). A client's "quit" line ends the host (it reads the global quit).
local players, next_id = {}, 1

-- One writer per client, so a broadcast never races the client's own answers.
local function writer(me)
  while not me.closed do
    if me.pending then
      local out
      out, me.pending = me.pending, nil
      if not me.conn:write(out) then break end
    else
      me.waiting = coroutine.running()
      asio.park()
      me.waiting = nil
    end
  end
  me.conn:close()
end

local function wake(me)
  if me.waiting then asio.wake(me.waiting) end
end

local srv = asio.server('127.0.0.1', 0, function(conn)
  local id = next_id
  next_id = next_id + 1
  local me = { conn = conn, x = 0, y = 0, pending = ('welcome %d\n'):format(id) }
  players[id] = me
  asio.spawn_light_thread(writer, me)
  while true do
    local line = conn:read_line()
    if not line or line == 'quit' then
      quit = line == 'quit'
      break
    end
    local x, y = line:match('^move (%-?%d+) (%-?%d+)$')
    if x then
      me.x, me.y = tonumber(x), tonumber(y)
    end
    me.pending = (me.pending or '') .. (x and 'ok\n' or 'bad move\n')
    wake(me)
  end
  players[id] = nil
  me.closed = true
  wake(me)
end)

local _, port = srv:local_address()
io.stdout:write(port, '\n')
io.stdout:flush()

function frame(n)
  if n % 6 ~= 0 then return end
  local parts = {}
  for id, p in pairs(players) do parts[#parts + 1] = ('%d:%d,%d'):format(id, p.x, p.y) end
  local state = ('state %d %s\n'):format(n, table.concat(parts, ' '))
  for _, p in pairs(players) do
    p.pending = (p.pending or '') .. state
    wake(p)
  end
end
