-- SPDX-License-Identifier: MIT
--- asio.ws: WebSocket (RFC 6455) over any connection (TCP, Unix, TLS), on Boost.Beast's
-- websocket::stream (asio/websocket.so). Beast frames, masks, checks UTF-8, answers pings and
-- closes; this file moves the bytes between it and the connection with light threads.
--
-- Each WebSocket has one reader light thread that keeps one Beast read in flight, so pings are
-- answered while the script is busy elsewhere, and queues at most `queue` received messages
-- (then it stops reading the connection until a receive makes room). A receive timeout ends the
-- wait, never the read. Everything Beast writes (messages, pongs, the close frame) leaves through
-- one lock, in the order Beast made it; a send returns once its frames are written, so what waits
-- to be sent is bounded by one message.
-- @module asio.ws
local asio = require 'asio'
local core = require 'asio.websocket'
local util = require 'asio.http.util'

local now, spawn, park, wake, current = asio.now, asio.spawn_light_thread, asio.park, asio.wake, asio.current
local type, error, tostring = type, error, tostring

local M = {}

local W = {}
W.__index = W

local defaults = { queue = 64, send_timeout = 30, close_timeout = 5, max_message = 16 * 1024 * 1024 }

-- Sends what Beast wrote, in order; the caller holds st.wlock. A connection that fails (or
-- times out) in the middle of a frame cannot carry the WebSocket any more: it closes.
local function flush(st)
  local box, conn = st.box, st.conn
  while true do
    local out = box:output()
    if not out then return true end
    local ok, err = conn:write(out)
    if not ok then
      conn:close()
      return nil, err
    end
  end
end

-- Takes the send lock: true, or nil, err. A light thread killed while it held the lock may have
-- left half a frame on the connection, which then cannot carry the WebSocket any more.
local function lock(st, timeout)
  local ok, got, err = pcall(st.wlock.lock, st.wlock, timeout)
  if ok then return got, err end
  st.conn:close()
  return nil, 'closed'
end

-- Whether a light thread other than the caller is in the middle of op (receive, send, ping);
-- one that was killed there is not.
local function busy(holder)
  return holder and holder:status() ~= 'dead' and holder ~= current()
end

local function flush_locked(st, timeout)
  local ok, err = lock(st, timeout)
  if not ok then return nil, err end
  ok, err = flush(st)
  st.wlock:unlock()
  return ok, err
end

-- Wakes the receive parked for a message, if any (W:receive rechecks the queue and the end).
local function wake_receiver(st)
  if st.receiving then wake(st.receiving, true) end
end

-- Reading has ended: every waiter learns it.
local function finish(st, code, reason)
  if st.closed_code then return end
  st.closed_code, st.closed_reason = code or 1006, reason or ''
  wake_receiver(st)
  st.pong_cond:broadcast()
  st.room:broadcast()
  st.done:set()
end

local function push(st, msg, kind)
  local t = st.tail + 1
  st.msgs[t], st.kinds[t] = msg, kind
  st.tail = t
end

