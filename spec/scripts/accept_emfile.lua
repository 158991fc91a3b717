-- Run in a child process: with the descriptor table full, accepting fails with EMFILE; the accept
-- loop must back off and go on, and serve the waiting client once a descriptor is free again.
local ffi = require 'ffi'
ffi.cdef [[
struct lasio_rlimit { unsigned long cur, max; };
int getrlimit(int resource, struct lasio_rlimit *rl);
int setrlimit(int resource, const struct lasio_rlimit *rl);
int dup(int fd);
int close(int fd);
]]
local RLIMIT_NOFILE = 7
local asio = require 'asio'

local s = assert(asio.server('127.0.0.1', 0, function(c) c:write('ok'); c:close() end))
local _, port = s:local_address()
local result

asio.spawn_light_thread(function()
  local rl = ffi.new('struct lasio_rlimit')
  assert(ffi.C.getrlimit(RLIMIT_NOFILE, rl) == 0)
  local saved = rl.cur
  -- The lowest free descriptor is n: allow n only, which the client socket takes.
  local n = ffi.C.dup(0)
  ffi.C.close(n)
  rl.cur = n + 1
  assert(ffi.C.setrlimit(RLIMIT_NOFILE, rl) == 0)
  local c = assert(asio.connect('127.0.0.1', port))
  c:settimeout(0.3)
  local v, err = c:read(2)
  assert(v == nil and err == 'timeout', 'the server accepted without a free descriptor?')
  rl.cur = saved
  assert(ffi.C.setrlimit(RLIMIT_NOFILE, rl) == 0)
  c:settimeout(5)
  result = c:read(2) -- served after the back-off
  c:close(); s:close()
end)
asio.run()
assert(result == 'ok', 'accept loop did not recover: ' .. tostring(result))
io.write('accept loop recovered after EMFILE\n')
