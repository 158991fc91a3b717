-- A state closes with its offload pool busy (one job running, more queued): the workers finish
-- the job they run, take no other, and end; nothing crashes or leaks. The state is a thread's,
-- so that this one can watch its workers end. Prints "offload_close: ok" on success. Run by
-- spec/offload_spec.lua.
local asio = require 'asio'

asio.spawn_light_thread(function()
  local started = asio.shared_channel(8)
  local a = asio.thread(function(s)
    asio.offload_pool{ size = 2, queue = 8 }
    for i = 1, 6 do
      asio.spawn_light_thread(function()
        asio.offload(function(ch, k)
          ch:send(k)
          local t = os.clock()
          while os.clock() - t < 0.05 do end -- busy: the job outlives its caller's state
          return k
        end, s, i)
      end)
    end
    s:recv() -- at least one job runs
    asio.stop() -- this state closes now, its jobs in flight
    return 'A done'
  end, started)
  local ok, v = a:join(10)
  assert(ok and v == 'A done', tostring(v))
  for _ = 1, 1000 do -- bounded: until A's workers have ended
    if asio._os_threads() == 0 then break end
    asio.sleep(0.01)
  end
  assert(asio._os_threads() == 0, 'an offload worker is still running')
  print('offload_close: ok')
end)
asio.run()
