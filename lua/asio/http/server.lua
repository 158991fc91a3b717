-- SPDX-License-Identifier: MIT
--- asio.http's server: one light thread per connection reads requests with Beast's parser
-- (asio.http_parser), runs the route's handler in that same light thread and answers in request
-- order (keep-alive, pipelining). Bad input gets its status and the connection closes; the
-- server keeps serving everyone else.
local asio = require 'asio'
local parser = require 'asio.http_parser'
local util = require 'asio.http.util'
local router = require 'asio.http.router'
local wire = require 'asio.http.wire'
local request = require 'asio.http.request'
local response = require 'asio.http.response'
require 'asio.http.files'

local now, spawn = asio.now, asio.spawn_light_thread
local type, pairs, xpcall, traceback = type, pairs, xpcall, debug.traceback

local S = {}
S.__index = S

local default_limits = { header = 8192, body = 1024 * 1024 }
local default_timeouts = { idle = 60, header = 10, body = 30, send = 30, close = 5 }

-- Reports an error the way an error in a light thread is reported: to asio.on_error's handler.
local function report(msg)
  spawn(function() error(msg, 0) end)
end

-- The status that answers a parse or body error.
local function error_status(err)
  if err == 'header too large' then return 431 end
  if err == 'body too large' then return 413 end
  if err == 'timeout' then return 408 end
  return 400
end

