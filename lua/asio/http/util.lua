-- SPDX-License-Identifier: MIT
--- Pieces of HTTP that both the server and the client use: case-insensitive header tables,
-- field checks, percent-decoding, query strings, URLs, reason phrases, the Date value.
local M = {}

local byte, char, find, gsub, lower, sub, format = string.byte, string.char, string.find,
  string.gsub, string.lower, string.sub, string.format
local tonumber, type, rawget, rawset = tonumber, type, rawget, rawset

--- Headers keyed by lower-case name; any spelling finds them (h['Content-Type']).
M.headers_mt = {
  __index = function(t, k)
    if type(k) ~= 'string' then return nil end
    return rawget(t, lower(k))
  end,
  __newindex = function(t, k, v)
    if type(k) ~= 'string' then error('header names are strings', 2) end
    rawset(t, lower(k), v)
  end,
}

--- A header table: the table given (keys lower-cased) or a new one.
function M.headers(t)
  local h = setmetatable({}, M.headers_mt)
  if t then for k, v in pairs(t) do h[k] = v end end
  return h
end

--- Raises unless name is a token and value has no CR, LF or NUL (no response splitting).
function M.check_field(name, value, fname)
  if type(name) ~= 'string' or name == '' or find(name, "[^%w!#$%%&'*+%-.^_`|~]") then
    error(format("%s: invalid header name %q", fname, tostring(name)), 3)
  end
  if find(value, '[%z\r\n]') then
    error(format("%s: invalid value for header %q (CR, LF or NUL)", fname, name), 3)
  end
end

local function hex(h) return char(tonumber(h, 16)) end

--- Percent-decoding; plus_space also turns '+' into a space (forms, query strings).
function M.unescape(s, plus_space)
  if plus_space and find(s, '+', 1, true) then s = gsub(s, '+', ' ') end
  if not find(s, '%', 1, true) then return s end
  return (gsub(s, '%%(%x%x)', hex))
end

--- Percent-encodes everything but the unreserved characters.
function M.escape(s)
  return (gsub(s, '[^%w%-._~]', function(c) return format('%%%02X', byte(c)) end))
end

--- A query string as a table: name → value; a name given several times → array of values.
function M.parse_query(q)
  local t = {}
  if not q or q == '' then return t end
  for pair in q:gmatch('[^&;]+') do
    local k, v = pair:match('^([^=]*)=?(.*)$')
    k, v = M.unescape(k, true), M.unescape(v, true)
    local old = t[k]
    if old == nil then t[k] = v
    elseif type(old) == 'table' then old[#old + 1] = v
    else t[k] = { old, v } end
  end
  return t
end

--- Splits an absolute http(s) URL: scheme, host, port, target (path and query), or nil, err.
function M.parse_url(url)
  if type(url) ~= 'string' then return nil, 'invalid url' end
  local scheme, rest = url:match('^(%a[%w+.-]*)://(.*)$')
  scheme = scheme and lower(scheme)
  if scheme ~= 'http' and scheme ~= 'https' then return nil, 'invalid url' end
  local authority, target = rest:match('^([^/?#]*)(.*)$')
  target = target:gsub('#.*$', '')
  if target == '' then target = '/' elseif sub(target, 1, 1) == '?' then target = '/' .. target end
  if find(authority, '@', 1, true) then return nil, 'invalid url' end
  local host, port = authority:match('^%[([^%]]+)%]:?(%d*)$')
  if not host then host, port = authority:match('^([^:]+):?(%d*)$') end
  if not host or host == '' or find(target, '[%s%z]') then return nil, 'invalid url' end
  port = tonumber(port) or (scheme == 'https' and 443 or 80)
  if port < 1 or port > 65535 then return nil, 'invalid url' end
  return { scheme = scheme, host = lower(host), port = port, target = target,
    authority = authority }
end

--- Resolves a Location value against the URL table it answers: an absolute URL string.
function M.resolve_location(base, loc)
  if loc:match('^%a[%w+.-]*://') then return loc end
  local origin = base.scheme .. '://' .. base.authority
  if sub(loc, 1, 2) == '//' then return base.scheme .. ':' .. loc end
  if sub(loc, 1, 1) == '/' then return origin .. loc end
  local dir = base.target:gsub('%?.*$', ''):match('^(.*/)') or '/'
  return origin .. dir .. loc
end

M.reasons = {
  [100] = 'Continue', [101] = 'Switching Protocols', [200] = 'OK', [201] = 'Created',
  [202] = 'Accepted', [204] = 'No Content', [206] = 'Partial Content',
  [301] = 'Moved Permanently', [302] = 'Found', [303] = 'See Other', [304] = 'Not Modified',
  [307] = 'Temporary Redirect', [308] = 'Permanent Redirect', [400] = 'Bad Request',
  [401] = 'Unauthorized', [403] = 'Forbidden', [404] = 'Not Found',
  [405] = 'Method Not Allowed', [408] = 'Request Timeout', [409] = 'Conflict',
  [411] = 'Length Required', [413] = 'Content Too Large', [414] = 'URI Too Long',
  [416] = 'Range Not Satisfiable', [417] = 'Expectation Failed',
  [431] = 'Request Header Fields Too Large', [500] = 'Internal Server Error',
  [501] = 'Not Implemented', [502] = 'Bad Gateway', [503] = 'Service Unavailable',
  [504] = 'Gateway Timeout', [505] = 'HTTP Version Not Supported',
}

local date_at, date_value = -1, nil
--- The Date header's value, made once a second.
function M.date()
  local t = os.time()
  if t ~= date_at then
    date_at, date_value = t, os.date('!%a, %d %b %Y %H:%M:%S GMT', t)
  end
  return date_value
end

M.mime = {
  html = 'text/html; charset=utf-8', htm = 'text/html; charset=utf-8',
  txt = 'text/plain; charset=utf-8', css = 'text/css', js = 'text/javascript',
  json = 'application/json', xml = 'application/xml', png = 'image/png', jpg = 'image/jpeg',
  jpeg = 'image/jpeg', gif = 'image/gif', svg = 'image/svg+xml', ico = 'image/x-icon',
  wasm = 'application/wasm', pdf = 'application/pdf', mp4 = 'video/mp4', webp = 'image/webp',
}

--- The Content-Type for a file name (application/octet-stream when unknown).
function M.mime_type(path)
  local ext = path:match('%.([%w]+)$')
  return ext and M.mime[lower(ext)] or 'application/octet-stream'
end

--- The transfer codings of a Transfer-Encoding value, lower-cased, in order.
function M.codings(value)
  local t = {}
  for c in value:gmatch('[^,]+') do
    c = lower(c:match('^%s*([^;%s]*)'))
    if c ~= '' then t[#t + 1] = c end
  end
  return t
end

return M
