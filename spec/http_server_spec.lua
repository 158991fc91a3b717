-- asio.http's server, driven by curl and by raw requests over loopback: methods, queries,
-- headers, bodies both ways, keep-alive, HTTPS, 100-continue, files and ranges, bad input.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'
local H = require 'spec.support.http'
local run = helpers.run_async

if not H.available() or not H.have('curl') then
  describe("http server", function() pending("no asio/http_parser.so or no curl here") end)
  return
end
local http = require 'asio.http'

local dir = assert(io.popen('mktemp -d /tmp/lasio-http-XXXXXX')):read('*l')
teardown(function() os.execute('rm -rf ' .. dir) end)
local big = {}
for i = 1, 30000 do big[i] = ('%07d\n'):format(i) end
big = table.concat(big)             -- 240,000 bytes
do
  local f = assert(io.open(dir .. '/big.txt', 'wb')); f:write(big); f:close()
  f = assert(io.open(dir .. '/empty.bin', 'wb')); f:close()
end

local routes = {
  ['GET /'] = function() return 200, 'hello\n' end,
  ['GET /users/:id'] = function(req)
    return 200, ('user=%s a=%s b=%s'):format(req.params.id, tostring(req.query.a), tostring(req.query.b))
  end,
  ['/static/*'] = function(req) return 200, 'tail=' .. req.params['*'] end,
  ['POST /echo'] = function(req) return 200, assert(req:body()) end,
  ['PUT /echo'] = function(req) return 201, assert(req:body()) end,
  ['DELETE /things/:id'] = function(req) return 204 end,
  ['GET /headers'] = function(req)
    return 200, table.concat(req:header_values('X-Multi'), '|') .. ' ' .. req.headers['X-MULTI'] .. ' ' .. req.headers.host,
      { ['X-Answer'] = 'yes', ['Set-Cookie'] = { 'a=1', 'b=2' } }
  end,
  ['POST /count'] = function(req)
    -- Streams the upload: counts bytes and pieces without keeping it.
    local n = 0
    while true do
      local piece, err = req:read_chunk()
      assert(not err, err)
      if not piece then break end
      n = n + #piece
    end
    return 200, tostring(n)
  end,
  ['GET /chunked'] = function(req, res)
    res:set_header('Content-Type', 'text/plain')
    for i = 1, 5 do assert(res:write(('line %d\n'):format(i))); asio.sleep(0) end
  end,
  ['GET /file/:name'] = function(req, res) res:send_file(dir .. '/' .. req.params.name) end,
  ['GET /fail'] = function() error('handler failed on purpose') end,
  ['GET /remote'] = function(req) return 200, (req:remote_address()) end,
}

-- Runs fn(port, srv) against a server with these routes; closes the server afterwards.
local function with_server(fn, opts)
  run(function()
    local o = { host = '127.0.0.1', port = 0, routes = routes }
    for k, v in pairs(opts or {}) do o[k] = v end
    local srv = assert(http.server(o))
    local _, port = srv:local_address()
    fn(port, srv)
    srv:close(1, true)
  end, { timeout = 30 })
end

local function url(port, path) return ('http://127.0.0.1:%d%s'):format(port, path) end

