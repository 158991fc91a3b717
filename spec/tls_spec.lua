-- TLS over loopback: contexts from files and PEM strings, client and server handshakes, peer and
-- host name verification, client certificates, timeouts, plain peers, ALPN, STARTTLS upgrades.
-- Certificates (ECDSA P-256) are made at load time with the openssl command in a temp dir.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'
local run = helpers.run_async

if not helpers.has_tls() then
  describe("TLS", function() pending("no TLS in this build (no asio/tls.so)") end)
  return
end

local dir = assert(io.popen('mktemp -d /tmp/lasio-tls-XXXXXX')):read('*l')

local function sh(cmd)
  local ok = os.execute('cd ' .. dir .. ' && (' .. cmd .. ') >/dev/null 2>&1')
  assert(ok == 0 or ok == true, 'command failed: ' .. cmd)
end

local function key(name) sh('openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ' .. name .. '.key') end

local function ca(name, cn)
  key(name)
  sh(('openssl req -x509 -new -key %s.key -subj "/CN=%s" -days 2 -out %s.crt ' ..
    '-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"'):format(name, cn, name))
end

local function leaf(name, cn, issuer, ext)
  key(name)
  sh(('openssl req -new -key %s.key -subj "/CN=%s" -out %s.csr'):format(name, cn, name))
  sh(('printf "%s\\n" > %s.ext'):format(ext, name))
  sh(('openssl x509 -req -in %s.csr -CA %s.crt -CAkey %s.key -CAcreateserial -days 2 -out %s.crt -extfile %s.ext')
    :format(name, issuer, issuer, name, name))
end

