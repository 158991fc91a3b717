-- SPDX-License-Identifier: MIT
-- The hot paths whose cost bench/hot_paths.sh counts in instructions:
--   luajit bench/hot_paths.lua spawn N    N light threads spawned, each returning at once
--   luajit bench/hot_paths.lua switch N   N park/wake switches between two light threads
--   luajit bench/hot_paths.lua echo N     N 64-byte round trips over one loopback connection
--                                         (read_some/write on both ends)
--   luajit bench/hot_paths.lua stream N   N MiB written in 64 KiB blocks, echoed back through a
--                                         string buffer (read_into/write_from) and read back
--   luajit bench/hot_paths.lua stream_str N   the same, echoed by read_some/write (Lua strings)
--   luajit bench/hot_paths.lua accept N   N connections, one after the other: connect, a 1-byte
--                                         echo, close (the accept handler reads and closes)
local asio = require 'asio'
local mode, n = arg[1], tonumber(arg[2]) or 1000

if mode == 'spawn' then
  local function nothing() end
  asio.spawn_light_thread(function()
    for _ = 1, n do asio.spawn_light_thread(nothing) end
  end)
elseif mode == 'switch' then
  local a
  local b = asio.spawn_light_thread(function()
    for _ = 1, n do
      asio.park()
      asio.wake(a)
    end
  end)
  a = asio.spawn_light_thread(function()
    for _ = 1, n do
      asio.wake(b)
      asio.park()
    end
  end)
elseif mode == 'echo' then
  local server = assert(asio.server('127.0.0.1', 0, function(c)
    while true do
      local data = c:read_some()
      if not data or not c:write(data) then break end
    end
    c:close()
  end))
  local _, port = server:local_address()
  asio.spawn_light_thread(function()
    local c = assert(asio.connect('127.0.0.1', port))
    local msg = string.rep('m', 64)
    for _ = 1, n do
      assert(c:write(msg))
      local got = 0
      while got < #msg do got = got + #assert(c:read_some()) end
    end
    c:close()
    server:close()
  end)
elseif mode == 'accept' then
  local server = assert(asio.server('127.0.0.1', 0, function(c)
    local d = c:read_some()
    if d then c:write(d) end
    c:close()
  end))
  local _, port = server:local_address()
  asio.spawn_light_thread(function()
    for _ = 1, n do
      local c = assert(asio.connect('127.0.0.1', port))
      assert(c:write('a'))
      assert(c:read(1) == 'a')
      c:close()
    end
    server:close()
  end)
elseif mode == 'stream' or mode == 'stream_str' then
  local buffer = require 'string.buffer'
  local server = assert(asio.server('127.0.0.1', 0, mode == 'stream' and function(c)
    local buf = buffer.new()
    while c:read_into(buf) do
      if not c:write_from(buf) then break end
    end
    c:close()
  end or function(c)
    while true do
      local d = c:read_some()
      if not d or not c:write(d) then break end
    end
    c:close()
  end))
  local _, port = server:local_address()
  asio.spawn_light_thread(function()
    local c = assert(asio.connect('127.0.0.1', port))
    local blocks, x = { string.rep('s', 65536) }, 1
    if mode == 'stream_str' then
      -- 64 blocks of bytes that do not repeat, in turn: reads of equal bytes would be equal
      -- strings, and LuaJIT compares each new string in full with its live equals to intern it,
      -- a cost a stream of real data does not have.
      for b = 1, 64 do
        local t = {}
        for i = 1, 65536 do
          x = (x * 1103515245 + 12345) % 2147483648
          t[i] = string.char(math.floor(x / 65536) % 256)
        end
        blocks[b] = table.concat(t)
      end
    end
    asio.spawn_light_thread(function()
      for i = 1, n * 16 do assert(c:write(blocks[i % #blocks + 1])) end
    end)
    local got, buf = 0, buffer.new()
    while got < n * 1048576 do
      got = got + assert(c:read_into(buf))
      buf:reset()
    end
    c:close()
    server:close()
  end)
else
  error('usage: luajit bench/hot_paths.lua spawn|switch|echo|stream|stream_str|accept N')
end
asio.run()
