-- Reads standard input through asio.stdin() line by line and writes each line upper-cased, then
-- how the input ended and whether fd 0 was left non-blocking (it must not be: the open file may
-- be the terminal the shell shares).
local asio = require 'asio'
local ffi = require 'ffi'
ffi.cdef 'int fcntl(int fd, int cmd, ...);'
local F_GETFL, O_NONBLOCK = 3, 2048
asio.spawn_light_thread(function()
  local c = assert(asio.stdin())
  c:settimeout(10)
  while true do
    local line, err, partial = c:read_line()
    if not line then
      io.write('end ', err, ' ', partial or '', '\n')
      break
    end
    io.write(line:upper(), '\n')
  end
  c:close()
end)
asio.run()
io.write('nonblock=', tostring(bit.band(ffi.C.fcntl(0, F_GETFL), O_NONBLOCK) ~= 0), '\n')