ca('ca', 'LuaAsio test CA')
ca('other', 'Somebody else')
leaf('server', 'localhost', 'ca', 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nextendedKeyUsage=serverAuth')
leaf('client', 'test client', 'ca', 'extendedKeyUsage=clientAuth')
leaf('stranger', 'localhost', 'other', 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nextendedKeyUsage=serverAuth')

local function path(name) return dir .. '/' .. name end
local function slurp(name)
  local f = assert(io.open(path(name), 'rb')); local s = f:read('*a'); f:close(); return s
end

teardown(function() os.execute('rm -rf ' .. dir) end)

local function server_ctx(extra)
  local t = { mode = 'server', cert = path('server.crt'), key = path('server.key') }
  for k, v in pairs(extra or {}) do t[k] = v end
  return assert(asio.tls_context(t))
end

local function client_ctx(extra)
  local t = { mode = 'client', ca = path('ca.crt') }
  for k, v in pairs(extra or {}) do t[k] = v end
  return assert(asio.tls_context(t))
end

-- A TLS echo server (line by line); returns the server and its port.
local function tls_echo(ctx, opts, on_conn)
  opts = opts or {}
  opts.tls = ctx
  return helpers.server(function(c)
    if on_conn then on_conn(c) end
    while true do
      local line = c:read_line()
      if not line then break end
      if not c:write(line .. '\n') then break end
    end
    c:close()
  end, opts)
end

describe("tls contexts", function()
  it("load certificates and keys from files and from PEM strings", function()
    assert.equal('asio.tls_context', getmetatable(server_ctx()).__name)
    assert(asio.tls_context { mode = 'server', cert = slurp('server.crt'), key = slurp('server.key') })
    assert(asio.tls_context { ca = slurp('ca.crt') })
  end)

  it("return nil, err for files that cannot be used", function()
    local v, err = asio.tls_context { mode = 'server', cert = path('missing.crt'), key = path('server.key') }
    assert.is_nil(v); assert.equal('invalid certificate', err)
    v, err = asio.tls_context { mode = 'server', cert = path('server.crt'), key = path('missing.key') }
    assert.is_nil(v); assert.equal('invalid key', err)
    v, err = asio.tls_context { mode = 'server', cert = path('server.crt'), key = path('client.key') }
    assert.is_nil(v); assert.equal('key does not match certificate', err)
    v, err = asio.tls_context { ca = path('missing.crt') }
    assert.is_nil(v); assert.equal('invalid ca', err)
  end)

  it("raise for bad settings", function()
    assert.has_error(function() asio.tls_context() end)
    assert.has_error(function() asio.tls_context { mode = 'both' } end)
    assert.has_error(function() asio.tls_context { mode = 'server' } end, "tls_context: a server needs cert and key")
    assert.has_error(function() asio.tls_context { verify = 'yes' } end)
    assert.has_error(function() asio.tls_context { alpn = { '' } } end)
    run(function()
      local cctx = client_ctx()
      assert.has_error(function() asio.server('127.0.0.1', 0, function() end, { tls = cctx }) end,
        "bad argument #4 to 'server' (option 'tls' must be a server context)")
      assert.has_error(function() asio.connect('127.0.0.1', 1, { tls = server_ctx() }) end,
        "bad argument #3 to 'connect' (option 'tls' must be a client context)")
      assert.has_error(function() asio.connect('127.0.0.1', 1, { tls = 'yes' }) end)
      -- An empty name would verify the certificate without checking whom it names.
      assert.has_error(function() asio.connect('127.0.0.1', 1, { tls = cctx, server_name = '' }) end,
        "bad argument #3 to 'connect' (option 'server_name' must not be empty)")
      assert.has_error(function() asio.unix_connect('/nonexistent', { tls = cctx, server_name = '' }) end,
        "bad argument #2 to 'unix_connect' (option 'server_name' must not be empty)")
      assert.has_error(function() asio.connect('127.0.0.1', 1, { tls = cctx, server_name = 'a\0b' }) end,
        "bad argument #3 to 'connect' (option 'server_name' must not contain a zero byte)")
    end)
    assert.has_error(function() asio.tls_context { mode = 'server', cert = path('server.crt') .. '\0x', key = path('server.key') } end,
      "bad argument #1 to 'tls_context' (option 'cert' must not contain a zero byte)")
  end)
end)

describe("tls connections", function()
  it("handshake, verify the server and echo with the connection API", function()
    run(function()
      local seen
      local s, port = tls_echo(server_ctx(), nil, function(c) seen = c:tls_info() end)
      local c = assert(asio.connect('localhost', port, { tls = client_ctx(), timeout = 5 }))
      c:settimeout(5)
      assert(c:write { 'hello ', 'tls\n', 'second line\n' })
      assert.equal('hello tls', c:read_line())
      assert.equal('second', c:read_until(' '))
      assert.equal('line', c:read_line())
      local info = c:tls_info()
      assert.is_table(info)
      assert.truthy(info.version:find('TLS', 1, true))
      assert.is_true(info.peer_verified)
      assert.truthy(info.peer_subject:find('localhost', 1, true))
      assert.equal('localhost', seen.server_name) -- SNI reached the server
      c:close(); s:close()
    end)
  end)

  it("verify an IP literal against the certificate's addresses (no SNI)", function()
    run(function()
      local s, port = tls_echo(server_ctx())
      local c = assert(asio.connect('127.0.0.1', port, { tls = client_ctx() }))
      c:settimeout(5)
      c:write('x\n'); assert.equal('x', c:read_line())
      c:close(); s:close()
    end)
  end)

  it("move a megabyte each way, through full socket buffers", function()
    run(function()
      local payload = string.rep('abcdefghij', 100000)
      local s, port = helpers.server(function(c)
        local got = assert(c:read(#payload))
        assert(c:write(got))
        c:read(1); c:close()
      end, { tls = server_ctx() })
      local c = assert(asio.connect('localhost', port, { tls = client_ctx() }))
      c:settimeout(10)
      local writer = asio.spawn_light_thread(function() return c:write(payload) end)
      local back = assert(c:read(#payload))
      assert.is_true(back == payload)
      assert.is_true(select(2, writer:join()))
      c:write('x'); c:close(); s:close()
    end, { timeout = 20 })
  end)

  it("fail with 'certificate verify failed' for a wrong host name", function()
    run(function()
      local s, port = tls_echo(server_ctx())
      local c, err, detail = asio.connect('127.0.0.1', port, { tls = client_ctx(), server_name = 'wrong.example' })
      assert.is_nil(c)
      assert.equal('certificate verify failed', err)
      assert.equal('hostname mismatch', detail)
      s:close()
    end)
  end)

  it("fail with 'certificate verify failed' for an untrusted certificate, unless verify = false", function()
    run(function()
      local sctx = server_ctx { cert = path('stranger.crt'), key = path('stranger.key') }
      local s, port = tls_echo(sctx)
      local c, err, detail = asio.connect('localhost', port, { tls = client_ctx() })
      assert.is_nil(c)
      assert.equal('certificate verify failed', err)
      assert.is_string(detail)
      -- turning verification off is explicit, and then the same server is accepted
      c = assert(asio.connect('localhost', port, { tls = asio.tls_context { verify = false } }))
      c:settimeout(5)
      c:write('ok\n'); assert.equal('ok', c:read_line())
      assert.is_false(c:tls_info().peer_verified)
      c:close(); s:close()
    end)
  end)

  it("require a client certificate when the server verifies: missing fails, present passes", function()
    run(function()
      local handled = 0
      local subject
      local sctx = server_ctx { verify = true, ca = path('ca.crt') }
      local s, port = tls_echo(sctx, nil, function(c) handled = handled + 1; subject = c:tls_info().peer_subject end)
      -- Without a certificate: TLS 1.3 lets the client finish first, so the refusal may come
      -- with the handshake or with the first read; either way the handler never sees it.
      local c, err = asio.connect('localhost', port, { tls = client_ctx() })
      if c then
        c:settimeout(5)
        c:write('hello\n')
        local v
        v, err = c:read_line()
        assert.is_nil(v)
        c:close()
      end
      assert.is_truthy(({ ['handshake failed'] = true, ['certificate required'] = true, closed = true })[err], err)
      local with = client_ctx { cert = path('client.crt'), key = path('client.key') }
      c = assert(asio.connect('localhost', port, { tls = with }))
      c:settimeout(5)
      c:write('me\n'); assert.equal('me', c:read_line())
      c:close(); s:close()
      assert.equal(1, handled)
      assert.truthy(subject:find('test client', 1, true))
    end)
  end)

  it("time out a handshake the peer never answers, and close the connection", function()
    run(function()
      local peer_saw
      local s, port = helpers.server(function(c)
        c:settimeout(5)
        local v, err = c:read(100000) -- the ClientHello arrives, nothing is answered
        peer_saw = err
        c:close()
      end)
      local t0 = asio.now()
      local c, err = asio.connect('127.0.0.1', port, { tls = client_ctx(), timeout = 0.2 })
      assert.is_nil(c); assert.equal('timeout', err)
      assert.is_true(asio.now() - t0 < 4)
      while peer_saw == nil do asio.sleep(0.01) end
      assert.equal('closed', peer_saw)
      s:close()
    end)
  end)

  it("after a failed write, fail every later write and tls_shutdown at once", function()
    run(function()
      local s, port = helpers.server(function(c)
        asio.sleep(0.2)
        c:setoption('linger', 0) -- the client's big write then meets a reset
        c:close()
      end, { tls = server_ctx() })
      local c = assert(asio.connect('localhost', port, { tls = client_ctx() }))
      c:settimeout(5)
      local ok, err = c:write(string.rep('x', 32 * 1024 * 1024))
      assert.is_nil(ok)
      assert.is_string(err)
      assert.same({ nil, err }, { c:write('x') })
      assert.same({ nil, err }, { c:tls_shutdown(1) })
      c:close()
      s:close()
    end)
  end)

  it("a corrupt record fails the read and every later write with 'tls error'", function()
    run(function()
      local handshaken = false -- set by the client once its handshake is done
      local s, sport = helpers.server(function(c)
        for _ = 1, 500 do
          if handshaken then break end
          asio.sleep(0.01)
        end
        c:write('hello')
        asio.sleep(1)
        c:close()
      end, { tls = server_ctx() })
      -- A relay that flips a byte in everything the server sends after the client's handshake.
      local proxy, pport = helpers.server(function(down)
        local up = assert(asio.connect('127.0.0.1', sport))
        asio.spawn_light_thread(function()
          while true do
            local d = down:read_some()
            if not d or not up:write(d) then up:close() return end
          end
        end)
        while true do
          local d = up:read_some()
          if not d then down:close() return end
          if handshaken and #d > 10 then
            d = d:sub(1, 8) .. string.char((d:byte(9) + 1) % 256) .. d:sub(10)
          end
          if not down:write(d) then up:close() return end
        end
      end)
      local c = assert(asio.connect('localhost', pport, { tls = client_ctx() }))
      handshaken = true
      c:settimeout(5)
      local data, err = c:read_some()
      assert.is_nil(data)
      assert.equal('tls error', err)
      assert.same({ nil, 'tls error' }, { c:write('x') })
      assert.same({ nil, 'tls error' }, { c:write('y') })
      c:close()
      proxy:close()
      s:close()
    end)
  end)

  it("time out a STARTTLS handshake by the connection's connect timeout", function()
    run(function()
      local s, port = helpers.server(function(c)
        c:settimeout(5)
        c:read(100000) -- the ClientHello arrives, nothing is answered
        c:close()
      end)
      local c = assert(asio.connect('127.0.0.1', port))
      c:settimeouts(0.2, nil, nil)
      local t0 = asio.now()
      assert.same({ nil, 'timeout' }, { c:tls_handshake(client_ctx(), { server_name = 'localhost' }) })
      assert.is_true(asio.now() - t0 < 4)
      s:close()
    end)
  end)

  it("close a plain TCP peer that talks to a TLS server; the handler never sees it", function()
    run(function()
      local handled = false
      local s, port = helpers.server(function(c) handled = true; c:close() end,
        { tls = server_ctx(), handshake_timeout = 0.2 })
      local c = assert(asio.connect('127.0.0.1', port))
      c:settimeout(5)
      assert(c:write('GET / HTTP/1.0\r\n\r\n'))
      local v, err
      repeat v, err = c:read_some() until not v -- perhaps an alert first, then the end
      assert.equal('closed', err)
      c:close()
      -- a silent plain peer is dropped after handshake_timeout
      c = assert(asio.connect('127.0.0.1', port))
      c:settimeout(5)
      local t0 = asio.now()
      v, err = c:read_some()
      assert.is_nil(v); assert.equal('closed', err)
      assert.is_true(asio.now() - t0 < 4)
      c:close(); s:close()
      assert.is_false(handled)
    end)
  end)

  it("report the negotiated ALPN protocol on both sides", function()
    run(function()
      local server_alpn = 'none'
      local s, port = tls_echo(server_ctx { alpn = { 'h2', 'http/1.1' } }, nil,
        function(c) server_alpn = c:tls_info().alpn end)
      local c = assert(asio.connect('localhost', port, { tls = client_ctx { alpn = { 'http/1.1', 'spdy/1' } } }))
      c:settimeout(5)
      assert.equal('http/1.1', c:tls_info().alpn)
      c:write('x\n'); assert.equal('x', c:read_line())
      assert.equal('http/1.1', server_alpn)
      c:close()
      c = assert(asio.connect('localhost', port, { tls = client_ctx { alpn = { 'imap' } } }))
      c:settimeout(5)
      assert.is_nil(c:tls_info().alpn)
      c:write('y\n'); assert.equal('y', c:read_line())
      c:close(); s:close()
    end)
  end)

  it("time out a read without losing the session, and wake a reader on close", function()
    run(function()
      local s, port = helpers.server(function(c)
        asio.sleep(0.2); c:write('late\n'); c:read(1); c:close()
      end, { tls = server_ctx() })
      local c = assert(asio.connect('localhost', port, { tls = client_ctx() }))
      c:settimeout(0.05)
      local v, err = c:read_line()
      assert.is_nil(v); assert.equal('timeout', err)
      c:settimeout(5)
      assert.equal('late', c:read_line())
      local reader = asio.spawn_light_thread(function() return c:read(1) end)
      asio.sleep(0.01)
      c:close()
      local ok, r, e = reader:join()
      assert.is_true(ok); assert.is_nil(r); assert.equal('closed', e)
      s:close()
    end)
  end)

  it("a killed connecting thread and a collected TLS server leave nothing behind", function()
    run(function()
      local s, port = helpers.server(function(c) c:settimeout(5); c:read(1e6); c:close() end) -- never answers TLS
      local th = asio.spawn_light_thread(function()
        return asio.connect('127.0.0.1', port, { tls = client_ctx() })
      end)
      asio.sleep(0.05)
      th:kill()
      assert.same({ false, 'killed' }, { th:join() })
      s:close()
      local _ = helpers.server(function() end, { tls = server_ctx() })
      _ = nil
      collectgarbage(); collectgarbage()
    end)
  end)

  it("tls_shutdown exchanges close_notify; the reader sees 'closed'", function()
    run(function()
      local server_result
      local s, port = helpers.server(function(c)
        c:settimeout(5)
        local line = c:read_line()
        c:write(line .. '\n')
        server_result = { c:tls_shutdown() }
        c:close()
      end, { tls = server_ctx() })
      local c = assert(asio.connect('localhost', port, { tls = client_ctx() }))
      c:settimeout(5)
      c:write('bye\n')
      assert.equal('bye', c:read_line())
      assert.same({ nil, 'closed' }, { c:read(1) }) -- the close_notify ends the stream
      assert.is_true(c:tls_shutdown()) -- and ours answers it
      c:close()
      while not server_result do asio.sleep(0.01) end
      assert.same({ true }, server_result)
      s:close()
    end)
  end)

  it("tls_shutdown times out when the peer neither answers nor closes", function()
    run(function()
      local release = false
      local s, port = helpers.server(function(c)
        c:settimeout(5)
        while not release do asio.sleep(0.01) end -- reads nothing, so never answers close_notify
        c:close()
      end, { tls = server_ctx() })
      local c = assert(asio.connect('localhost', port, { tls = client_ctx() }))
      local ok, err = c:tls_shutdown(0.1)
      assert.is_nil(ok); assert.equal('timeout', err)
      assert.same({ nil, 'closed' }, { c:read(1) })
      release = true
      c:close(); s:close()
      local plain, pport = helpers.server(function(pc) pc:close() end)
      local pc = assert(asio.connect('127.0.0.1', pport))
      assert.has_error(function() pc:tls_shutdown() end, "tls_shutdown: the connection does not use TLS")
      pc:close(); plain:close()
    end)
  end)

  it("serve TLS over a Unix socket", function()
    run(function()
      local p = path('tls.sock')
      local s = assert(asio.unix_server(p, function(c) c:write('over unix\n'); c:read(1); c:close() end,
        { tls = server_ctx() }))
      local c = assert(asio.unix_connect(p, { tls = client_ctx(), server_name = 'localhost' }))
      c:settimeout(5)
      assert.equal('over unix', c:read_line())
      c:write('x'); c:close(); s:close()
      assert.has_error(function() asio.unix_connect(p, { tls = client_ctx() }) end,
        "unix_connect: option 'server_name' is needed with 'tls'")
    end)
  end)
end)

describe("lua_close", function()
  it("releases TLS handshakes, TLS reads, UDP receivers and resolutions still in flight", function()
    local script = path('lua_close.lua')
    local f = assert(io.open(script, 'w'))
    f:write([[
local asio = require 'asio'
local dir = ...
local sctx = asio.tls_context { mode = 'server', cert = dir .. '/server.crt', key = dir .. '/server.key' }
local cctx = asio.tls_context { ca = dir .. '/ca.crt' }
asio.spawn_light_thread(function()
  local s = asio.server('127.0.0.1', 0, function(c) c:read(1) end, { tls = sctx })
  local _, port = s:local_address()
  local plain = asio.server('127.0.0.1', 0, function(c) c:read(1e6) end)
  local _, pport = plain:local_address()
  asio.spawn_light_thread(function() asio.connect('127.0.0.1', pport, { tls = cctx }) end)
  asio.spawn_light_thread(function() local r = asio.connect('127.0.0.1', port); r:read(1) end)
  asio.spawn_light_thread(function() local c = asio.connect('localhost', port, { tls = cctx }); c:read(1) end)
  asio.spawn_light_thread(function() asio.resolve('localhost') end)
  local u = asio.udp('127.0.0.1', 0)
  asio.spawn_light_thread(function() u:recvfrom() end)
  asio.spawn_light_thread(function() local c = asio.connect('127.0.0.1', pport); c:tls_handshake(cctx) end)
  asio.unix_server(dir .. '/lc.sock', function(c) c:read(1) end, { tls = sctx })
  asio.spawn_light_thread(function() local c = asio.unix_connect(dir .. '/lc.sock'); c:read(1) end)
  asio.sleep(0.2)
  io.stdout:write('live ', asio._stats().sockets, ' ', asio._stats().pending, '\n')
  asio.stop()
end)
asio.run()
]])
    f:close()
    local p = io.popen('luajit ' .. script .. ' ' .. dir .. ' 2>&1; echo "rc=$?"')
    local out = p:read('*a'); p:close()
    assert.truthy(out:find('rc=0', 1, true), out)
    assert.truthy(out:find('live %d+ %d+'), out)
    assert.is_nil(out:find('AddressSanitizer', 1, true), out)
    local gone = os.execute('test -e ' .. dir .. '/lc.sock')
    assert.is_true(gone ~= 0 and gone ~= true) -- the Unix socket file went with the state
  end)
end)

describe("STARTTLS (conn:tls_handshake)", function()
  -- A line protocol: "STARTTLS" is answered "OK" (plus `extra`), then TLS, then echo.
  local function starttls_server(extra)
    return helpers.server(function(c)
      c:settimeout(5)
      assert.equal('STARTTLS', c:read_line())
      c:write('OK\n' .. (extra or ''))
      local ok, err = c:tls_handshake(server_ctx())
      if ok then
        assert.is_table(c:tls_info())
        local line = c:read_line()
        if line then c:write('secure ' .. line .. '\n') end
      end
      c:close()
    end)
  end

  it("upgrades a plain connection in place", function()
    run(function()
      local s, port = starttls_server()
      local c = assert(asio.connect('127.0.0.1', port))
      c:settimeout(5)
      assert.is_nil(c:tls_info())
      c:write('STARTTLS\n')
      assert.equal('OK', c:read_line())
      assert.is_true(c:tls_handshake(client_ctx(), { server_name = 'localhost', timeout = 5 }))
      assert.is_table(c:tls_info())
      c:write('hello\n')
      assert.equal('secure hello', c:read_line())
      assert.has_error(function() c:tls_handshake(client_ctx()) end, "tls_handshake: the connection already uses TLS")
      local plain = assert(asio.connect('127.0.0.1', port))
      assert.has_error(function() plain:tls_handshake(client_ctx(), { server_name = '' }) end)
      plain:close()
      c:close(); s:close()
    end)
  end)

  it("refuses while clear text is still buffered", function()
    run(function()
      local s, port = starttls_server('EXTRA')
      local c = assert(asio.connect('127.0.0.1', port))
      c:settimeout(5)
      c:write('STARTTLS\n')
      assert.equal('OK', c:read_line())
      asio.sleep(0.05)
      assert.equal('E', c:read(1)) -- "XTRA" is now buffered
      local ok, err = c:tls_handshake(client_ctx(), { server_name = 'localhost' })
      assert.is_nil(ok); assert.equal('clear text still buffered', err)
      c:close(); s:close()
    end)
  end)

  it("verifies the peer's IP when no server_name is given, and times out a silent peer", function()
    run(function()
      local s, port = starttls_server()
      local c = assert(asio.connect('127.0.0.1', port))
      c:settimeout(5)
      c:write('STARTTLS\n'); assert.equal('OK', c:read_line())
      assert.is_true(c:tls_handshake(client_ctx()))
      c:close(); s:close()
      local silent, sport = helpers.server(function(conn) conn:settimeout(5); conn:read(1e6); conn:close() end)
      c = assert(asio.connect('127.0.0.1', sport))
      local ok, err = c:tls_handshake(client_ctx(), { timeout = 0.1 })
      assert.is_nil(ok); assert.equal('timeout', err)
      assert.same({ nil, 'closed' }, { c:read(1) }) -- a cut handshake ends the connection
      c:close(); silent:close()
    end)
  end)

  it("refuses reads and writes from other light threads during the handshake", function()
    run(function()
      local silent, port = helpers.server(function(conn) conn:settimeout(5); conn:read(1e6); conn:close() end)
      local c = assert(asio.connect('127.0.0.1', port))
      local th = asio.spawn_light_thread(function() return c:tls_handshake(client_ctx(), { timeout = 2 }) end)
      asio.sleep(0.02)
      assert.has_error(function() c:read(1) end, "read: a TLS handshake or shutdown is in progress on this connection")
      assert.has_error(function() c:write('x') end, "write: a TLS handshake or shutdown is in progress on this connection")
      c:close()
      local ok, v, err = th:join()
      assert.is_true(ok); assert.is_nil(v); assert.equal('closed', err)
      silent:close()
    end)
  end)
end)
