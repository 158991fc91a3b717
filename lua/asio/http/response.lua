-- SPDX-License-Identifier: MIT
--- The response a server handler writes: status and headers, then a body given whole (sent
-- with Content-Length), in pieces (chunked, or up to a Content-Length the handler set), or from
-- a file (send_file, with single byte ranges).
local asio = require 'asio'
local util = require 'asio.http.util'

local format, concat, tostring, type, pairs = string.format, table.concat, tostring, type, pairs
local check_field, reasons, date, headers_mt = util.check_field, util.reasons, util.date, util.headers_mt

local R = {}
R.__index = R

--- A response to req over the connection state st.
function R.new(st, req)
  return setmetatable({ status = 200, headers = setmetatable({}, headers_mt), _st = st, _req = req,
    started = false, finished = false }, R)
end

--- Sets a header (value: string, number, or an array of values sent as repeated fields; nil
-- removes it). Raises for a name or value that could split the response.
function R:set_header(name, value)
  if self.started then error('set_header: the head is already sent', 2) end
  if value ~= nil and type(value) ~= 'table' then value = tostring(value) end
  self.headers[name] = value
end

-- Header names as they are usually spelled (content-type → Content-Type), made once per name.
local canonical = setmetatable({}, { __index = function(t, k)
  local v = k:gsub('^%l', string.upper):gsub('%-%l', string.upper)
  t[k] = v
  return v
end })

local function no_body_status(s) return s < 200 or s == 204 or s == 304 end

-- The head: status line, the handler's headers and ours, as one string.
local function head(self, length, chunked)
  local st = self._st
  local s = self.status
  local t = { 'HTTP/1.1 ', s, ' ', reasons[s] or 'Unknown', '\r\nDate: ', date(), '\r\n' }
  local n = #t
  for k, v in pairs(self.headers) do
    if k ~= 'content-length' and k ~= 'transfer-encoding' and k ~= 'connection' and k ~= 'date' then
      if type(v) == 'table' then
        for i = 1, #v do
          local vi = tostring(v[i])
          check_field(k, vi, 'response')
          t[n + 1], t[n + 2], t[n + 3], t[n + 4] = canonical[k], ': ', vi, '\r\n'
          n = n + 4
        end
      else
        check_field(k, v, 'response')
        t[n + 1], t[n + 2], t[n + 3], t[n + 4] = canonical[k], ': ', v, '\r\n'
        n = n + 4
      end
    end
  end
  if length then
    t[n + 1], t[n + 2], t[n + 3] = 'Content-Length: ', length, '\r\n'
    n = n + 3
  elseif chunked then
    t[n + 1] = 'Transfer-Encoding: chunked\r\n'
    n = n + 1
  end
  if st.must_close or st.srv.closing or not st.keep_alive then
    st.must_close = true
    t[n + 1] = 'Connection: close\r\n'
    n = n + 1
  elseif st.version == 10 then
    t[n + 1] = 'Connection: keep-alive\r\n'
    n = n + 1
  end
  t[n + 1] = '\r\n'
  return concat(t, '', 1, n + 1)
end

local function write(self, data)
  local ok, err = self._st.conn:write(data)
  if not ok then
    self._st.must_close = true
    self._st.dead = true
    return nil, err
  end
  return true
end

--- Sends the whole response: body (a string, default "") with its Content-Length; for HEAD the
-- head only. With a status first, sets it: res:send(404, "no such thing").
function R:send(status, body)
  if type(status) == 'number' then self.status = status else body = status end
  if self.started then
    if body and body ~= '' then
      local ok, err = self:write(body)
      if not ok then return nil, err end
    end
    return self:finish()
  end
  body = body == nil and '' or body
  if type(body) ~= 'string' then error('send: body must be a string', 2) end
  self.started, self.finished = true, true
  local s = self.status
  if no_body_status(s) then return write(self, head(self, nil, false)) end
  if self._req.method == 'HEAD' then
    local len = self.headers['content-length'] or #body
    return write(self, head(self, len, false))
  end
  return write(self, { head(self, #body, false), body })
end

--- Writes a piece of the body. The first call sends the head: with the Content-Length the
-- handler set, or chunked (HTTP/1.0: the body ends with the connection).
function R:write(piece)
  if self.finished then error('write: the response is finished', 2) end
  piece = tostring(piece)
  local st = self._st
  if not self.started then
    self.started = true
    local len = self.headers['content-length']
    local nobody = no_body_status(self.status) or self._req.method == 'HEAD'
    if len then
      self._left = tonumber(len)
    elseif not nobody then
      if st.version == 10 then st.must_close = true else self._chunked = true end
    end
    self._nobody = nobody
    local h = head(self, len, self._chunked)
    if nobody or piece == '' then return write(self, h) end
    if self._chunked then return write(self, { h, format('%x\r\n', #piece), piece, '\r\n' }) end
    if self._left then self._left = self._left - #piece end
    return write(self, { h, piece })
  end
  if self._nobody or piece == '' then return true end
  if self._chunked then return write(self, { format('%x\r\n', #piece), piece, '\r\n' }) end
  if self._left then self._left = self._left - #piece end
  return write(self, piece)
end

--- Ends the response (sends the head if nothing was sent yet; the last chunk if chunked).
function R:finish(piece)
  if self.finished then return true end
  if piece and piece ~= '' then
    local ok, err = self:write(piece)
    if not ok then return nil, err end
  end
  if not self.started then return self:send('') end
  self.finished = true
  if self._chunked then return write(self, '0\r\n\r\n') end
  -- Fewer bytes than announced: the client can only tell from the connection closing.
  if self._left and self._left ~= 0 then self._st.must_close = true end
  return true
end

--- Redirects to location with status (default 302).
function R:redirect(location, status)
  self:set_header('Location', location)
  return self:send(status or 302, '')
end

return R
