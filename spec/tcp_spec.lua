-- TCP connections over loopback: reads of every kind, writes, options, addresses, concurrency.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'
local run = helpers.run_async

-- Serves each connection with fn(conn) in its own light thread; returns server, port.
local function serve(fn)
  return helpers.server(function(conn) fn(conn); conn:close() end)
end

describe("connection reads", function()
  it("read(n) assembles n bytes from many 1-byte writes", function()
    run(function()
      local s, port = serve(function(c)
        for i = 1, 200 do assert(c:write(string.char(65 + i % 26))); if i % 10 == 0 then asio.sleep(0) end end
      end)
      local c = assert(asio.connect('127.0.0.1', port))
      c:setoption('nodelay', true)
      local expect = {}
      for i = 1, 200 do expect[i] = string.char(65 + i % 26) end
      assert.equal(table.concat(expect), c:read(200))
      c:close(); s:close()
    end)
  end)

  it("read_some returns what is there, at most max, and at least one byte", function()
    run(function()
      local s, port = serve(function(c) c:write('hello world'); c:read(1) end)
      local c = assert(asio.connect('127.0.0.1', port))
      local got = {}
      while #table.concat(got) < 11 do
        local d = assert(c:read_some(4))
        assert.is_true(#d >= 1 and #d <= 4)
        got[#got + 1] = d
      end
      assert.equal('hello world', table.concat(got))
      c:write('x'); c:close(); s:close()
    end)
  end)

  it("read_until and read_line split across chunk boundaries and keep the rest buffered", function()
    run(function()
      local s, port = serve(function(c)
        for _, piece in ipairs { 'ab', 'c|d', 'ef||', 'line one\r', '\nline two\n', 'tail' } do
          c:write(piece); asio.sleep(0.01)
        end
      end)
      local c = assert(asio.connect('127.0.0.1', port))
      assert.equal('abc', c:read_until('|'))
      assert.equal('def', c:read_until('||'))
      assert.equal('line one', c:read_line())
      assert.equal('line two', c:read_line())
      local v, err, partial = c:read_line()
      assert.is_nil(v); assert.equal('closed', err); assert.equal('tail', partial)
      c:close(); s:close()
    end)
  end)

  it("read_until past max returns nil, 'too long' and keeps memory bounded", function()
    run(function()
      local s, port = serve(function(c) c:write(string.rep('x', 5000) .. '\n'); c:read(1) end)
      local c = assert(asio.connect('127.0.0.1', port))
      local v, err = c:read_line(100)
      assert.is_nil(v); assert.equal('too long', err)
      -- the bytes stay readable by other reads
      assert.equal(string.rep('x', 100), c:read(100))
      local line = c:read_line(10000)
      assert.equal(string.rep('x', 4900), line)
      c:write('k'); c:close(); s:close()
    end)
  end)

  it("read(0) returns an empty string", function()
    run(function()
      local s, port = serve(function(c) c:read(1) end)
      local c = assert(asio.connect('127.0.0.1', port))
      assert.equal('', c:read(0))
      c:write('x'); c:close(); s:close()
    end)
  end)
end)

describe("connection writes", function()
  it("writes an array of strings as one gathered write", function()
    run(function()
      local s, port = serve(function(c) assert(c:write { 'a', 'bc', '', 'def', 42 }) end)
      local c = assert(asio.connect('127.0.0.1', port))
      assert.equal('abcdef42', c:read(8))
      c:close(); s:close()
    end)
  end)

  it("writes more than 64 pieces", function()
    run(function()
      local pieces = {}
      for i = 1, 300 do pieces[i] = tostring(i % 10) end
      local s, port = serve(function(c) assert(c:write(pieces)) end)
      local c = assert(asio.connect('127.0.0.1', port))
      assert.equal(table.concat(pieces), c:read(300))
      c:close(); s:close()
    end)
  end)

  it("moves 16 MiB each way intact, reading and writing at the same time (full duplex)", function()
    run(function()
      local size = 16 * 1024 * 1024
      local block = {}
      for i = 0, 65535 do block[#block + 1] = string.char(i % 251) end
      block = table.concat(block)
      local function checksum(acc, data)
        for i = 1, #data, 4093 do acc = (acc * 31 + data:byte(i)) % 2147483647 end
        return acc
      end
      local expect = 0
      for _ = 1, size / #block do expect = checksum(expect, block) end
      -- server echoes everything back in 64 KiB reads
      local s, port = serve(function(c)
        while true do
          local d = c:read_some()
          if not d then break end
          assert(c:write(d))
        end
      end)
      local c = assert(asio.connect('127.0.0.1', port))
      local writer = asio.spawn_light_thread(function()
        for _ = 1, size / #block do assert(c:write(block)) end
        assert(c:shutdown('send'))
      end)
      local got, sum = 0, 0
      while got < size do
        local d = assert(c:read(math.min(#block, size - got)))
        got = got + #d
        sum = checksum(sum, d)
      end
      assert.equal(size, got)
      assert.equal(expect, sum)
      assert.is_true((writer:join()))
      local v, err = c:read(1)
      assert.is_nil(v); assert.equal('closed', err)
      c:close(); s:close()
    end, { timeout = 60 })
  end)
end)

describe("many connections", function()
  it("serves 1,000 concurrent light threads over 1,000 connections", function()
    run(function()
      local n, ok = 1000, 0
      local s, port = serve(function(c)
        local line = c:read_line()
        if line then c:write(line .. '!\n') end
      end)
      local wg = {}
      for i = 1, n do
        wg[i] = asio.spawn_light_thread(function()
          local c = assert(asio.connect('127.0.0.1', port))
          assert(c:write('client ' .. i .. '\n'))
          assert.equal('client ' .. i .. '!', c:read_line())
          c:close()
          ok = ok + 1
        end)
      end
      for i = 1, n do assert.is_true((wg[i]:join())) end
      assert.equal(n, ok)
      s:close()
    end, { timeout = 60 })
  end)

  it("an accept handler that spawns and returns leaves no thread and no coroutine behind", function()
    run(function()
      local handlers = setmetatable({}, { __mode = 'k' }) -- the accept handlers' coroutines
      local waiting = 0
      local s, port = helpers.server(function(conn)
        handlers[coroutine.running()] = true
        asio.spawn_light_thread(function(c)
          waiting = waiting + 1
          local d = c:read_some()
          if d then c:write(d) end
          c:close()
        end, conn)
      end)
      local conns = {}
      for i = 1, 20 do conns[i] = assert(asio.connect('127.0.0.1', port)) end
      assert.equal(20, helpers.wait_for(function() return waiting == 20 and waiting or nil end))
      collectgarbage()
      collectgarbage()
      assert.is_nil(next(handlers))
      assert.equal(21, asio._stats().threads) -- the 20 readers and this test's own thread
      for i = 1, 20 do
        assert(conns[i]:write('x'))
        assert.equal('x', conns[i]:read(1))
        conns[i]:close()
      end
      s:close()
    end)
  end)
end)

describe("addresses and options", function()
  it("reports local and remote addresses as ip, port", function()
    run(function()
      local s, port = serve(function(c) c:read(1) end)
      local c = assert(asio.connect('127.0.0.1', port))
      local rip, rport = c:remote_address()
      assert.equal('127.0.0.1', rip); assert.equal(port, rport)
      local lip, lport = c:local_address()
      assert.equal('127.0.0.1', lip); assert.is_number(lport)
      for _, o in ipairs { { 'nodelay', true }, { 'keepalive', true }, { 'rcvbuf', 65536 }, { 'sndbuf', 65536 }, { 'linger', 0 } } do
        assert.is_true(c:setoption(o[1], o[2]))
      end
      assert.has_error(function() c:setoption('bogus', 1) end)
      c:write('x'); c:close(); s:close()
    end)
  end)

  it("listens on IPv6 ::1 and connects to it", function()
    run(function()
      local s = asio.server('::1', 0, function(c) c:write('six'); c:close() end)
      if not s then return end -- no IPv6 loopback on this machine
      local _, port = s:local_address()
      local c = assert(asio.connect('::1', port))
      assert.equal('six', c:read(3))
      assert.equal('::1', (c:remote_address()))
      c:close(); s:close()
    end)
  end)

  it("connects through a host name resolved asynchronously", function()
    run(function()
      local s, port = serve(function(c) c:write('hi') end)
      local c = assert(asio.connect('localhost', port))
      assert.equal('hi', c:read(2))
      c:close(); s:close()
    end)
  end)

  it("shutdown('send') delivers end of stream to the peer while reading goes on", function()
    run(function()
      local s, port = serve(function(c)
        local v, err = c:read(10)
        assert.is_nil(v); assert.equal('closed', err)
        c:write('bye')
      end)
      local c = assert(asio.connect('127.0.0.1', port))
      assert.is_true(c:shutdown('send'))
      assert.equal('bye', c:read(3))
      c:close(); s:close()
    end)
  end)

  it("accept handler may block itself, no spawn needed", function()
    run(function()
      local s, port = helpers.server(function(c)
        local x = c:read(3)
        asio.sleep(0.01)
        c:write(x:upper()); c:close()
      end)
      local c = assert(asio.connect('127.0.0.1', port))
      c:write('abc')
      assert.equal('ABC', c:read(3))
      c:close(); s:close()
    end)
  end)
end)