describe("http server with curl", function()
  it("answers GET, HEAD, POST, PUT and DELETE", function()
    with_server(function(port)
      assert.equal('hello\n', H.curl(url(port, '/')))
      local head = H.curl('-I ' .. url(port, '/'))
      assert.truthy(head:match('^HTTP/1.1 200 OK'))
      assert.truthy(head:match('Content%-Length: 6'))
      assert.equal('posted data', H.curl("-d 'posted data' " .. url(port, '/echo')))
      assert.equal('put 201', H.curl("-w ' %{http_code}' -X PUT --data-binary put " .. url(port, '/echo')))
      assert.equal('204', H.curl("-o /dev/null -w '%{http_code}' -X DELETE " .. url(port, '/things/7')))
    end)
  end)

  it("decodes paths and query strings and matches parameters and tails", function()
    with_server(function(port)
      assert.equal('user=42 a=x y b=1&2', H.curl("'" .. url(port, '/users/42?a=x+y&b=1%262') .. "'"))
      assert.equal('user=a b a=nil b=nil', H.curl("'" .. url(port, '/users/a%20b') .. "'"))
      assert.equal('tail=x/y/z', H.curl(url(port, '/static/x/y/z')))
      assert.equal('404', H.curl("-o /dev/null -w '%{http_code}' " .. url(port, '/nowhere')))
      local out = H.curl("-i -X POST " .. url(port, '/users/1'))
      assert.equal(405, H.status_of(out))
      assert.truthy(out:match('Allow: GET'))
    end)
  end)

  it("keeps repeated headers, reads any spelling, sends repeated response headers", function()
    with_server(function(port)
      local out = H.curl("-i -H 'X-Multi: one' -H 'x-multi: two' " .. url(port, '/headers'))
      assert.truthy(out:find('one|two one, two 127.0.0.1:' .. port, 1, true), out)
      assert.truthy(out:find('X-Answer: yes', 1, true))
      assert.truthy(out:find('Set-Cookie: a=1\r\nSet-Cookie: b=2', 1, true))
    end)
  end)

  it("takes a chunked upload and sends a chunked download", function()
    with_server(function(port)
      local f = assert(io.open(dir .. '/upload.txt', 'wb')); f:write(big); f:close()
      assert.equal(tostring(#big), H.curl("-H 'Transfer-Encoding: chunked' --data-binary @" .. dir .. '/upload.txt ' .. url(port, '/count')))
      assert.equal(big, H.curl("-H 'Transfer-Encoding: chunked' --data-binary @" .. dir .. '/upload.txt ' .. url(port, '/echo')))
      local out = H.curl('-i ' .. url(port, '/chunked'))
      assert.truthy(out:find('Transfer-Encoding: chunked', 1, true))
      assert.truthy(out:find('line 1\nline 2\nline 3\nline 4\nline 5\n$'))
    end, { limits = { body = 1024 * 1024 } })
  end)

  it("reuses one connection for several URLs (keep-alive)", function()
    with_server(function(port)
      local u = url(port, '/')
      local out = H.curl("--http1.1 -w '[%{num_connects}]' " .. u .. ' ' .. url(port, '/users/5') .. ' ' .. url(port, '/static/q') .. ' ' .. u)
      assert.equal('hello\n[1]user=5 a=nil b=nil[0]tail=q[0]hello\n[0]', out)
    end)
  end)

  it("answers 100-continue before the body", function()
    with_server(function(port)
      local out = H.curl("-v -H 'Expect: 100-continue' --data-binary @" .. dir .. '/big.txt ' .. url(port, '/count'))
      assert.truthy(out:find('HTTP/1.1 100 Continue', 1, true), out)
      assert.truthy(out:find(tostring(#big) .. '$'))
    end)
  end)

  it("sends files with Content-Length and single ranges (206, 416, 200 for several)", function()
    with_server(function(port)
      assert.equal(big, H.curl(url(port, '/file/big.txt')))
      assert.equal('', H.curl(url(port, '/file/empty.bin')))
      local out = H.curl("-i -r 8-15 " .. url(port, '/file/big.txt'))
      assert.equal(206, H.status_of(out))
      assert.truthy(out:find('Content-Range: bytes 8-15/240000', 1, true))
      assert.truthy(out:find('\r\n\r\n0000002\n$'))
      assert.equal(big:sub(-8), H.curl("-r -8 " .. url(port, '/file/big.txt')))
      assert.equal(big:sub(239993), H.curl("-r 239992- " .. url(port, '/file/big.txt')))
      out = H.curl("-i -r 999999-1000000 " .. url(port, '/file/big.txt'))
      assert.equal(416, H.status_of(out))
      assert.truthy(out:find('Content-Range: bytes */240000', 1, true))
      out = H.curl("-r 0-1,5-6 " .. url(port, '/file/big.txt'))
      assert.equal(big, out)
      out = H.curl("-I " .. url(port, '/file/big.txt'))
      assert.truthy(out:find('Content-Length: 240000', 1, true))
      assert.equal(404, H.status_of(H.curl("-i " .. url(port, '/file/missing'))))
    end)
  end)

  it("answers 500 to a failing handler, reports the traceback, and goes on", function()
    local reported
    run(function()
      local srv = assert(http.server { port = 0, routes = routes })
      local _, port = srv:local_address()
      asio.on_error(function(msg) reported = msg end)
      assert.equal('500', H.curl("-o /dev/null -w '%{http_code}' " .. url(port, '/fail')))
      assert.equal('hello\n', H.curl(url(port, '/')))
      assert.truthy(helpers.wait_for(function() return reported end))
      srv:close(1, true)
    end, { timeout = 30 })
    assert.truthy(reported:find('handler failed on purpose', 1, true))
    assert.truthy(reported:find('traceback', 1, true))
  end)

  it("serves HTTPS with a certificate curl verifies", function()
    if not helpers.has_tls() then return pending('no TLS in this build') end
    local certs = require 'spec.support.certs'
    local cert = certs.paths()
    local sctx = certs.contexts()
    with_server(function(port)
      local out = H.curl(("--cacert %s -w ' %%{num_connects}' https://localhost:%d/ https://localhost:%d/users/3"):format(cert, port, port))
      assert.equal('hello\n 1user=3 a=nil b=nil 0', out)
    end, { tls = sctx })
  end)

  it("serves a Unix socket and a connection it is given", function()
    run(function()
      local path = dir .. '/http.sock'
      local srv = assert(http.server { unix = path, routes = routes })
      assert.equal('hello\n', H.curl('--unix-socket ' .. path .. ' http://x/'))
      srv:close(1, true)
      local plain = http.server { routes = routes }
      local holder = assert(asio.server('127.0.0.1', 0, function(conn) plain:serve(conn) end))
      local _, port = holder:local_address()
      assert.equal('user=9 a=nil b=nil', H.curl(url(port, '/users/9')))
      holder:close()
    end, { timeout = 30 })
  end)
end)

describe("http server and bad input", function()
  -- Each case: raw request, expected status; afterwards the server still answers.
  local cases = {
    { 'GARBAGE\r\n\r\n', 400 },
    { 'GET / HTTP/1.1\r\n\r\n', 400 },                                            -- no Host
    { 'GET / HTTP/1.1\r\nHost: a\r\nX-Big: ' .. ('x'):rep(9000) .. '\r\n\r\n', 431 },
    { 'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n', 413 },
    { 'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n' .. ('100000\r\n' .. ('y'):rep(0x100000) .. '\r\n'):rep(2) .. '0\r\n\r\n', 413 },
    { 'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n', 501 },
    { 'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n', 400 },
    { 'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n', 400 },
    { 'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400 },
    { 'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd', 400 },
    { 'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400 },
    { 'GET / HTTP/1.1\r\nHost: a\r\nExpect: something\r\n\r\n', 417 },
    { 'GET / HTTP/3.0\r\nHost: a\r\n\r\n', 400 },
  }
  for i, case in ipairs(cases) do
    it(("answers %d to case %d and keeps serving"):format(case[2], i), function()
      with_server(function(port)
        local out = H.raw(port, case[1])
        assert.equal(case[2], H.status_of(out), out:sub(1, 200))
        assert.truthy(out:find('Connection: close', 1, true))
        assert.equal('hello\n', H.curl(url(port, '/')))
      end)
    end)
  end

  it("answers pipelined requests in order", function()
    with_server(function(port)
      local req = 'GET /users/1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc' ..
        'GET /users/2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'
      local out = H.raw(port, req)
      local bodies = {}
      local at = 1
      for _ = 1, 3 do
        local head_end = assert(out:find('\r\n\r\n', at, true))
        local len = tonumber(out:sub(at, head_end):match('Content%-Length: (%d+)'))
        bodies[#bodies + 1] = out:sub(head_end + 4, head_end + 3 + len)
        at = head_end + 4 + len
      end
      assert.same({ 'user=1 a=nil b=nil', 'abc', 'user=2 a=nil b=nil' }, bodies)
    end)
  end)

  it("cuts a slow-loris header and a trickled body at their timeouts", function()
    with_server(function(port)
      local c = assert(asio.connect('127.0.0.1', port))
      c:settimeout(3)
      for _ = 1, 100 do
        if not c:write('X') then break end
        asio.sleep(0.05)
        if c:read_some() then break end
      end
      local c2 = assert(asio.connect('127.0.0.1', port))
      c2:settimeout(3)
      assert(c2:write('POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n'))
      local out = {}
      for _ = 1, 100 do
        c2:write('y')
        local d = c2:read_some()
        if not d then break end
        out[#out + 1] = d
      end
      assert.equal(408, H.status_of(table.concat(out)))
      c:close(); c2:close()
      assert.equal('hello\n', H.curl(url(port, '/')))
    end, { timeouts = { header = 0.3, body = 0.3 } })
  end)

  it("closes idle keep-alive connections after the idle timeout", function()
    with_server(function(port)
      local c = assert(asio.connect('127.0.0.1', port))
      c:settimeout(3)
      assert(c:write('GET / HTTP/1.1\r\nHost: a\r\n\r\n'))
      local got = {}
      for _ = 1, 100 do
        local d, err = c:read_some()
        if not d then assert.equal('closed', err); break end
        got[#got + 1] = d
      end
      assert.truthy(table.concat(got):find('hello\n$'))
      c:close()
    end, { timeouts = { idle = 0.2 } })
  end)

  it("finishes a request in flight when closed, then stops", function()
    run(function()
      local srv
      srv = assert(http.server { port = 0, routes = {
        ['/slow'] = function() srv:close(2); asio.sleep(0.1); return 200, 'finished' end } })
      local _, port = srv:local_address()
      local c = assert(asio.connect('127.0.0.1', port))
      c:settimeout(3)
      c:write('GET /slow HTTP/1.1\r\nHost: a\r\n\r\n')
      local got = {}
      for _ = 1, 100 do
        local d = c:read_some()
        if not d then break end
        got[#got + 1] = d
      end
      local out = table.concat(got)
      assert.truthy(out:find('Connection: close', 1, true))
      assert.truthy(out:find('finished$'))
      assert.is_nil(asio.connect('127.0.0.1', port))
      c:close()
    end, { timeout = 10 })
  end)

  it("raises for bad options", function()
    assert.has_error(function() http.server() end, "bad argument #1 to 'server' (table expected, got nil)")
    assert.has_error(function() http.server { limits = { header = -1 } } end,
      "bad argument #1 to 'server' (limit 'header' must be a positive number or false)")
    assert.has_error(function() http.server { timeouts = { nap = 1 } } end,
      "bad argument #1 to 'server' (unknown timeout 'nap')")
    assert.has_error(function() http.server { routes = { ['GET users'] = function() end } } end)
  end)
end)
