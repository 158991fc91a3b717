-- Echo server on luv with one coroutine per connection: the handler is written
-- in blocking style (read / write suspend the coroutine), like a LuaAsio
-- handler. Reads are delivered by read_start into a small per-connection queue
-- (reading stops while the queue is full: backpressure); a write suspends until
-- libuv reports it done.
--   luajit bench/echo_luv_coro.lua [port]
local uv = require 'luv'

-- libuv does not ignore SIGPIPE: a write to a socket the peer has closed would
-- kill the process. A (no-op) signal handle keeps the process alive.
local sigpipe = uv.new_signal()
sigpipe:start('sigpipe', function() end)
sigpipe:unref()

local MAXQ = 16

-- Connection object wrapping a uv tcp handle for use from one coroutine.
local Conn = {}
Conn.__index = Conn

local function resume(co, ...)
  local ok, err = coroutine.resume(co, ...)
  if not ok then io.stderr:write(tostring(err), '\n') end
end

local function new_conn(tcp, co)
  local self = setmetatable({ tcp = tcp, co = co, q = {}, qh = 1, qt = 0,
                              eof = false, waiting = false, reading = false }, Conn)
  self.on_read = function(err, data)
    if err or not data then
      self.eof = true
    else
      local t = self.qt + 1
      self.q[t] = data
      self.qt = t
      if t - self.qh + 1 >= MAXQ then
        tcp:read_stop()
        self.reading = false
      end
    end
    if self.waiting then
      self.waiting = false
      resume(self.co)
    end
  end
  self.on_write = function(err)
    resume(self.co, err)
  end
  return self
end

-- Returns the next chunk of bytes, or nil at EOF / error.
function Conn:read_some()
  while self.qh > self.qt do
    if self.eof then return nil end
    if not self.reading then
      self.reading = true
      self.tcp:read_start(self.on_read)
    end
    self.waiting = true
    coroutine.yield()
  end
  local h = self.qh
  local d = self.q[h]
  self.q[h] = nil
  self.qh = h + 1
  if not self.reading and not self.eof then
    self.reading = true
    self.tcp:read_start(self.on_read)
  end
  return d
end

-- Suspends until the data is handed to the kernel; true or nil, err.
function Conn:write(data)
  self.tcp:write(data, self.on_write)
  local err = coroutine.yield()
  if err then return nil, err end
  return true
end

function Conn:close()
  if not self.tcp:is_closing() then self.tcp:close() end
end

local function handler(conn)
  while true do
    local d = conn:read_some()
    if not d then break end
    if not conn:write(d) then break end
  end
  conn:close()
end

local port = tonumber(arg[1]) or 0
local server = uv.new_tcp()
assert(server:bind('127.0.0.1', port))
assert(server:listen(1024, function(err)
  assert(not err, err)
  local tcp = uv.new_tcp()
  server:accept(tcp)
  local co = coroutine.create(handler)
  local conn = new_conn(tcp, co)
  resume(co, conn)
end))
io.stdout:write(server:getsockname().port, '\n')
io.stdout:flush()
uv.run()
