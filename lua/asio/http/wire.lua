-- SPDX-License-Identifier: MIT
--- Feeding an asio.http_parser from a connection, for the server and the client alike: reads
-- bounded by deadlines (so a peer that trickles bytes is cut when its time is up, not after each
-- byte), the head of a message, then its body piece by piece.
--
-- st is the state of one connection: { conn =, p = (the parser), send_timeout =, body_done = }.
local asio = require 'asio'

local now = asio.now

local M = {}

--- Reads what the connection has (at most 64 KiB), waiting until deadline (nil: no limit).
function M.read_more(st, deadline)
  local conn = st.conn
  if deadline then
    local left = deadline - now()
    if left <= 0 then return nil, 'timeout' end
    conn:settimeouts(nil, st.send_timeout, left)
    st.timed = true
  elseif st.timed then
    conn:settimeouts(nil, st.send_timeout, nil)
    st.timed = false
  end
  return conn:read_some()
end

--- Parses the head of the next message: what is pending first, then reads. The first read may
-- wait until first_deadline (idle time), and once bytes have come, the head must be complete by
-- the time head_timeout after them. Returns true, or nil, err (a parse error, "timeout",
-- "closed"...) and whether any byte of this message came.
function M.read_head(st, first_deadline, head_timeout)
  local p = st.p
  local status, err = p:put()
  local deadline = first_deadline
  local got = p:buffered() > 0
  if got and head_timeout then deadline = now() + head_timeout end
  while status == 'more' do
    local data
    data, err = M.read_more(st, deadline)
    if not data then return nil, err, got end
    if not got then
      got = true
      if head_timeout then deadline = now() + head_timeout end
    end
    status, err = p:put(data)
  end
  if not status then return nil, err, true end
  -- Body bytes that came with the head wait in the parser: parse them now.
  status, err = p:put()
  if not status then return nil, err, true end
  st.body_done = status == 'done'
  return true
end

--- The next piece of the body, nil at its end, or nil, err ("body too large", "timeout",
-- "closed", "bad chunk"...). A body that ends with the connection (a response without length)
-- ends at "closed".
function M.read_piece(st, deadline)
  local p = st.p
  while true do
    local piece = p:take()
    if piece then return piece end
    if st.body_done then return nil end
    local data, err = M.read_more(st, deadline)
    local status
    if not data then
      if err ~= 'closed' or not st.need_eof then return nil, err end
      status, err = p:put_eof()
    else
      status, err = p:put(data)
    end
    if not status then return nil, err end
    if status == 'done' then st.body_done = true end
  end
end

--- The whole body as one string, or nil, err.
function M.read_body(st, deadline)
  local parts, n = {}, 0
  while true do
    local piece, err = M.read_piece(st, deadline)
    if not piece then
      if err then return nil, err end
      break
    end
    n = n + 1
    parts[n] = piece
  end
  if n == 1 then return parts[1] end
  return table.concat(parts, '', 1, n)
end

return M
