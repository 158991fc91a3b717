-- Round trips of "move" requests to the script hosted in examples/embed/game_loop.cpp:
--   luajit bench/game_latency.lua PORT [N]  -> "rtt_p50_us=... rtt_p99_us=... n=N"
local asio = require 'asio'
local port, n = tonumber(arg[1]), tonumber(arg[2]) or 300
local rtts = {}
asio.spawn_light_thread(function()
  local c = assert(asio.connect('127.0.0.1', port))
  c:settimeout(5)
  assert(c:read_line()) -- welcome
  for i = 1, n do
    local t0 = asio.now()
    assert(c:write(('move %d %d\n'):format(i, i)))
    repeat
      local line = assert(c:read_line())
    until line == 'ok'
    rtts[#rtts + 1] = (asio.now() - t0) * 1e6
    asio.sleep(0.003) -- requests arrive at random points of a frame
  end
  c:write('quit\n')
  c:close()
end)
asio.run()
table.sort(rtts)
print(('rtt_p50_us=%.0f rtt_p99_us=%.0f n=%d'):format(rtts[math.ceil(#rtts * 0.5)], rtts[math.ceil(#rtts * 0.99)], #rtts))
