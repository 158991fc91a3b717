-- SPDX-License-Identifier: MIT
--- res:send_file(path [, opts]): a file as the response body with its Content-Length, a single
-- byte range as 206 (416 when it cannot be satisfied, the whole file as 200 for several ranges),
-- read and written in bounded pieces so a large file never holds the loop.
local asio = require 'asio'
local util = require 'asio.http.util'
local response = require 'asio.http.response'

local piece_size = 64 * 1024
-- Pieces written before the light thread lets the others run (the writes may all complete at
-- once when the client reads fast).
local pieces_per_turn = 16

-- The byte range [first, last] that a Range value asks of size bytes: first, last; false when
-- the range cannot be satisfied; nil when the whole file is the answer (no range, several,
-- or a value this server does not understand, which RFC 9110 lets it ignore).
local function byte_range(value, size)
  if not value then return nil end
  local a, b = value:match('^%s*bytes%s*=%s*(%d*)%s*%-%s*(%d*)%s*$')
  if not a or (a == '' and b == '') then return nil end
  local first, last
  if a == '' then
    local n = tonumber(b)
    if n == 0 then return false end
    first, last = math.max(0, size - n), size - 1
  else
    first = tonumber(a)
    if b ~= '' and tonumber(b) < first then return nil end
    last = b == '' and size - 1 or math.min(tonumber(b), size - 1)
  end
  if first >= size or size == 0 then return false end
  return first, last
end

--- Sends the file at path. opts: content_type (default: from the extension). Returns true; or
-- nil, err after answering 404 (no such file, or not readable) or when the write failed.
function response.send_file(res, path, opts)
  if type(path) ~= 'string' then error('send_file: path must be a string', 2) end
  if res.started then error('send_file: the head is already sent', 2) end
  local f = io.open(path, 'rb')
  local size = f and f:seek('end')
  -- A directory opens on Linux but has no size.
  if not size then
    if f then f:close() end
    res:send(404, 'not found\n')
    return nil, 'not found'
  end
  res:set_header('Content-Type', opts and opts.content_type or res.headers['content-type'] or util.mime_type(path))
  res:set_header('Accept-Ranges', 'bytes')
  local req = res._req
  local first, last = byte_range(req.method ~= 'HEAD' and req.headers.range or nil, size)
  if first == false then
    f:close()
    res:set_header('Content-Range', 'bytes */' .. size)
    return res:send(416, '')
  end
  if first then
    res.status = 206
    res:set_header('Content-Range', ('bytes %d-%d/%d'):format(first, last, size))
  else
    first, last = 0, size - 1
  end
  local left = last - first + 1
  res:set_header('Content-Length', left)
  if req.method == 'HEAD' or left == 0 then
    f:close()
    return res:write('')
  end
  f:seek('set', first)
  local ok, err = true, nil
  local written = 0
  while left > 0 do
    local data = f:read(math.min(piece_size, left))
    if not data then
      err = 'read error'
      break
    end
    left = left - #data
    ok, err = res:write(data)
    if not ok then break end
    written = written + 1
    if written % pieces_per_turn == 0 then asio.yield() end
  end
  f:close()
  if left > 0 then
    res._st.must_close = true
    return nil, err or 'read error'
  end
  return res:finish()
end

return response
