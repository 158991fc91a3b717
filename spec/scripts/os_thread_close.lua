-- A state closes while a thread it started still runs (and one of its light threads may be
-- joining it): the worker goes on by itself, its result is dropped, and nothing crashes or leaks.
-- Prints "os_thread_close: ok" on success. Run by spec/threads_os_spec.lua.
local asio = require 'asio'

local a_joined, c_finished = false, false
local server = assert(asio.server('127.0.0.1', 0, function(conn)
  assert(conn:read_line() == 'C waiting')
  for _ = 1, 1000 do                                   -- bounded: until A's state is closed
    if a_joined then break end
    asio.sleep(0.01)
  end
  assert(a_joined, 'thread A never ended')
  conn:write('go\n')
  c_finished = conn:read_line() == 'C finished'
  conn:close()
end))
local _, port = server:local_address()

-- Travels to A as bytecode (a function cannot cross): everything it uses is its own.
local function thread_c(p)
  local asio = require 'asio'
  local c = assert(asio.connect('127.0.0.1', p))
  c:write('C waiting\n')
  assert(c:read_line() == 'go')
  c:write('C finished\n')
  c:close()
  return 'a result nobody gets'
end

asio.spawn_light_thread(function()
  local a = asio.thread(function(p, c_fn)
    -- C's handle and a light thread joining it are alive when this state closes.
    KEEP = asio.thread(loadstring(c_fn), p)
    asio.spawn_light_thread(function() KEEP:join() end)
    asio.sleep(0)
    asio.stop()
    return 'A done'
  end, port, string.dump(thread_c))
  local ok, v = a:join()
  assert(ok and v == 'A done', tostring(v))
  a_joined = true
  for _ = 1, 1000 do                                   -- bounded: until C has closed its state
    if c_finished and asio._os_threads() == 0 then break end
    asio.sleep(0.01)
  end
  assert(c_finished, 'thread C did not finish')
  assert(asio._os_threads() == 0, 'a worker is still running')
  server:close()
  print('os_thread_close: ok')
end)
asio.run()
