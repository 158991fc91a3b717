-- asio.ws over loopback: the server (req:upgrade) with Python's websockets as its client, the
-- client (http.websocket) against Python's websockets server, both over TLS with a test CA, bad
-- input answered with the right close code (raw frames), argument errors and lifetimes.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'
local H = require 'spec.support.http'
local certs = require 'spec.support.certs'
local run = helpers.run_async

if not H.available() or not pcall(require, 'asio.ws') then
  describe("asio.ws", function() pending("no asio/websocket.so here") end)
  return
end
local http = require 'asio.http'
local bit = require 'bit'

local here = debug.getinfo(1, 'S').source:match('^@(.*)/[^/]*$') or 'spec'
local peer = here .. '/websocket_peer.py'
local python = '/usr/bin/python3'
local has_python = helpers.has_daemon() and
  (os.execute(python .. ' -c "import websockets" >/dev/null 2>&1') == 0)

-- Runs the Python peer as a client to completion: its output lines.
local function python_client(url, scenario, cafile)
  local cmd = { 'env', '-u', 'LD_PRELOAD', python, peer, 'client', url, scenario, cafile }
  local out, err = asio.run_command(cmd, { timeout = 60 })
  assert(out, err)
  return out
end

-- Starts the Python peer as a server: its port and a stop function.
local function python_server(cert, key)
  local p = assert(asio.spawn_process { 'env', '-u', 'LD_PRELOAD', python, peer, 'server', cert, key,
    stdin = 'pipe', stdout = 'pipe' })
  p.stdout:settimeout(30)
  local line = assert(p.stdout:read_line())
  local port = assert(tonumber(line), 'python server said: ' .. tostring(line))
  return port, function()
    p.stdin:close()
    p.stdout:close()
    if not p:wait(10) then
      p:kill('KILL')
      p:wait(10)
    end
  end
end

-- Runs fn(port, srv, seen) against a server whose /ws route upgrades and runs handler(ws, req);
-- seen collects what the handlers report.
local function with_server(handler, fn, opts)
  run(function()
    local seen = {}
    local o = { host = '127.0.0.1', port = 0, tls = opts and opts.tls, routes = {
      ['GET /ws'] = function(req)
        local ws, err = req:upgrade(opts and opts.upgrade or { protocols = { 'a' } })
        if not ws then
          seen.refused = err
          return
        end
        handler(ws, seen, req)
      end,
      ['GET /'] = function() return 200, 'plain\n' end,
    } }
    local srv = assert(http.server(o))
    local _, port = srv:local_address()
    fn(port, seen, srv)
    srv:close(1, true)
  end, { timeout = (opts and opts.timeout) or 30 })
end

local function echo(ws, seen)
  while true do
    local msg, kind, code, reason = ws:receive()
    if not msg then
      seen.closed = { kind, code, reason }
      return
    end
    assert(ws:send(msg, kind))
  end
end

-- A handler that sends msg once the test has set seen[flag], then waits for the close.
local function sends_once(flag, msg)
  return function(ws, seen)
    assert.is_true(helpers.wait_for(function() return seen[flag] end))
    assert(ws:send(msg))
    ws:receive(10)
  end
end