-- Answers bad input with status, then closes: our side first, then, after reading (and
-- dropping) what the client still sends for a moment, the whole connection, so that the client
-- reads the answer instead of a reset.
local function refuse(st, status)
  local conn = st.conn
  local reason = util.reasons[status] or 'Error'
  local body = reason .. '\n'
  conn:settimeouts(nil, 5, 1)
  conn:write { 'HTTP/1.1 ', status, ' ', reason, '\r\nDate: ', util.date(),
    '\r\nContent-Type: text/plain\r\nContent-Length: ', #body, '\r\nConnection: close\r\n\r\n', body }
  conn:shutdown('send')
  -- Bounded in bytes and in time: a client trickling bytes cannot hold the light thread.
  local drained, deadline = 0, now() + 2
  while drained < 1024 * 1024 do
    local left = deadline - now()
    if left <= 0 then break end
    conn:settimeouts(nil, 5, left)
    local data = conn:read_some()
    if not data then break end
    drained = drained + #data
  end
end

-- Checks the head against RFC 9112 before any handler sees it: an error status, or nil.
local function check_head(st, headers)
  local te = headers['transfer-encoding']
  if te then
    -- §6.1: the parser already refused Transfer-Encoding with Content-Length (400). A request
    -- whose final coding is not chunked has no knowable length (400); other codings are not
    -- implemented here (501).
    local codings = util.codings(te)
    if codings[#codings] ~= 'chunked' then return 400 end
    for i = 1, #codings - 1 do
      if codings[i] == 'chunked' then return 400 end
    end
    if #codings > 1 then return 501 end
    if st.version == 10 then return 400 end
  end
  if st.version == 11 and not headers.host then return 400 end
  local expect = headers.expect
  if expect then
    if expect:lower() ~= '100-continue' then return 417 end
    st.expect_continue = true
  end
  return nil
end

-- Runs the handler of one request and makes sure a response went out.
local function dispatch(srv, st, req, res)
  local fn, params = srv.router:match(req.method, req.path)
  if not fn then
    if srv.fallback then
      fn = srv.fallback
    elseif #params > 0 then
      res:set_header('Allow', table.concat(params, ', '))
      return res:send(405, 'method not allowed\n')
    else
      return res:send(404, 'not found\n')
    end
  else
    req.params = params
  end
  local ok, status, body, headers = xpcall(fn, traceback, req, res)
  if not ok then
    if st.body_error then
      st.must_close = true
      if not res.started then return res:send(error_status(st.body_error), util.reasons[error_status(st.body_error)] .. '\n') end
      return
    end
    report(status)
    st.must_close = true
    if not res.started then return res:send(500, 'internal server error\n') end
    return
  end
  if res.finished then return end
  if res.started then return res:finish() end
  if st.body_error then
    st.must_close = true
    local s = error_status(st.body_error)
    return res:send(s, util.reasons[s] .. '\n')
  end
  if type(status) == 'number' then
    res.status = status
    if headers then
      for k, v in pairs(headers) do res:set_header(k, v) end
    end
    return res:send(body == nil and '' or body)
  elseif type(status) == 'string' then
    return res:send(status)
  end
  return res:send('')
end

-- Reads what is left of a body the handler did not read, so the next request starts at its
-- first byte; or marks the connection for closing when that is not worth it.
local function skip_body(st, req)
  if st.body_done or st.must_close then return end
  -- The client waits for our 100 Continue before it sends the body: there is none coming.
  if st.expect_continue and not st.continued then
    st.must_close = true
    return
  end
  local deadline = now() + math.min(st.timeouts.body or 5, 5)
  while true do
    local piece, err = wire.read_piece(st, deadline)
    if not piece then
      if err then st.must_close = true end
      return
    end
  end
end

--- Serves HTTP on conn (any connection: TCP, Unix, TLS) until the client or the server ends it.
-- Returns when the connection is closed.
function S:serve(conn)
  local t = self.timeouts
  local st = {
    conn = conn, srv = self, timeouts = t, send_timeout = t.send,
    p = parser.new('request', { header_limit = self.limits.header, body_limit = self.limits.body }),
  }
  self.conns[conn] = st
  self.nconns = self.nconns + 1
  conn:settimeouts(nil, t.send, nil)
  local p = st.p
  while not self.closing do
    st.idle = true
    local ok, err, got = wire.read_head(st, t.idle and now() + t.idle, t.header)
    st.idle = false
    if not ok then
      if got and err ~= 'closed' and err ~= 'connection reset' then
        refuse(st, error_status(err))
      end
      break
    end
    local method, target, version, headers, repeats = p:head()
    local keep_alive = p:info()
    st.version, st.keep_alive = version, keep_alive
    st.must_close, st.body_error, st.body_read, st.body_deadline = false, nil, nil, nil
    st.expect_continue, st.continued = false, false
    local bad = check_head(st, headers)
    if bad then
      refuse(st, bad)
      break
    end
    local req = request.new(st, method, target, version, headers, repeats)
    local res = response.new(st, req)
    req._res = res
    dispatch(self, st, req, res)
    if st.dead or st.upgraded then break end
    skip_body(st, req)
    if st.must_close then break end
    p:reset()
  end
  self.conns[conn] = nil
  self.nconns = self.nconns - 1
  -- An upgraded connection belongs to its WebSocket, which may outlive the handler.
  if not st.upgraded then conn:close() end
  if self.closing and self.nconns == 0 and self.closer then asio.wake(self.closer) end
end

--- Stops accepting; requests in flight finish (their responses say Connection: close), idle
-- connections close at once, and whatever is still open after grace seconds (default: the
-- server's timeouts.close) is closed. Returns at once; from a light thread, wait = true
-- returns once every connection is closed.
function S:close(grace, wait)
  if self.closing then return true end
  self.closing = true
  if self.holder then self.holder:close() end
  for conn, st in pairs(self.conns) do
    if st.idle then conn:close() end
  end
  grace = grace or self.timeouts.close or 5
  local waiter = function()
    if self.nconns > 0 then
      self.closer = asio.current()
      asio.park(grace)
      self.closer = nil
    end
    for conn in pairs(self.conns) do conn:close() end
  end
  if wait then waiter() else spawn(waiter) end
  return true
end

--- ip, port the server listens on.
function S:local_address()
  if not self.holder then return nil, 'not listening' end
  return self.holder:local_address()
end

--- Adds a route: method (nil or '*' for any), pattern, handler(req, res).
function S:route(method, pattern, fn)
  self.router:add(method, pattern, fn)
  return self
end

local function merge(defaults, given, what)
  local t = {}
  for k, v in pairs(defaults) do t[k] = v end
  if given ~= nil then
    if type(given) ~= 'table' then error(("bad argument #1 to 'server' (option '%s' must be a table)"):format(what), 3) end
    for k, v in pairs(given) do
      if defaults[k] == nil then error(("bad argument #1 to 'server' (unknown %s '%s')"):format(what, tostring(k)), 3) end
      if v ~= false and (type(v) ~= 'number' or v <= 0) then
        error(("bad argument #1 to 'server' (%s '%s' must be a positive number or false)"):format(what, k), 3)
      end
      t[k] = v or nil
    end
  end
  return t
end

--- http.server{ host =, port =, unix =, tls =, handler =, routes =, limits =, timeouts =,
-- backlog =, reuseport = }: see the README.
function S.new(opts)
  if type(opts) ~= 'table' then error("bad argument #1 to 'server' (table expected, got " .. type(opts) .. ")", 2) end
  if opts.handler ~= nil and type(opts.handler) ~= 'function' then
    error("bad argument #1 to 'server' (option 'handler' must be a function)", 2)
  end
  local self = setmetatable({
    router = router.new(), fallback = opts.handler, conns = {}, nconns = 0, closing = false,
    limits = merge(default_limits, opts.limits, 'limit'),
    timeouts = merge(default_timeouts, opts.timeouts, 'timeout'),
  }, S)
  if opts.routes ~= nil then
    if type(opts.routes) ~= 'table' then error("bad argument #1 to 'server' (option 'routes' must be a table)", 2) end
    for key, fn in pairs(opts.routes) do
      local method, pattern = key:match('^(%u+)%s+(/.*)$')
      if not method then method, pattern = nil, key end
      self.router:add(method, pattern, fn)
    end
  end
  local accept = function(conn) self:serve(conn) end
  local sopts = { tls = opts.tls, backlog = opts.backlog, reuseport = opts.reuseport }
  local holder, err
  if opts.unix then
    holder, err = asio.unix_server(opts.unix, accept, sopts)
  elseif opts.port ~= nil then
    holder, err = asio.server(opts.host or '127.0.0.1', opts.port, accept, sopts)
  end
  if opts.unix or opts.port ~= nil then
    if not holder then return nil, err end
    self.holder = holder
  end
  return self
end

return S
