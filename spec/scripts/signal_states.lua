-- Run by spec/host/two_states in two OS threads at once: both states watch SIGUSR2, only state 2
-- sends it (to the process), and state 1 must get it too: a process-wide signal reaches the
-- watchers of every state. Bounded: state 2 gives up after 250 sends 20 ms apart.
local asio = require 'asio'
local ffi = require 'ffi'
pcall(ffi.cdef, 'int kill(int pid, int sig); int getpid(void);')
local SIGUSR2 = 12
local flag = '/tmp/lasio-signal-states-' .. ffi.C.getpid()
local got
asio.spawn_light_thread(function()
  local sig = asio.signal('USR2')
  if STATE_INDEX == 1 then
    got = sig:wait(10)
    local f = io.open(flag, 'w'); f:write('1'); f:close()
  else
    -- Every 20 ms, however soon this state got its own: state 1 may start watching later.
    for _ = 1, 250 do
      ffi.C.kill(ffi.C.getpid(), SIGUSR2)
      if got then asio.sleep(0.02) else got = sig:wait(0.02) end
      local f = io.open(flag)
      if f then f:close(); if got then break end end
    end
  end
  sig:close()
end)
asio.run()
if STATE_INDEX == 2 then os.remove(flag) end
return got == 'USR2'
