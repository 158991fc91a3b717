-- A state closes while its light threads wait on shared channels: their waiters are released,
-- the state stops holding the channels, and the channels, now held by this state alone, close.
-- Prints "shared_channel_close: closed cleanly" on success. Run by spec/shared_channel_spec.lua.
local asio = require 'asio'

local empty, full = asio.shared_channel(0), asio.shared_channel(1)
assert(full:send('fills it'))

asio.spawn_light_thread(function()
  local a = asio.thread(function(e, f)
    asio.spawn_light_thread(function() e:recv() end)
    asio.spawn_light_thread(function() f:send('never') end)
    asio.sleep(0.01) -- both are parked now
    asio.stop()      -- the loop returns with them parked; then the state is closed
    return 'A done'
  end, empty, full)
  local ok, v = a:join()
  assert(ok and v == 'A done', tostring(v))
  local r, err = empty:recv(5)
  assert(r == nil and err == 'closed', 'recv: ' .. tostring(r) .. ', ' .. tostring(err))
  assert(full:recv() == 'fills it')
  assert(select(2, full:send('x', 5)) == 'closed')
  for _ = 1, 500 do -- bounded: until A's OS thread has finished
    if asio._os_threads() == 0 then break end
    asio.sleep(0.01)
  end
  assert(asio._os_threads() == 0, 'a worker is still running')
  print('shared_channel_close: closed cleanly')
end)
asio.run()