local function lines(out)
  local t = {}
  for l in out:gmatch('[^\n]+') do t[#t + 1] = l end
  return t
end

describe("req:upgrade with Python's websockets as the client", function()
  if not has_python then return pending("no python3-websockets (or no child processes in this build)") end

  it("echoes text, binary, empty, 16 MiB and fragmented messages, answers pings, reports the client's close", function()
    with_server(echo, function(port, seen)
      local out = python_client(('ws://127.0.0.1:%d/ws'):format(port), 'echo')
      assert.same({ 'protocol a', 'text True', 'binary True', 'empty True', 'empty binary True', 'big True',
        'fragmented True', 'pong True', 'closed 4002 ' }, lines(out))
      assert.same({ 'closed', 4002, 'bye' }, helpers.wait_for(function() return seen.closed end))
    end, { timeout = 60 })
  end)

  it("closes with its own code and reason", function()
    with_server(function(ws, seen)
      assert.equal('close me', ws:receive(10))
      assert.is_true(ws:close(4003, 'done'))
      local msg, err, code = ws:receive()
      seen.after = { msg, err, code }
    end, function(port, seen)
      local out = python_client(('ws://127.0.0.1:%d/ws'):format(port), 'closed_by_server')
      assert.same({ 'closed 4003 done' }, lines(out))
      assert.same({ nil, 'closed', 4003 }, helpers.wait_for(function() return seen.after end))
    end)
  end)

  it("refuses an Origin that is not listed with 403", function()
    with_server(echo, function(port, seen)
      local out = python_client(('ws://127.0.0.1:%d/ws'):format(port), 'refused')
      assert.same({ 'status 403' }, lines(out))
      assert.equal('origin not allowed', seen.refused)
    end, { upgrade = { origins = { 'http://good.example' } } })
  end)
end)

local node_modules = (os.getenv('HOME') or '') .. '/.cache/lasio-node/node_modules'
local has_node = helpers.has_daemon() and H.have('node') and io.open(node_modules .. '/ws/package.json') ~= nil

describe("req:upgrade with Node's ws as the client", function()
  if not has_node then return pending("no node or no ws package (spec/run.sh installs it with npm)") end

  local function node_client(url, extra)
    local out, err = asio.run_command({ 'env', '-u', 'LD_PRELOAD', 'NODE_PATH=' .. node_modules, 'node',
      here .. '/websocket_node.js', url, extra }, { timeout = 60 })
    assert(out, err)
    return lines(out)
  end

  for _, deflate in ipairs { false, true } do
    it("echoes text, binary, empty, 4 MiB and fragmented messages, answers a ping, reports the close" ..
      (deflate and " (permessage-deflate)" or ""), function()
      with_server(echo, function(port, seen)
        local got = node_client(('ws://127.0.0.1:%d/ws'):format(port), deflate and 'deflate' or nil)
        assert.same({ 'protocol a', 'deflate ' .. tostring(deflate), 'echo 0 true', 'echo 1 true', 'echo 2 true',
          'echo 3 true', 'echo 4 true', 'pong true', 'closed 4005 ' }, got)
        assert.same({ 'closed', 4005, 'node done' }, helpers.wait_for(function() return seen.closed end))
      end, { upgrade = { protocols = { 'a' }, deflate = deflate }, timeout = 60 })
    end)
  end
end)

describe("http.websocket against Python's websockets server", function()
  if not has_python then return pending("no python3-websockets (or no child processes in this build)") end

  local function with_python(fn, cert, key)
    run(function()
      local port, stop = python_server(cert, key)
      local ok, err = pcall(fn, port)
      stop()
      assert(ok, err)
    end, { timeout = 60 })
  end

  it("sends and receives text, binary, empty and 16 MiB messages, with a subprotocol", function()
    with_python(function(port)
      local ws = assert(http.websocket(('ws://127.0.0.1:%d/echo'):format(port), { protocols = { 'x', 'chat' } }))
      assert.equal('chat', ws.protocol)
      assert.equal(101, ws.status)
      assert(ws:send('héllo'))
      assert.same({ 'héllo', 'text' }, { ws:receive(10) })
      assert(ws:send('\0\1\255', 'binary'))
      assert.same({ '\0\1\255', 'binary' }, { ws:receive(10) })
      assert(ws:send(''))
      assert.same({ '', 'text' }, { ws:receive(10) })
      assert(ws:send('', 'binary'))
      assert.same({ '', 'binary' }, { ws:receive(10) })
      local big = string.rep('0123456789abcdef', 1024 * 1024)
      assert(ws:send(big, 'binary'))
      local got, kind = ws:receive(30)
      assert.equal('binary', kind)
      assert.equal(#big, #got)
      assert.is_true(got == big)
      assert.is_true(ws:close())
      assert.same({ nil, 'closed', 1000, '' }, { ws:receive() })
    end)
  end)

  it("negotiates permessage-deflate when asked to", function()
    with_python(function(port)
      local ws = assert(http.websocket(('ws://127.0.0.1:%d/echo'):format(port), { deflate = true }))
      assert.matches('permessage%-deflate', ws.headers['sec-websocket-extensions'])
      local text = string.rep('compressible ', 100000)
      assert(ws:send(text))
      assert.is_true(text == ws:receive(10))
      ws:close()
    end)
  end)

  it("gets fragmented messages whole", function()
    with_python(function(port)
      local ws = assert(http.websocket(('ws://127.0.0.1:%d/frag'):format(port)))
      assert(ws:send('one two three four'))
      assert.same({ 'one two three four', 'text' }, { ws:receive(10) })
      ws:close()
    end)
  end)

  it("awaits the pong of its ping, and answers the peer's ping by itself", function()
    with_python(function(port)
      local ws = assert(http.websocket(('ws://127.0.0.1:%d/ping'):format(port)))
      -- Python sends 'ponged' only after our automatic pong reached it.
      assert.same({ 'ponged', 'text' }, { ws:receive(10) })
      assert.is_true(ws:ping('abc', 10))
      assert.is_true(ws:ping(nil, 10))
      ws:close()
    end)
  end)

  it("reports the server's close code and reason", function()
    with_python(function(port)
      local ws = assert(http.websocket(('ws://127.0.0.1:%d/close'):format(port)))
      assert.same({ nil, 'closed', 4001, 'go away' }, { ws:receive(10) })
      assert.is_false(ws:is_open())
      assert.same({ nil, 'closed' }, { ws:send('late') })
    end)
  end)

  it("stays usable after a receive timeout", function()
    with_python(function(port)
      local ws = assert(http.websocket(('ws://127.0.0.1:%d/echo'):format(port)))
      assert.same({ nil, 'timeout' }, { ws:receive(0.05) })
      assert.same({ nil, 'timeout' }, { ws:receive(0) })
      assert(ws:send('still here'))
      assert.same({ 'still here', 'text' }, { ws:receive(10) })
      ws:close()
    end)
  end)

  it("returns nil, err for a server that refuses or is not there", function()
    with_python(function(port)
      local ws, err = http.websocket(('ws://127.0.0.1:%d/echo'):format(H.free_port()))
      assert.is_nil(ws)
      assert.equal('connection refused', err)
    end)
    run(function()
      local srv = assert(http.server { host = '127.0.0.1', port = 0, routes = { ['GET /'] = function() return 200, 'no\n' end } })
      local _, port = srv:local_address()
      local ws, err, status = http.websocket(('ws://127.0.0.1:%d/'):format(port))
      assert.is_nil(ws)
      assert.equal('handshake declined', err)
      assert.equal(200, status)
      srv:close(1, true)
    end)
  end)
end)

describe("wss:// with a test CA", function()
  if not has_python or not helpers.has_tls() then return pending("no python3-websockets or no TLS here") end
  local cert, key = certs.paths()

  it("serves wss to Python's client, which verifies the certificate", function()
    local sctx = assert(asio.tls_context { mode = 'server', cert = cert, key = key })
    with_server(echo, function(port)
      local out = python_client(('wss://localhost:%d/ws'):format(port), 'echo', cert)
      assert.same({ 'protocol a', 'text True', 'binary True', 'empty True', 'empty binary True', 'big True',
        'fragmented True', 'pong True', 'closed 4002 ' }, lines(out))
    end, { tls = sctx, timeout = 60 })
  end)

  it("connects to Python's wss server, verifying it against the CA, and refuses an unknown one", function()
    run(function()
      local port, stop = python_server(cert, key)
      local ok, err = pcall(function()
        local ctx = assert(asio.tls_context { mode = 'client', ca = cert })
        local ws = assert(http.websocket(('wss://localhost:%d/echo'):format(port), { tls = ctx }))
        assert(ws:send('secret'))
        assert.same({ 'secret', 'text' }, { ws:receive(10) })
        ws:close()
        local none = assert(asio.tls_context { mode = 'client' })
        local bad, why = http.websocket(('wss://localhost:%d/echo'):format(port), { tls = none })
        assert.is_nil(bad)
        assert.is_string(why)
      end)
      stop()
      assert(ok, err)
    end, { timeout = 60 })
  end)
end)

-- A masked client frame.
local function frame(opcode, payload, first)
  local n = #payload
  local head
  if n < 126 then
    head = string.char(first or (0x80 + opcode), 0x80 + n)
  elseif n < 65536 then
    head = string.char(first or (0x80 + opcode), 0x80 + 126, math.floor(n / 256), n % 256)
  else
    local b = {}
    for i = 8, 1, -1 do b[i] = n % 256; n = math.floor(n / 256) end
    head = string.char(first or (0x80 + opcode), 0x80 + 127, unpack(b))
  end
  local key = { 0x12, 0x34, 0x56, 0x78 }
  local out = {}
  for i = 1, #payload do
    out[i] = string.char(bit.bxor(payload:byte(i), key[(i - 1) % 4 + 1]))
  end
  return head .. string.char(unpack(key)) .. table.concat(out)
end

-- Upgrades a raw connection to port, sends bytes, returns the close code the server sent and
-- whether it then closed the connection.
local function raw_session(port, bytes)
  local c = assert(asio.connect('127.0.0.1', port))
  c:settimeout(10)
  assert(c:write('GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' ..
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'))
  local head = ''
  for _ = 1, 100 do
    local line = assert(c:read_line())
    head = head .. line .. '\n'
    if line == '' then break end
  end
  assert.matches('^HTTP/1.1 101', head)
  assert.matches('[Ss]ec%-[Ww]eb[Ss]ocket%-[Aa]ccept: s3pPLMBiTxaQ9kYGzzhZRbK%+xOo=', head)
  assert(c:write(bytes))
  local got = ''
  for _ = 1, 1000 do
    local d = c:read_some()
    if not d then break end
    got = got .. d
  end
  c:close()
  -- The server's close frame: 0x88, length, code.
  assert.equal(0x88, got:byte(1))
  return got:byte(3) * 256 + got:byte(4)
end

describe("bad input", function()
  local function check(bytes, code, opts)
    with_server(echo, function(port)
      assert.equal(code, raw_session(port, bytes))
      -- Everyone else is still served.
      local ws = assert(http.websocket(('ws://127.0.0.1:%d/ws'):format(port)))
      assert(ws:send('after'))
      assert.same({ 'after', 'text' }, { ws:receive(10) })
      ws:close()
    end, opts)
  end

  it("answers 400 to a request that is no WebSocket upgrade", function()
    with_server(echo, function(port, seen)
      local got = H.raw(port, 'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
      assert.equal(400, H.status_of(got))
      assert.equal('bad handshake', helpers.wait_for(function() return seen.refused end))
      assert.equal('plain\n', (H.raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'):match('\r\n\r\n(.*)$')))
    end)
  end)

  it("closes with 1007 on invalid UTF-8 in a text message", function()
    check(frame(1, 'ok \255\254 not utf-8'), 1007)
  end)

  it("closes with 1009 on a message over max_message", function()
    check(frame(2, string.rep('x', 2000)), 1009, { upgrade = { max_message = 1000 } })
  end)

  it("closes with 1002 on a protocol violation", function()
    -- Reserved bits set, no extension negotiated.
    check(frame(1, 'rsv', 0x80 + 0x40 + 1), 1002)
    -- An unknown opcode.
    check(frame(3, 'op'), 1002)
  end)
end)

describe("asio.ws lifetime and arguments", function()
  it("raises on bad arguments", function()
    with_server(function(ws, seen)
      assert.has_error(function() ws:send(42) end, "bad argument #1 to 'send' (string expected, got number)")
      assert.has_error(function() ws:send('x', 'word') end, "bad argument #2 to 'send' (\"text\" or \"binary\" expected)")
      assert.has_error(function() ws:receive(-1) end, "bad argument #1 to 'receive' (timeout must be a non-negative number)")
      assert.has_error(function() ws:ping(string.rep('x', 126)) end, "bad argument #1 to 'ping' (at most 125 bytes)")
      assert.has_error(function() ws:close(1005) end, "bad argument #1 to 'close' (a close code from 1000 to 4999 expected)")
      assert.has_error(function() ws:close(1000, string.rep('x', 124)) end, "bad argument #2 to 'close' (at most 123 bytes)")
      seen.checked = true
      ws:close()
    end, function(port, seen)
      assert.has_error(function() http.websocket(42) end, "bad argument #1 to 'websocket' (string expected, got number)")
      assert.has_error(function() http.websocket('ws://x/', { queue = 0 }) end,
        "bad argument #1 to 'websocket' (option 'queue' must be a positive number)")
      assert.same({ nil, 'invalid url' }, { http.websocket('http://127.0.0.1/') })
      assert.has_error(function() http.websocket('ws://127.0.0.1/', { headers = { ['X-A'] = 'a\r\nX-B: b' } }) end,
        'websocket: invalid value for header "X-A" (CR, LF or NUL)')
      assert.has_error(function() http.websocket('ws://127.0.0.1/', { protocols = { 'a b' } }) end,
        "bad argument #2 to 'websocket' (protocols must be tokens)")
      local ws = assert(http.websocket(('ws://127.0.0.1:%d/ws'):format(port)))
      assert.same({ nil, 'closed', 1000, '' }, { ws:receive(10) })
      assert.is_true(helpers.wait_for(function() return seen.checked end))
    end)
  end)

  it("wakes a waiting receive with closed when another light thread closes the websocket", function()
    with_server(echo, function(port)
      local ws = assert(http.websocket(('ws://127.0.0.1:%d/ws'):format(port)))
      local got
      local th = asio.spawn_light_thread(function() got = { ws:receive() } end)
      asio.sleep(0.01)
      assert.is_true(ws:close(4004))
      th:join(10)
      assert.same({ nil, 'closed', 4004, '' }, got)
    end)
  end)

  it("keeps waiting in receive after a stray wake, until its message or its deadline", function()
    with_server(sends_once('woken', 'after the wake'), function(port, seen)
      local ws = assert(http.websocket(('ws://127.0.0.1:%d/ws'):format(port)))
      local got
      local th = asio.spawn_light_thread(function() got = { ws:receive(10) } end)
      asio.sleep(0.01)
      assert.is_true(asio.wake(th, 'stray'))
      asio.sleep(0.01)
      assert.is_nil(got)
      seen.woken = true
      th:join(10)
      assert.same({ 'after the wake', 'text' }, got)
      -- A stray wake does not stretch a receive's deadline either.
      local t0 = asio.now()
      local late = asio.spawn_light_thread(function() got = { ws:receive(0.2) } end)
      asio.sleep(0.05)
      asio.wake(late, 'stray')
      late:join(10)
      assert.same({ nil, 'timeout' }, got)
      assert.is_true(asio.now() - t0 < 5)
      ws:close()
    end)
  end)

  it("raises when receive would wait outside a light thread", function()
    with_server(echo, function(port)
      local ws = assert(http.websocket(('ws://127.0.0.1:%d/ws'):format(port)))
      -- A plain coroutine is no light thread.
      local ok, err = coroutine.wrap(function() return pcall(ws.receive, ws) end)()
      assert.is_false(ok)
      assert.matches('receive: not called from a light thread', err, 1, true)
      ws:close()
    end)
  end)

  it("is free for another receive after one that could not wait (called from a C callback)", function()
    with_server(sends_once('failed', 'for the next one'), function(port, seen)
      local ws = assert(http.websocket(('ws://127.0.0.1:%d/ws'):format(port)))
      local ok, err = pcall(string.gsub, 'x', 'x', function() ws:receive(5) end)
      assert.is_false(ok)
      assert.matches('yield', err, 1, true)
      seen.failed = true
      local got
      asio.spawn_light_thread(function() got = { ws:receive(10) } end):join(10)
      assert.same({ 'for the next one', 'text' }, got)
      ws:close()
    end)
  end)

  it("keeps reading (and answering pings) while the script does not receive, up to its queue", function()
    with_server(function(ws, seen)
      for i = 1, 20 do assert(ws:send('m' .. i)) end
      seen.sent = true
      ws:receive(10)
    end, function(port, seen)
      local ws = assert(http.websocket(('ws://127.0.0.1:%d/ws'):format(port), { queue = 4 }))
      assert.is_true(helpers.wait_for(function() return seen.sent end))
      for i = 1, 20 do assert.equal('m' .. i, (ws:receive(10))) end
      assert.is_true(ws:ping('x', 10))
      ws:close()
    end)
  end)

  it("completes a close handshake while its receive queue is full, then hands out what it queued", function()
    with_server(function(ws, seen)
      for i = 1, 10 do assert(ws:send('m' .. i)) end
      seen.sent = true
      seen.closed = { select(2, ws:receive(10)) }
    end, function(port, seen)
      local ws = assert(http.websocket(('ws://127.0.0.1:%d/ws'):format(port), { queue = 2 }))
      assert.is_true(helpers.wait_for(function() return seen.sent end))
      -- The reader has started; let it fill its queue (the close below works either way).
      assert.equal('m1', (ws:receive(10)))
      asio.sleep(0.05)
      assert.is_true(ws:close(4006, 'full'))
      -- What was queued before the close comes first, in order (Beast drops what arrives after).
      local i, last = 2, nil
      for _ = 1, 20 do
        last = { ws:receive(10) }
        if not last[1] then break end
        assert.equal('m' .. i, last[1])
        i = i + 1
      end
      assert.same({ nil, 'closed', 4006, '' }, last)
      assert.same({ 'closed', 4006, 'full' }, helpers.wait_for(function() return seen.closed end))
    end)
  end)

  it("answers pings while the script does something else than receive", function()
    with_server(function(ws, seen)
      seen.pinged = { ws:ping('busy?', 10) }
      ws:close()
    end, function(port, seen)
      local ws = assert(http.websocket(('ws://127.0.0.1:%d/ws'):format(port)))
      assert.same({ true }, helpers.wait_for(function() return seen.pinged end))
      assert.same({ nil, 'closed', 1000, '' }, { ws:receive(10) })
    end)
  end)

  it("bounds what waits to be sent: a send to a peer that does not read times out", function()
    with_server(function(ws, seen)
      local big = string.rep('x', 1024 * 1024)
      local ok, err
      for _ = 1, 200 do
        ok, err = ws:send(big)
        if not ok then break end
      end
      seen.result = { ok, err }
    end, function(port, seen)
      local c = assert(asio.connect('127.0.0.1', port))
      c:settimeout(10)
      assert(c:write('GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' ..
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'))
      -- Reads nothing more: the server's sends fill the socket buffers, then one times out.
      local result
      for _ = 1, 200 do
        result = seen.result
        if result then break end
        asio.sleep(0.05)
      end
      c:close()
      assert.same({ nil, 'timeout' }, result)
    end, { upgrade = { send_timeout = 0.2 } })
  end)

  it("stays consistent when a light thread is killed in receive or in the middle of a send", function()
    with_server(function(ws, seen)
      -- A receive killed while it waits leaves the next receive free to run.
      local th = asio.spawn_light_thread(function() ws:receive() end)
      asio.sleep(0.01)
      th:kill()
      seen.killed = true
      assert.equal('go on', ws:receive(10))
      -- A send killed while it waits for the peer may leave half a frame: the connection closes.
      local big = string.rep('x', 8 * 1024 * 1024)
      local sender = asio.spawn_light_thread(function() for _ = 1, 100 do ws:send(big) end end)
      asio.sleep(0.05)
      sender:kill()
      seen.after_kill = { ws:send('next') }
      seen.closed = { ws:receive(10) }
    end, function(port, seen)
      local c = assert(asio.connect('127.0.0.1', port))
      c:settimeout(10)
      assert(c:write('GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' ..
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'))
      for _ = 1, 100 do
        if assert(c:read_line()) == '' then break end
      end
      assert.is_true(helpers.wait_for(function() return seen.killed end))
      assert(c:write(frame(1, 'go on')))
      -- Reads nothing from here on: the big sends fill the socket buffers and wait.
      local after = helpers.wait_for(function() return seen.closed end)
      c:close()
      assert.same({ nil, 'closed' }, seen.after_kill)
      assert.equal('closed', after[2])
    end)
  end)

  it("works over a Unix socket, given as the client's connection", function()
    local path = os.tmpname()
    os.remove(path)
    run(function()
      local srv = assert(http.server { unix = path, routes = {
        ['GET /ws'] = function(req) echo(assert(req:upgrade()), {}) end,
      } })
      local c = assert(asio.unix_connect(path))
      local ws = assert(http.websocket('ws://localhost/ws', { conn = c }))
      assert(ws:send('over unix'))
      assert.same({ 'over unix', 'text' }, { ws:receive(10) })
      ws:close()
      srv:close(1, true)
    end)
    os.remove(path)
  end)

  it("closes the connection of a websocket nobody references any more", function()
    with_server(function(ws, seen)
      assert.equal('hi', ws:receive(10))
      seen.result = { ws:receive(10) }
    end, function(port, seen)
      do
        local ws = assert(http.websocket(('ws://127.0.0.1:%d/ws'):format(port)))
        assert(ws:send('hi'))
      end
      local result
      for _ = 1, 100 do
        collectgarbage()
        collectgarbage()
        result = seen.result
        if result then break end
        asio.sleep(0.01)
      end
      assert.same({ nil, 'closed', 1006 }, { result[1], result[2], result[3] })
    end)
  end)
end)

describe("examples/ws_chat.lua", function()
  if not helpers.has_daemon() then return pending("no child processes in this build") end

  it("delivers every message once to every other member of a 1,000-member room", function()
    -- The sanitizer build is several times slower: a smaller room there.
    local n = os.getenv('ASIO_SANITIZE') and 200 or 1000
    run(function()
      local out, err, code = asio.run_command({ 'luajit', here .. '/../examples/ws_chat.lua', tostring(n) },
        { timeout = 240 })
      assert(out, err)
      assert.equal(0, code, err)
      assert.matches(('^%d members, %d messages delivered %%(%d expected%%)'):format(n, n * (n - 1), n * (n - 1)), out)
    end, { timeout = 250 })
  end)
end)
