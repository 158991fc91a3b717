-- The last reference frees a shared channel and what it buffers, a channel buffered in another
-- included. A process of its own: the count of live channels is process-wide, and states that
-- other specs leave running (an offload pool's workers) free their garbage whenever they collect.
-- Prints "shared_channel_free: freed" on success. Run by spec/shared_channel_spec.lua.
local asio = require 'asio'

asio.spawn_light_thread(function()
  collectgarbage()
  collectgarbage()
  local before = asio._shared_channels()
  do
    local a, b = asio.shared_channel(4), asio.shared_channel(4)
    a:send({ big = ('x'):rep(100000) })
    b:send(a) -- a channel buffered in another
    local th = asio.thread(function(x, y) return #x + #y end, a, b)
    local ok, n = th:join(10)
    assert(ok and n == 2, 'join: ' .. tostring(ok) .. ', ' .. tostring(n))
    assert(asio._shared_channels() == before + 2, 'live: ' .. asio._shared_channels())
  end
  -- This state's handles are collected; its record of them keeps no channel alive.
  for _ = 1, 100 do
    collectgarbage()
    if asio._shared_channels() == before then break end
    asio.sleep(0.01)
  end
  assert(asio._shared_channels() == before, 'still live: ' .. asio._shared_channels() - before)
  print('shared_channel_free: freed')
end)
asio.run()