-- The reader light thread: feeds Beast what the connection receives and queues the messages.
local function reader(st)
  local box, conn = st.box, st.conn
  while true do
    local wants, torn, pongs, pending, closed
    while true do
      if st.tail - st.head >= st.qmax then
        wants, torn, pongs, pending, closed = box:state()
        break
      end
      local msg, kind, code, reason, r5, r6 = box:next()
      if msg == false then
        wants, torn, pongs, pending, closed = kind, code, reason, r5, r6
        break
      end
      if msg == nil then
        -- Beast's answer (the close frame it echoed or the one that refuses bad input) goes out
        -- before the connection closes.
        flush_locked(st, st.close_timeout)
        conn:close()
        return finish(st, code, reason)
      end
      push(st, msg, kind)
      wake_receiver(st)
    end
    if pending then flush_locked(st, st.send_timeout) end
    if pongs ~= st.pongs then
      st.pongs = pongs
      st.pong_cond:broadcast()
    end
    if closed and not wants then
      -- Our close handshake ended while the queue was full (Beast's close read for itself).
      local _, code, reason = box:close_result()
      conn:close()
      return finish(st, code, reason)
    end
    if wants then
      local data = conn:read_some()
      if data then box:feed(data) else box:feed_eof() end
    elseif torn then
      conn:close()
      return finish(st, 1006, '')
    elseif st.tail - st.head >= st.qmax then
      -- Checked again here, with no wait since: a receive that made room while this thread was
      -- flushing signalled nobody.
      st.room:wait()
    else
      -- Room, and still no read wants input: Beast's read waits on its own close handshake.
      asio.sleep(0.01)
    end
  end
end

-- The public object holds the state and a proxy whose finalizer closes the connection: the
-- reader light thread holds only the state, so a WebSocket nobody references is collected, its
-- connection closed, and its reader ends.
local function new_ws(conn, box, opts, extra)
  local st = {
    conn = conn, box = box, msgs = {}, kinds = {}, head = 0, tail = 0,
    qmax = opts.queue or defaults.queue, pongs = 0,
    send_timeout = opts.send_timeout or defaults.send_timeout,
    close_timeout = opts.close_timeout or defaults.close_timeout,
    receiving = false, room = asio.condition(), pong_cond = asio.condition(),
    done = asio.event(), wlock = asio.mutex(),
  }
  conn:settimeouts(nil, st.send_timeout, nil)
  local proxy = newproxy(true)
  getmetatable(proxy).__gc = function() conn:close() end
  local ws = setmetatable({ _st = st, _proxy = proxy }, W)
  for k, v in pairs(extra) do ws[k] = v end
  spawn(reader, st)
  return ws
end

local function check_timeout(t, i, fname)
  if t ~= nil and (type(t) ~= 'number' or t < 0 or t ~= t) then
    error(("bad argument #%d to '%s' (timeout must be a non-negative number)"):format(i, fname), 3)
  end
end

--- Receives the next message, whole (fragments joined).
-- @tparam[opt] number timeout seconds; the WebSocket stays usable after a timeout
-- @return msg, "text"|"binary"; or nil, "timeout"; or nil, "closed", code, reason
function W:receive(timeout)
  check_timeout(timeout, 1, 'receive')
  local st = self._st
  if busy(st.receiving) then error('receive: the websocket already has a pending receive', 2) end
  local deadline = timeout and now() + timeout
  while true do
    if st.tail > st.head then
      local h = st.head + 1
      local msg, kind = st.msgs[h], st.kinds[h]
      st.msgs[h], st.kinds[h] = nil, nil
      -- Drained, the indices start over: ever-growing ones would be new hash keys to the
      -- queue's tables on every message, each a rehash.
      if h == st.tail then st.head, st.tail = 0, 0 else st.head = h end
      if st.tail - st.head == st.qmax - 1 then st.room:signal() end
      return msg, kind
    end
    if st.closed_code then return nil, 'closed', st.closed_code, st.closed_reason end
    local left = deadline and deadline - now()
    if left and left <= 0 then return nil, 'timeout' end
    -- A plain park: the message stays in the queue until a receive takes it, so a receiver
    -- killed while waiting loses nothing, and a stray wake only goes round the loop again.
    local me = current()
    if not me then error('receive: not called from a light thread', 2) end
    st.receiving = me
    -- Through pcall: where the thread cannot yield (a function called by C, such as a gsub or
    -- table.sort callback), park raises, and the receive must not stay marked as pending.
    local ok, err = pcall(park, left)
    st.receiving = false
    if not ok then error(err, 0) end
  end
end

--- Sends one message: text (the default) or binary. Returns once its frames are written.
-- @return true; or nil, "closed" | "timeout" | an OS error (after which the WebSocket is closed)
function W:send(msg, kind)
  if type(msg) ~= 'string' then error("bad argument #1 to 'send' (string expected, got " .. type(msg) .. ")", 2) end
  if kind ~= nil and kind ~= 'text' and kind ~= 'binary' then
    error("bad argument #2 to 'send' (\"text\" or \"binary\" expected)", 2)
  end
  local st = self._st
  if busy(st.sending) then error('send: the websocket already has a pending send', 2) end
  if st.closing or st.closed_code then return nil, 'closed' end
  st.sending = asio.current()
  local ok, err = lock(st, st.send_timeout)
  if ok then
    -- The frames come back at once; whatever others produce meanwhile, they flush themselves.
    local out
    ok, out = st.box:send(msg, kind == 'binary')
    if not ok then
      err = out
    elseif out then
      ok, err = st.conn:write(out)
      if not ok then st.conn:close() end
    end
    st.wlock:unlock()
  end
  st.sending = nil
  return ok, err
end

--- Sends a ping and waits for a pong.
-- @tparam[opt] string data at most 125 bytes
-- @tparam[opt] number timeout seconds (nil: until the pong or the end of the WebSocket)
-- @return true; or nil, "timeout"; or nil, "closed"
function W:ping(data, timeout)
  if data ~= nil and type(data) ~= 'string' then error("bad argument #1 to 'ping' (string expected, got " .. type(data) .. ")", 2) end
  if data and #data > 125 then error("bad argument #1 to 'ping' (at most 125 bytes)", 2) end
  check_timeout(timeout, 2, 'ping')
  local st = self._st
  if busy(st.pinging) then error('ping: the websocket already has a pending ping', 2) end
  if st.closing or st.closed_code then return nil, 'closed' end
  local deadline = timeout and now() + timeout
  st.pinging = asio.current()
  local start = st.pongs
  local ok, err = lock(st, timeout)
  if ok then
    ok, err = st.box:ping(data or '')
    if ok then ok, err = flush(st) end
    st.wlock:unlock()
  end
  while ok and st.pongs == start do
    if st.closed_code then ok, err = nil, 'closed' break end
    local left = deadline and deadline - now()
    if left and left <= 0 then ok, err = nil, 'timeout' break end
    st.pong_cond:wait(left)
  end
  st.pinging = nil
  return ok, err
end

local reserved = { [1004] = true, [1005] = true, [1006] = true, [1015] = true }

--- Starts the closing handshake and waits (from a light thread) for the peer's close frame, at
-- most timeout seconds (default: close_timeout, 5 s); then the connection is closed.
-- @tparam[opt=1000] number code
-- @tparam[opt=""] string reason at most 123 bytes
-- @return true
function W:close(code, reason, timeout)
  code = code == nil and 1000 or code
  if type(code) ~= 'number' or code % 1 ~= 0 or code < 1000 or code > 4999 or reserved[code]
      or (code > 1015 and code < 3000) then
    error("bad argument #1 to 'close' (a close code from 1000 to 4999 expected)", 2)
  end
  if reason ~= nil and type(reason) ~= 'string' then error("bad argument #2 to 'close' (string expected)", 2) end
  if reason and #reason > 123 then error("bad argument #2 to 'close' (at most 123 bytes)", 2) end
  check_timeout(timeout, 3, 'close')
  local st = self._st
  timeout = timeout or st.close_timeout
  if st.closed_code then return true end
  local in_thread = asio.current() ~= nil
  if not st.closing then
    st.closing = true
    if in_thread then
      if st.box:close(code, reason or '') then flush_locked(st, timeout) end
      -- A reader waiting for room reads again: the peer's close frame is behind the messages.
      st.room:broadcast()
    end
  end
  if in_thread then st.done:wait(timeout) end
  if not st.closed_code then
    st.conn:close()
  end
  return true
end

--- Whether the WebSocket is still open (no close started, reading not ended).
function W:is_open()
  local st = self._st
  return not st.closing and not st.closed_code
end

--- ip, port of the peer.
function W:remote_address()
  return self._st.conn:remote_address()
end

W.__tostring = function(ws)
  return 'asio.websocket (' .. (ws:is_open() and '' or 'closed, ') .. tostring(ws._st):gsub('^table: ', '') .. ')'
end

local function check_opts(opts, fname)
  if opts == nil then return {} end
  if type(opts) ~= 'table' then error(("bad argument #1 to '%s' (table expected, got %s)"):format(fname, type(opts)), 3) end
  for _, k in ipairs { 'queue', 'max_message', 'send_timeout', 'close_timeout', 'timeout' } do
    local v = opts[k]
    if v ~= nil and (type(v) ~= 'number' or v <= 0 or v ~= v) then
      error(("bad argument #1 to '%s' (option '%s' must be a positive number)"):format(fname, k), 3)
    end
  end
  if opts.queue and opts.queue % 1 ~= 0 then
    error(("bad argument #1 to '%s' (option 'queue' must be a positive integer)"):format(fname), 3)
  end
  if opts.conn ~= nil and tostring(opts.conn):sub(1, 16) ~= 'asio.connection ' then
    error(("bad argument #1 to '%s' (option 'conn' must be a connection)"):format(fname), 3)
  end
  for _, k in ipairs { 'protocols', 'origins', 'headers' } do
    if opts[k] ~= nil and type(opts[k]) ~= 'table' then
      error(("bad argument #1 to '%s' (option '%s' must be a table)"):format(fname, k), 3)
    end
  end
  for _, k in ipairs { 'protocols', 'origins' } do
    for _, v in ipairs(opts[k] or {}) do
      if type(v) ~= 'string' then
        error(("bad argument #1 to '%s' (option '%s' must be an array of strings)"):format(fname, k), 3)
      end
    end
  end
  return opts
end

-- The comma-separated tokens of a header value, as a set.
local function token_set(value)
  local set = {}
  for tok in (value or ''):gmatch('[^,%s]+') do set[tok] = true end
  return set
end

--- Server side (req:upgrade): answers the request with 101 and returns the WebSocket, or
-- refuses it (403 for an Origin not listed, 400 for a request that is no WebSocket upgrade) and
-- returns nil, err.
function M.upgrade(req, res, opts)
  opts = check_opts(opts, 'upgrade')
  local st = req._st
  if st.upgraded then error('upgrade: the request was already upgraded', 3) end
  local conn, headers = st.conn, req.headers
  if res then res.started, res.finished = true, true end
  if opts.origins then
    local allowed = false
    for _, o in ipairs(opts.origins) do
      if o == headers.origin then allowed = true end
    end
    if not allowed then
      st.must_close = true
      conn:write('HTTP/1.1 403 Forbidden\r\nContent-Length: 10\r\nConnection: close\r\n\r\nforbidden\n')
      return nil, 'origin not allowed'
    end
  end
  local protocol
  if opts.protocols and headers['sec-websocket-protocol'] then
    local offered = token_set(headers['sec-websocket-protocol'])
    for _, p in ipairs(opts.protocols) do
      if offered[p] then protocol = p break end
    end
  end
  local box = core.new('server', { max_message = opts.max_message or defaults.max_message, deflate = opts.deflate })
  local ok, err = box:accept(req.method, req.target, headers, protocol)
  local out = box:output()
  if out then conn:write(out) end
  if not ok then
    st.must_close = true
    return nil, err
  end
  st.upgraded = true
  local rest = st.p:leftover()
  if #rest > 0 then box:feed(rest) end
  return new_ws(conn, box, opts, { protocol = protocol, request = req })
end

local default_tls

--- Client: connects to a ws:// or wss:// URL and completes the opening handshake.
-- @tparam string url
-- @tparam[opt] table opts headers, protocols, tls (a client context; default: the system's CAs,
-- verifying the host name), timeout (connect and handshake, default 30), max_message, queue,
-- send_timeout, close_timeout, deflate; conn: a connection to use (a Unix socket, a proxy
-- tunnel ...) instead of connecting to the URL's host (the URL then gives Host and the path)
-- @return ws; or nil, err [, status]
function M.connect(url, opts)
  if type(url) ~= 'string' then error("bad argument #1 to 'websocket' (string expected, got " .. type(url) .. ")", 2) end
  opts = check_opts(opts, 'websocket')
  for _, p in ipairs(opts.protocols or {}) do
    if type(p) ~= 'string' or not p:match("^[%w!#$%%&'*+%-.^_`|~]+$") then
      error("bad argument #2 to 'websocket' (protocols must be tokens)", 2)
    end
  end
  local scheme, rest = url:match('^(%a[%w+.-]*)(://.*)$')
  scheme = scheme and scheme:lower()
  if scheme ~= 'ws' and scheme ~= 'wss' then return nil, 'invalid url' end
  local u, err = util.parse_url((scheme == 'wss' and 'https' or 'http') .. rest)
  if not u then return nil, err end
  -- Checked before anything is sent: no request splitting through a header value.
  local headers = {}
  for k, v in pairs(opts.headers or {}) do
    if type(v) ~= 'string' and type(v) ~= 'number' then
      error(("bad argument #2 to 'websocket' (header '%s' must be a string)"):format(tostring(k)), 2)
    end
    util.check_field(k, tostring(v), 'websocket')
    headers[k] = tostring(v)
  end
  local timeout = opts.timeout or 30
  local deadline = now() + timeout
  local tls
  if scheme == 'wss' then
    tls = opts.tls
    if not tls then
      default_tls = default_tls or asio.tls_context { mode = 'client' }
      tls = default_tls
    end
  end
  local conn = opts.conn
  if conn == nil then
    conn, err = asio.connect(u.host, u.port, { timeout = timeout, tls = tls })
    if not conn then return nil, err end
  end
  if opts.protocols and #opts.protocols > 0 then
    headers['Sec-WebSocket-Protocol'] = table.concat(opts.protocols, ', ')
  end
  local box = core.new('client', { max_message = opts.max_message or defaults.max_message, deflate = opts.deflate })
  box:handshake(u.authority, u.target, headers)
  conn:settimeouts(nil, math.max(0.001, deadline - now()), nil)
  local ok, status, resp_headers
  ok, err = conn:write(box:output())
  while ok do
    ok, status, resp_headers = box:handshake_result()
    if ok ~= nil then break end
    conn:settimeouts(nil, nil, math.max(0.001, deadline - now()))
    local data
    data, err = conn:read_some()
    if not data then
      conn:close()
      return nil, err
    end
    box:feed(data)
    ok = true
  end
  if not ok then
    conn:close()
    if ok == false then return nil, status, resp_headers end
    return nil, err
  end
  conn:settimeouts(nil, nil, nil)
  local protocol = resp_headers['sec-websocket-protocol']
  if protocol and not (opts.protocols and token_set(table.concat(opts.protocols, ','))[protocol]) then
    conn:close()
    return nil, 'bad handshake'
  end
  return new_ws(conn, box, opts, { protocol = protocol, headers = resp_headers, status = status })
end

return M
