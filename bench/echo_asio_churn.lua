-- Echo server on LuaAsio for the churn figure (bash bench/run.sh churn): echo_asio.lua's
-- read_some / write loop, and two control lines that report asio._stats().
--   luajit bench/echo_asio_churn.lua [port] [direct|seed]
-- direct: the accept handler runs the echo loop itself (echo_asio.lua);
-- seed:   the accept handler spawns a second light thread for the connection and returns at once
--         (the original LuaAsio README's style).
-- A connection whose first read is exactly "churn-probe\n" gets one line back,
--   lua_kb=<collectgarbage('count'), no collection forced> threads=.. sockets=.. servers=.. timers=.. pending=..
-- and is closed; "churn-gc\n" runs two full collections first (a diagnostic: what a round leaves
-- once its garbage is gone); "churn-stop\n" gets the line, then the server stops listening. The counts
-- are taken in the light thread serving that control connection, so they include that thread and
-- its socket (threads=1 sockets=1), the listening server (servers=1) and its accept in flight
-- (pending=1). Once asio.run() has returned, the script prints "stats <the same keys>" on stdout
-- (all zero when nothing leaked) and exits.
-- Needs LUA_PATH / LUA_CPATH pointing at build/ (bench/run.sh sets them).
local asio = require 'asio'

local port = tonumber(arg[1]) or 0
local style = arg[2] or 'direct'
assert(style == 'direct' or style == 'seed', 'style must be direct or seed')

local holder

local function stats_line()
  local s = asio._stats()
  return string.format('lua_kb=%d threads=%d sockets=%d servers=%d timers=%d pending=%d',
    collectgarbage('count'), s.threads, s.sockets, s.servers, s.timers, s.pending)
end

local control = { ['churn-probe\n'] = true, ['churn-gc\n'] = true, ['churn-stop\n'] = true }

local function echo(conn)
  local d = conn:read_some()
  if control[d] then
    if d == 'churn-gc\n' then
      collectgarbage()
      collectgarbage()
    end
    conn:write(stats_line() .. '\n')
    conn:close()
    if d == 'churn-stop\n' then holder:close() end
    return
  end
  while d do
    conn:write(d)
    d = conn:read_some()
  end
  conn:close()
end

local handler = echo
if style == 'seed' then
  handler = function(conn) asio.spawn_light_thread(echo, conn) end
end

holder = assert(asio.server('127.0.0.1', port, handler))
local _, bound = holder:local_address()
io.stdout:write(bound, '\n')
io.stdout:flush()
asio.run()
io.stdout:write('stats ', stats_line(), '\n')
io.stdout:flush()
