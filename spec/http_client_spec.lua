-- asio.http's client: against nginx on a loopback port (static files of several sizes, chunked
-- responses through a proxy, redirects, keep-alive, TLS) and against the module's own server.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'
local H = require 'spec.support.http'
local run = helpers.run_async

if not H.available() then
  describe("http client", function() pending("no asio/http_parser.so in this build") end)
  return
end
local http = require 'asio.http'

-- Every test leaves the pool empty, so that no socket outlives it.
local function run_client(fn, opts)
  run(function()
    fn()
    http.close_idle()
  end, opts or { timeout = 20 })
end

local function sized(n)
  local t, i = {}, 0
  while #t * 16 < n do i = i + 1; t[#t + 1] = ('%015d\n'):format(i) end
  return table.concat(t):sub(1, n)
end

describe("http client against its own server", function()
  local routes = {
    ['GET /hello'] = function() return 200, 'hello' end,
    ['POST /echo'] = function(req) return 200, assert(req:body()), { ['X-Method'] = req.method } end,
    ['/redirect/:n'] = function(req, res)
      local n = tonumber(req.params.n)
      if n == 0 then return 200, req.method .. ' ' .. (req:body() or '') end
      res:set_header('Location', '/redirect/' .. (n - 1))
      return tonumber(req.query.code) or 302, ''
    end,
    ['GET /chunks'] = function(_, res) for i = 1, 10 do res:write(('%d,'):format(i)) end end,
    ['GET /big'] = function() return 200, sized(100000) end,
    ['GET /headers'] = function(req) return 200, req.headers['x-a'] or '-', { ['Set-Cookie'] = { 'a=1', 'b=2' } } end,
    ['GET /slow'] = function() asio.sleep(1); return 200, 'late' end,
  }

  local function with_server(fn)
    run_client(function()
      local srv = assert(http.server { port = 0, routes = routes })
      local _, port = srv:local_address()
      fn('http://127.0.0.1:' .. port)
      http.close_idle()
      srv:close(1, true)
    end)
  end

  it("gets, posts and reads headers case-insensitively", function()
    with_server(function(base)
      local res = assert(http.get(base .. '/hello'))
      assert.equal(200, res.status); assert.equal('OK', res.reason); assert.equal('hello', res.body)
      assert.equal('5', res.headers['Content-Length'])
      res = assert(http.request { method = 'POST', url = base .. '/echo', body = 'abc' })
      assert.equal('abc', res.body); assert.equal('POST', res.headers['x-method'])
      res = assert(http.request { method = 'POST', url = base .. '/echo',
        body = coroutine.wrap(function() for i = 1, 5 do coroutine.yield('p' .. i) end end) })
      assert.equal('p1p2p3p4p5', res.body)
      res = assert(http.get(base .. '/headers', { headers = { ['X-A'] = 'given' } }))
      assert.equal('given', res.body)
      assert.same({ 'a=1', 'b=2' }, res:header_values('set-cookie'))
      res = assert(http.request { method = 'HEAD', url = base .. '/hello' })
      assert.equal('', res.body); assert.equal('5', res.headers['content-length'])
    end)
  end)

  it("reads chunked and streamed bodies, and refuses one over max_body", function()
    with_server(function(base)
      assert.equal('1,2,3,4,5,6,7,8,9,10,', assert(http.get(base .. '/chunks')).body)
      local res = assert(http.request { url = base .. '/big', stream = true })
      local n, pieces = 0, 0
      while true do
        local piece, err = res:read_chunk()
        assert.is_nil(err)
        if not piece then break end
        n, pieces = n + #piece, pieces + 1
      end
      assert.equal(100000, n)
      local v, err = http.get(base .. '/big', { max_body = 1000 })
      assert.is_nil(v); assert.equal('too long', err)
      v, err = http.get(base .. '/chunks', { max_body = 5 })
      assert.is_nil(v); assert.equal('too long', err)
    end)
  end)

  it("follows redirects only when asked, and keeps the method for 307", function()
    with_server(function(base)
      local res = assert(http.get(base .. '/redirect/2'))
      assert.equal(302, res.status); assert.equal('/redirect/1', res.headers.location)
      res = assert(http.get(base .. '/redirect/2', { redirects = 5 }))
      assert.equal(200, res.status); assert.equal('GET ', res.body)
      local v, err = http.get(base .. '/redirect/9', { redirects = 3 })
      assert.is_nil(v); assert.equal('too many redirects', err)
      res = assert(http.request { method = 'POST', url = base .. '/redirect/1?code=307', body = 'kept', redirects = 1 })
      assert.equal('POST kept', res.body)
      res = assert(http.request { method = 'POST', url = base .. '/redirect/1?code=303', body = 'dropped', redirects = 1 })
      assert.equal('GET ', res.body)
    end)
  end)

  it("reuses pooled connections and replaces ones the server closed", function()
    run_client(function()
      local accepted = 0
      local srv = http.server { routes = routes }
      local holder = assert(asio.server('127.0.0.1', 0, function(conn) accepted = accepted + 1; srv:serve(conn) end))
      local _, port = holder:local_address()
      local base = 'http://127.0.0.1:' .. port
      for _ = 1, 5 do assert.equal('hello', assert(http.get(base .. '/hello')).body) end
      assert.equal(1, accepted)
      -- The server ends its idle connections: the next request notices and connects again.
      srv:close(0.5, true)
      srv.closing = false
      assert.equal('hello', assert(http.get(base .. '/hello')).body)
      assert.equal(2, accepted)
      http.close_idle()
      srv:close(0.5, true)
      holder:close()
    end)
  end)

  it("returns nil, err for timeouts, refused connections and bad URLs", function()
    with_server(function(base)
      local v, err = http.get(base .. '/slow', { timeout = 0.2 })
      assert.is_nil(v); assert.equal('timeout', err)
      v, err = http.get('http://127.0.0.1:' .. H.free_port() .. '/')
      assert.is_nil(v); assert.equal('connection refused', err)
      v, err = http.get('ftp://example.com/')
      assert.is_nil(v); assert.equal('invalid url', err)
    end)
    assert.has_error(function() http.request() end, "bad argument #1 to 'request' (table expected, got nil)")
    assert.has_error(function() http.request { url = 'http://a/', body = 5 } end,
      "bad argument #1 to 'request' (option 'body' must be a string or a function)")
    assert.has_error(function() http.request { url = 'http://a/', headers = { ['X'] = 'a\r\nb' } } end)
  end)

  it("verifies HTTPS servers: a trusted CA passes, the system CAs refuse a test certificate", function()
    if not helpers.has_tls() then return pending('no TLS in this build') end
    local certs = require 'spec.support.certs'
    local cert = certs.paths()
    local sctx = certs.contexts()
    run_client(function()
      local srv = assert(http.server { port = 0, tls = sctx, routes = routes })
      local _, port = srv:local_address()
      local ctx = assert(asio.tls_context { mode = 'client', ca = cert })
      local res = assert(http.get('https://localhost:' .. port .. '/hello', { tls = ctx }))
      assert.equal('hello', res.body)
      local v, err = http.get('https://localhost:' .. port .. '/hello')
      assert.is_nil(v); assert.equal('certificate verify failed', err)
      v, err = http.get('https://127.0.0.2:' .. port .. '/hello', { tls = ctx })
      if v == nil and err ~= 'connection refused' then assert.equal('certificate verify failed', err) end
      http.close_idle()
      srv:close(1, true)
    end)
  end)
end)

