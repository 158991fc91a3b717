-- lua_close with a child still running (its pipes open, a light thread waiting for it), a
-- signal watcher with a waiter, and a watch on a pipe: everything is released, the child is
-- killed and reaped, and the sanitizers have nothing to say. Prints the child's pid.
local asio = require 'asio'
local p = assert(asio.spawn_process { 'sleep', '30', stdin = 'pipe', stdout = 'pipe', stderr = 'pipe' })
print('pid ' .. p:pid())
io.stdout:flush()
local sig = asio.signal('USR1')
local w = asio.watch(p.stdout and 0 or 0, 'r')
asio.spawn_light_thread(function() p:wait() end)
asio.spawn_light_thread(function() p.stdout:read_line() end)
asio.spawn_light_thread(function() sig:wait() end)
asio.spawn_light_thread(function() w:wait() end)
asio.run_once(0.05)
-- lua_close follows: every handle above is still live
-- and a start still in flight on the spawner thread (or its result queued for the loop)
asio.spawn_light_thread(function() asio.spawn_process { 'sleep', '30' } end)
asio.run_once(0)
