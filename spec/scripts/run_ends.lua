-- asio.run() returns when the runtime's own work ends (spec/loop_spec.lua runs this under a time
-- limit: a run() that never returns fails the spec instead of hanging it). Exits 0 when all hold.
local asio = require 'asio'

local function clean()
  local s = asio._stats()
  assert(s.threads == 0 and s.pending == 0 and s.timers == 0, 'work left after run()')
end

-- A deadline that no longer matters (the park was woken) does not hold run() until it passes.
local sleeper = asio.spawn_light_thread(function() return asio.park(3) end)
asio.spawn_light_thread(function() asio.wake(sleeper, 'woken') end)
local started = asio.now()
asio.run()
assert(asio.now() - started < 1.5, 'run waited for a cancelled deadline')
local ok, value = sleeper:join()
assert(ok and value == 'woken')
clean()

-- An error goes to the error handler, and run() still returns when nothing is left.
local seen
asio.on_error(function(msg) seen = msg end)
asio.spawn_light_thread(function() asio.sleep(0.01); error('boom') end)
asio.run()
asio.on_error(nil)
assert(seen and seen:find('boom'), 'the error handler was not called')
clean()

-- The last operation in flight ends the run (a connection refused: one counted operation).
local server = assert(asio.server('127.0.0.1', 0, function(c) c:close() end))
local _, port = server:local_address()
server:close()
local err
asio.spawn_light_thread(function() _, err = asio.connect('127.0.0.1', port) end)
asio.run()
assert(err == 'connection refused', tostring(err))
clean()

-- stop() ends run() with work left; the next run() finishes it.
local th = asio.spawn_light_thread(function() asio.stop(); asio.sleep(0.02); return 'done' end)
asio.run()
assert(th:status() == 'waiting', 'stop() did not end run()')
asio.run()
ok, value = th:join()
assert(ok and value == 'done')
clean()

-- stop() outside the loop stops nothing.
asio.stop()
th = asio.spawn_light_thread(function() asio.sleep(0.01); return 'done' end)
asio.run()
ok, value = th:join()
assert(ok and value == 'done', 'a stop() outside the loop stopped the next run')
clean()
print('run_ends: ok')
