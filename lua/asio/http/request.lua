-- SPDX-License-Identifier: MIT
--- The request a server handler gets: start line, path, query, headers, and its body read in
-- full or in pieces. The query table and the peer's address are made on first use.
local asio = require 'asio'
local util = require 'asio.http.util'
local wire = require 'asio.http.wire'

local now = asio.now
local rawget, rawset, find, sub = rawget, rawset, string.find, string.sub

local R = {}

local mt = {
  __index = function(req, k)
    local m = R[k]
    if m ~= nil then return m end
    if k == 'query' then
      local q = util.parse_query(rawget(req, 'query_string'))
      rawset(req, 'query', q)
      return q
    end
    return nil
  end,
}

--- A request over the connection state st (see server.lua).
function R.new(st, method, target, version, headers, repeats)
  local path, q = target, ''
  local at = find(target, '?', 1, true)
  if at then path, q = sub(target, 1, at - 1), sub(target, at + 1) end
  if find(path, '%', 1, true) then path = util.unescape(path) end
  return setmetatable({
    method = method, target = target, path = path, query_string = q, version = version,
    headers = setmetatable(headers, util.headers_mt), params = nil, _repeats = repeats, _st = st,
  }, mt)
end

--- Every value of a header, in order (an array; empty when absent).
function R:header_values(name)
  name = name:lower()
  local rep = self._repeats and self._repeats[name]
  if rep then return { unpack(rep) } end
  local v = rawget(self.headers, name)
  return v and { v } or {}
end

--- The peer's address: ip, port (a Unix socket: its path).
function R:remote_address()
  return self._st.conn:remote_address()
end

-- Sends "100 Continue" once, when the client waits for it before sending its body.
local function continue(st)
  if st.expect_continue and not st.continued and not st.body_done then
    st.continued = true
    local ok, err = st.conn:write('HTTP/1.1 100 Continue\r\n\r\n')
    if not ok then return nil, err end
  end
  return true
end

local function body_deadline(st)
  if not st.body_deadline and st.timeouts.body then st.body_deadline = now() + st.timeouts.body end
  return st.body_deadline
end

local function failed(st, err)
  st.body_error = st.body_error or err
  st.must_close = true
  return nil, err
end

--- The next piece of the body; nil at the end; nil, err ("body too large", "timeout",
-- "closed", "bad chunk") when it cannot be read.
function R:read_chunk()
  local st = self._st
  if st.body_error then return nil, st.body_error end
  local ok, err = continue(st)
  if not ok then return failed(st, err) end
  local piece
  piece, err = wire.read_piece(st, body_deadline(st))
  if err then return failed(st, err) end
  return piece
end

--- The whole body as a string ("" when there is none), or nil, err as for read_chunk.
function R:body()
  local st = self._st
  if st.body_error then return nil, st.body_error end
  if st.body_read then return st.body_read end
  local ok, err = continue(st)
  if not ok then return failed(st, err) end
  local body
  body, err = wire.read_body(st, body_deadline(st))
  if not body then return failed(st, err) end
  st.body_read = body
  return body
end

--- Answers a WebSocket upgrade request (asio.ws): ws, or nil, err once a refusal was sent.
-- opts: protocols, origins, max_message, queue, send_timeout, close_timeout, deflate (README).
function R:upgrade(opts)
  return require('asio.ws').upgrade(self, rawget(self, '_res'), opts)
end

return R
