-- SPDX-License-Identifier: MIT
--- asio.http's client: one request over a pooled or new connection (TCP or TLS), the response
-- read whole or piece by piece, redirects when asked for.
local asio = require 'asio'
local parser = require 'asio.http_parser'
local util = require 'asio.http.util'
local wire = require 'asio.http.wire'
local pool = require 'asio.http.pool'

local now = asio.now
local type, pairs, tostring, format = type, pairs, tostring, string.format

local C = {}

C.close_idle = pool.close_idle
C.pool_settings = pool.settings

local default_max_body = 64 * 1024 * 1024

local default_tls
local function tls_for(opts)
  if opts.tls then return opts.tls end
  -- Verifies the peer and its name against the system's CAs (the context's default).
  default_tls = default_tls or asio.tls_context { mode = 'client' }
  return default_tls
end

local function left(deadline)
  if not deadline then return nil end
  return math.max(0.001, deadline - now())
end

local stream_mt = {}
stream_mt.__index = stream_mt

-- The connection of a response whose body has been read to its end goes back to the pool when
-- both sides allow it; in every other case it closes.
local function release(res)
  local st = res._st
  if not st or st.released then return end
  st.released = true
  res._st = nil
  if st.body_done and st.keep_alive and not st.need_eof and st.use_pool then
    pool.put(st.key, st.conn)
  else
    st.conn:close()
  end
end

local function body_error(err)
  if err == 'body too large' then return 'too long' end
  return err
end

--- The next piece of a streamed body; nil at its end; nil, err.
function stream_mt:read_chunk()
  local st = self._st
  if not st then return nil end
  local piece, err = wire.read_piece(st, st.deadline)
  if err then
    st.body_done = false
    release(self)
    return nil, body_error(err)
  end
  if not piece then release(self) end
  return piece
end

--- The rest of a streamed body as a string, or nil, err.
function stream_mt:body()
  local st = self._st
  if not st then return '' end
  local body, err = wire.read_body(st, st.deadline)
  if not body then
    st.body_done = false
    release(self)
    return nil, body_error(err)
  end
  release(self)
  return body
end

--- Gives up on the rest of a streamed body (its connection closes unless the body had ended).
function stream_mt:close()
  release(self)
end

--- Every value of a response header, in order.
function stream_mt:header_values(name)
  name = name:lower()
  local rep = self._repeats and self._repeats[name]
  if rep then return { unpack(rep) } end
  local v = rawget(self.headers, name)
  return v and { v } or {}
end

