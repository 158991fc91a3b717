-- Ends with servers, connections, blocked readers, sleepers, parked threads and timers alive;
-- luajit then calls lua_close, which must free them all without running Lua or crashing.
local asio = require 'asio'
local s = assert(asio.server('127.0.0.1', 0, function(c) c:read(100) end))
local _, port = s:local_address()
local conns = {}
for i = 1, 20 do
  asio.spawn_light_thread(function()
    local c = assert(asio.connect('127.0.0.1', port))
    conns[#conns + 1] = c
    c:read(1)                       -- blocked forever
  end)
end
for i = 1, 10 do asio.spawn_light_thread(function() asio.sleep(3600) end) end
for i = 1, 10 do asio.spawn_light_thread(function() asio.park() end) end
asio.timer(3600, print)
asio.every(1800, print)
asio.spawn_light_thread(function()
  asio.spawn_light_thread(function() asio.connect('127.0.0.1', port) end) -- connect in flight
  asio.sleep(0.2)
  asio.stop()
end)
asio.run()
local st = asio._stats()
assert(st.threads > 40 and st.sockets >= 40 and st.servers == 1, 'expected live objects')
io.write('live at exit: ', st.threads, ' threads, ', st.sockets, ' sockets\n')
