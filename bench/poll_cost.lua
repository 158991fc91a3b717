-- The cost of one poll of the loop with nothing ready while N idle connections are open, for a
-- host that drives the loop once a frame. Prints its port, waits (bounded) until N clients
-- (bench/out/loadgen idle, another process, which checks each with one echo) have connected,
-- then times POLLS polls:
--   luajit bench/poll_cost.lua asio|luv|cqueues N [POLLS]  -> "impl=... conns=N ns_per_poll=..."
local impl, conns, polls = arg[1], tonumber(arg[2]) or 0, tonumber(arg[3]) or 200000
local clock, time = os.clock, os.time

local function announce(port)
  io.stdout:write(port, '\n')
  io.stdout:flush()
end

local function measure(poll_once)
  for _ = 1, 100 do poll_once() end
  local t0 = clock()
  for _ = 1, polls do poll_once() end
  print(('impl=%s conns=%d ns_per_poll=%.0f'):format(impl, conns, (clock() - t0) * 1e9 / polls))
end

local deadline = time() + 120
if impl == 'asio' then
  local asio = require 'asio'
  local accepted = 0
  local s = asio.server('127.0.0.1', 0, function(c)
    accepted = accepted + 1
    repeat local d = c:read_some() until not d or not c:write(d)
  end)
  announce(select(2, s:local_address()))
  while accepted < conns and time() < deadline do asio.run_once(0.05) end
  assert(accepted >= conns, 'clients did not connect')
  measure(asio.poll)
elseif impl == 'luv' then
  local uv = require 'luv'
  local accepted, keep = 0, {}
  local s = uv.new_tcp()
  s:bind('127.0.0.1', 0)
  s:listen(1024, function()
    local c = uv.new_tcp()
    s:accept(c)
    c:read_start(function(err, d) if d then c:write(d) end end)
    keep[#keep + 1] = c
    accepted = accepted + 1
  end)
  announce(s:getsockname().port)
  local tick = uv.new_timer()
  tick:start(50, 50, function() end) -- so that run('once') returns while clients trickle in
  while accepted < conns and time() < deadline do uv.run('once') end
  tick:stop()
  tick:close()
  assert(accepted >= conns, 'clients did not connect')
  measure(function() uv.run('nowait') end)
elseif impl == 'cqueues' then
  local cqueues = require 'cqueues'
  local socket = require 'cqueues.socket'
  local cq = cqueues.new()
  local accepted = 0
  local srv = socket.listen('127.0.0.1', 0)
  assert(srv:listen()) -- binds now: the port is known before the first accept
  local _, _, port = srv:localname()
  announce(port)
  cq:wrap(function()
    for c in srv:clients() do
      accepted = accepted + 1
      c:setmode('bn', 'bn') -- binary and unbuffered: the echo must give back the bytes it got
      cq:wrap(function()
        repeat local d = c:read(-65536) until not d or not c:write(d)
      end)
    end
  end)
  while accepted < conns and time() < deadline do cq:step(0.05) end
  assert(accepted >= conns, 'clients did not connect')
  measure(function() cq:step(0) end)
else
  error('usage: poll_cost.lua asio|luv|cqueues CONNS [POLLS]')
end