-- Writes the request's head and body. Returns true, or nil, err.
local function send_request(conn, method, u, body, opts)
  local t = { method, ' ', u.target, ' HTTP/1.1\r\n' }
  local n = #t
  local has_host, has_agent = false, false
  if opts.headers then
    for k, v in pairs(opts.headers) do
      local lk = k:lower()
      if lk == 'host' then has_host = true elseif lk == 'user-agent' then has_agent = true end
      if lk ~= 'content-length' and lk ~= 'transfer-encoding' then
        v = tostring(v)
        util.check_field(k, v, 'request')
        t[n + 1], t[n + 2], t[n + 3], t[n + 4] = k, ': ', v, '\r\n'
        n = n + 4
      end
    end
  end
  if not has_host then t[n + 1], t[n + 2], t[n + 3] = 'Host: ', u.authority, '\r\n'; n = n + 3 end
  if not has_agent then t[n + 1] = 'User-Agent: lua-asio-http\r\n'; n = n + 1 end
  local kind = type(body)
  if kind == 'string' then
    t[n + 1], t[n + 2], t[n + 3] = 'Content-Length: ', #body, '\r\n'
    n = n + 3
  elseif kind == 'function' then
    t[n + 1] = 'Transfer-Encoding: chunked\r\n'
    n = n + 1
  elseif method == 'POST' or method == 'PUT' or method == 'PATCH' then
    t[n + 1] = 'Content-Length: 0\r\n'
    n = n + 1
  end
  t[n + 1] = '\r\n'
  local head = table.concat(t, '', 1, n + 1)
  if kind == 'string' then return conn:write { head, body } end
  local ok, err = conn:write(head)
  if not ok or kind ~= 'function' then return ok, err end
  while true do
    local piece = body()
    if piece == nil then break end
    piece = tostring(piece)
    if piece ~= '' then
      ok, err = conn:write { format('%x\r\n', #piece), piece, '\r\n' }
      if not ok then return nil, err end
    end
  end
  return conn:write('0\r\n\r\n')
end

local retryable = { closed = true, ['connection reset'] = true, ['broken pipe'] = true }

-- One request and the head of its response on conn. Returns the response; or nil, err and
-- whether nothing at all came back (a pooled connection the server had closed: try again).
local function exchange(st, method, u, body, opts)
  local conn = st.conn
  conn:settimeouts(nil, left(st.deadline), nil)
  local ok, err = send_request(conn, method, u, body, opts)
  if not ok then return nil, err, type(body) ~= 'function' and retryable[err] end
  local p = st.p
  while true do
    local got
    ok, err, got = wire.read_head(st, st.deadline, nil)
    if not ok then return nil, err, not got and retryable[err] end
    local status = p:head()
    if status >= 200 or status == 101 then break end
    -- An interim answer (100 Continue, 103 Early Hints): the real one follows.
    p:reset(method == 'HEAD')
  end
  local status, reason, version, headers, repeats = p:head()
  local keep_alive, _, _, need_eof = p:info()
  st.keep_alive, st.need_eof = keep_alive, need_eof
  return setmetatable({ status = status, reason = reason, version = version,
    headers = setmetatable(headers, util.headers_mt), _repeats = repeats, _st = st }, stream_mt)
end

-- One request to the URL table u, over a pooled connection or a new one.
local function attempt(method, u, body, opts, deadline)
  local tls = u.scheme == 'https' and tls_for(opts) or nil
  local key = format('%s://%s:%d', u.scheme, u.host, u.port)
  if opts.tls then key = key .. ' ' .. tostring(opts.tls) end
  local use_pool = opts.pool ~= false
  for _ = 1, 2 do
    local conn = use_pool and pool.get(key)
    local reused = conn and true or false
    if not conn then
      local err
      conn, err = asio.connect(u.host, u.port, { timeout = left(deadline), tls = tls })
      if not conn then return nil, err end
    end
    local p = parser.new('response', { header_limit = 64 * 1024, body_limit = opts.max_body or default_max_body })
    if method == 'HEAD' then p:reset(true) end
    local st = { conn = conn, p = p, deadline = deadline, send_timeout = left(deadline), key = key,
      use_pool = use_pool }
    local res, err, retry = exchange(st, method, u, body, opts)
    if res then return res end
    conn:close()
    if not (reused and retry) then return nil, body_error(err) end
  end
end

local redirect_codes = { [301] = true, [302] = true, [303] = true, [307] = true, [308] = true }

local function check_opts(opts)
  if type(opts) ~= 'table' then error("bad argument #1 to 'request' (table expected, got " .. type(opts) .. ")", 3) end
  if type(opts.url) ~= 'string' then error("bad argument #1 to 'request' (option 'url' must be a string)", 3) end
  local m = opts.method
  if m ~= nil and (type(m) ~= 'string' or not m:match('^[%a]+$')) then
    error("bad argument #1 to 'request' (option 'method' must be a token such as 'GET')", 3)
  end
  local b = opts.body
  if b ~= nil and type(b) ~= 'string' and type(b) ~= 'function' then
    error("bad argument #1 to 'request' (option 'body' must be a string or a function)", 3)
  end
  for _, k in ipairs { 'timeout', 'redirects', 'max_body' } do
    local v = opts[k]
    if v ~= nil and (type(v) ~= 'number' or v < 0) then
      error(("bad argument #1 to 'request' (option '%s' must be a non-negative number)"):format(k), 3)
    end
  end
  if opts.headers ~= nil and type(opts.headers) ~= 'table' then
    error("bad argument #1 to 'request' (option 'headers' must be a table)", 3)
  end
end

--- http.request{ method =, url =, headers =, body =, timeout =, tls =, redirects =, max_body =,
-- stream =, pool = }: the response, or nil, err. See the README.
function C.request(opts)
  check_opts(opts)
  local method = (opts.method or 'GET'):upper()
  local body = opts.body
  local u, err = util.parse_url(opts.url)
  if not u then return nil, err end
  local deadline = opts.timeout and now() + opts.timeout
  local redirects = opts.redirects or 0
  for hop = 0, redirects do
    local res
    res, err = attempt(method, u, body, opts, deadline)
    if not res then return nil, err end
    local location = res.headers.location
    local follow = redirects > 0 and location and redirect_codes[res.status]
    if not follow then
      if opts.stream then return res end
      local data
      data, err = res:body()
      if not data then return nil, err end
      res.body = data
      return res
    end
    -- The redirect's own body is dropped (bounded by max_body like any other).
    local ok
    ok, err = res:body()
    if not ok then return nil, err end
    if hop == redirects then return nil, 'too many redirects' end
    local nu = util.parse_url(util.resolve_location(u, location))
    if not nu then return nil, 'invalid redirect' end
    if res.status == 303 or ((res.status == 301 or res.status == 302) and method == 'POST') then
      if method ~= 'HEAD' then method = 'GET' end
      body = nil
    end
    u = nu
  end
end

--- http.get(url [, opts]): request with method GET.
function C.get(url, opts)
  local t = {}
  if opts ~= nil then
    if type(opts) ~= 'table' then error("bad argument #2 to 'get' (table expected, got " .. type(opts) .. ")", 2) end
    for k, v in pairs(opts) do t[k] = v end
  end
  t.url, t.method = url, 'GET'
  return C.request(t)
end

return C