describe("http client against nginx", function()
  if not H.have('nginx') then
    pending("nginx is not installed")
    return
  end
  local files = { ['empty.txt'] = '', ['small.txt'] = 'small file\n', ['mid.bin'] = sized(70000),
    ['large.bin'] = sized(3 * 1024 * 1024) }
  local backend_port, tls_port, port, stop
  local have_tls = helpers.has_tls()
  setup(function()
    port, backend_port, tls_port = H.free_port(), H.free_port(), H.free_port()
    local cert, key = require('spec.support.certs').paths()
    local tls_block = ''
    if have_tls then
      tls_block = ('server { listen 127.0.0.1:%d ssl; ssl_certificate %s; ssl_certificate_key %s; root DIR/www; }')
        :format(tls_port, cert, key)
    end
    _, stop = H.nginx(([[
  server {
    listen 127.0.0.1:%d;
    root DIR/www;
    location = /moved { return 301 /small.txt; }
    location = /found { return 302 http://127.0.0.1:%d/moved; }
    location /up/ { proxy_pass http://127.0.0.1:%d/; proxy_http_version 1.1; proxy_buffering off; }
  }
  %s
]]):format(port, port, backend_port, tls_block), files)
  end)
  teardown(function() if stop then stop() end end)

  it("fetches static files of several sizes over one kept-alive connection", function()
    run_client(function()
      local base = 'http://127.0.0.1:' .. port
      for _, name in ipairs { 'empty.txt', 'small.txt', 'mid.bin', 'large.bin', 'small.txt' } do
        local res = assert(http.get(base .. '/' .. name))
        assert.equal(200, res.status)
        assert.equal(#files[name], #res.body)
        assert.equal(files[name], res.body)
      end
      local res = assert(http.get(base .. '/nothing-here'))
      assert.equal(404, res.status)
    end)
  end)

  it("follows nginx's redirects", function()
    run_client(function()
      local res = assert(http.get('http://127.0.0.1:' .. port .. '/found', { redirects = 2 }))
      assert.equal(200, res.status); assert.equal('small file\n', res.body)
    end)
  end)

  it("reads a chunked response that nginx relays from a streaming backend", function()
    run_client(function()
      local backend = assert(asio.server('127.0.0.1', backend_port, function(conn)
        http.server { routes = { ['/stream'] = function(_, res)
          for i = 1, 20 do res:write(('piece %d\n'):format(i)); asio.sleep(0.001) end
        end } }:serve(conn)
      end))
      local res = assert(http.request { url = 'http://127.0.0.1:' .. port .. '/up/stream', stream = true })
      assert.equal('chunked', res.headers['transfer-encoding'])
      local got = {}
      while true do
        local piece = res:read_chunk()
        if not piece then break end
        got[#got + 1] = piece
      end
      local want = {}
      for i = 1, 20 do want[i] = ('piece %d\n'):format(i) end
      assert.equal(table.concat(want), table.concat(got))
      http.close_idle()
      backend:close()
    end)
  end)

  it("verifies nginx's certificate with the test CA, and fails without it", function()
    if not have_tls then return pending('no TLS in this build') end
    run_client(function()
      local cert = require('spec.support.certs').paths()
      local ctx = assert(asio.tls_context { mode = 'client', ca = cert })
      local res = assert(http.get('https://localhost:' .. tls_port .. '/small.txt', { tls = ctx }))
      assert.equal('small file\n', res.body)
      local v, err = http.get('https://localhost:' .. tls_port .. '/small.txt')
      assert.is_nil(v); assert.equal('certificate verify failed', err)
    end)
  end)
end)
