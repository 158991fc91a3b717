-- SPDX-License-Identifier: MIT
--- conn:read_into(buf [, max]) and conn:write_from(buf): streaming through LuaJIT string buffers
-- (`require 'string.buffer'`) instead of a Lua string per read. The bytes go from the socket
-- straight into the buffer's memory and from there straight back out: an echo or a proxy copies
-- nothing in Lua, as raw Asio with a buffer of its own does.
--
-- The core loads this module itself and hands it three functions that take raw pointers (kept
-- in these upvalues only, out of every table scripts see): read_now (the bytes there now, never waiting), wait_readable (waits
-- until bytes are buffered, the stream ended or the read timed out) and write_now (conn:write
-- of a pointer and a length). No pointer is held across a wait: read_into reserves space only
-- once bytes are there, and write_now copies what the socket did not take before it waits.
-- @module asio.buffers
local ok, sbuf = pcall(require, 'string.buffer')
if not ok then return nil end

local type, error, min, tostring = type, error, math.min, tostring
-- The buffer methods themselves, taken once: they check that their self is a real buffer, so
-- nothing a script puts in front of them can hand them another object.
local probe = sbuf.new()
local reserve, commit, ref, skip = probe.reserve, probe.commit, probe.ref, probe.skip
local buffer_mt = getmetatable(probe) -- protected: the string "buffer"

local function check_buffer(buf, fname)
  if type(buf) ~= 'userdata' or getmetatable(buf) ~= buffer_mt then
    error(("bad argument #1 to '%s' (string.buffer expected, got %s)"):format(fname, type(buf)), 3)
  end
end

return function(read_now, wait_readable, write_now, connection_mt)
  -- The connection is checked here, so errors name the method and not the functions it calls.
  local function check_connection(conn, fname)
    if getmetatable(conn) ~= connection_mt then
      error(("calling '%s' on bad self (asio.connection expected, got %s)"):format(fname, type(conn)), 3)
    end
  end

  --- n, err = conn:read_into(buf [, max]): appends what is available (at least 1 byte, at most
  -- max, default 64 KiB) to buf, waiting only if nothing is; n is the number of bytes appended.
  -- End of stream, a failure or a timeout: nil, err (buf is left as it was).
  local function read_into(conn, buf, max)
    check_connection(conn, 'read_into')
    check_buffer(buf, 'read_into')
    if max == nil then
      max = 65536
    elseif type(max) ~= 'number' or not (max >= 1) then
      error(("bad argument #2 to 'read_into' (max must be a number of at least 1, got %s)"):format(tostring(max)), 2)
    end
    max = min(max, 1048576)
    while true do
      local ptr, cap = reserve(buf, max)
      local n, err = read_now(conn, ptr, min(cap, max))
      if n == nil then return nil, err end
      if n > 0 then
        commit(buf, n)
        return n
      end
      local ready, werr = wait_readable(conn)
      if not ready then return nil, werr end
    end
  end

  --- ok, err, sent = conn:write_from(buf): sends all of buf's bytes and takes them out of buf
  -- (it is empty when the call returns), as conn:write does with a string: true, or nil, err
  -- and, on a timeout, how many bytes went out. While it waits, no other light thread should
  -- change buf: the bytes are taken out of it when the write ends.
  local function write_from(conn, buf)
    check_connection(conn, 'write_from')
    check_buffer(buf, 'write_from')
    local ptr, len = ref(buf)
    -- write_now reads ptr only before it returns or waits (what the socket does not take at
    -- once is copied); a raise (no light thread, another writer) leaves buf as it was.
    local done, err, sent = write_now(conn, ptr, len)
    skip(buf, len)
    return done, err, sent
  end

  return read_into, write_from
end
