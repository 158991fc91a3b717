-- conn:read_into(buf [, max]) and conn:write_from(buf): streaming through LuaJIT string buffers
-- over loopback, plain and TLS, with their failure paths.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'
local run = helpers.run_async
local ok_sbuf, buffer = pcall(require, 'string.buffer')

-- A server echoing through a string buffer; returns it and its port.
local function buffer_echo(opts)
  return helpers.server(function(c)
    local buf = buffer.new()
    while c:read_into(buf) do
      if not c:write_from(buf) then break end
    end
    c:close()
  end, opts)
end

local function pattern(n, seed)
  local t = {}
  for i = 1, n do t[i] = string.char((i * 7 + seed) % 251) end
  return table.concat(t)
end

describe("conn:read_into and conn:write_from", function()
  if not ok_sbuf then
    pending("this LuaJIT has no string.buffer")
    return
  end

  it("echo every byte of several sizes, up to 4 MiB, through a buffer on each side", function()
    run(function()
      local s, port = buffer_echo()
      local c = assert(asio.connect('127.0.0.1', port))
      for k, n in ipairs({ 1, 100, 65536, 65537, 4 * 1024 * 1024 }) do
        local out = buffer.new():put(pattern(n, k))
        local expect = out:tostring()
        local writer = asio.spawn_light_thread(function() return c:write_from(out) end)
        local back = buffer.new()
        while #back < n do assert(c:read_into(back)) end
        assert.same({ true, true }, { writer:join() })
        assert.equal(0, #out) -- write_from takes the bytes out of its buffer
        assert.equal(n, #back)
        assert.is_true(back:tostring() == expect)
      end
      c:close()
      s:close()
    end, { timeout = 20 })
  end)

  it("read_into appends, at most max bytes, and gets bytes buffered by other reads first", function()
    run(function()
      local s, port = helpers.server(function(c)
        c:write('line one\nrest of it')
        c:read(1)
        c:close()
      end)
      local c = assert(asio.connect('127.0.0.1', port))
      assert.equal('line one', c:read_line())
      local buf = buffer.new():put('>')
      assert.equal(4, c:read_into(buf, 4))
      assert.equal('>rest', buf:tostring())
      local n = assert(c:read_into(buf))
      assert.equal(' of it', buf:tostring():sub(6))
      assert.equal(6, n)
      c:close()
      s:close()
    end)
  end)

  it("end of stream, timeouts and closed connections: nil, err, the buffer left as it was", function()
    run(function()
      local s, port = helpers.server(function(c) asio.sleep(0.1); c:close() end)
      local c = assert(asio.connect('127.0.0.1', port))
      local buf = buffer.new():put('keep')
      c:settimeout(0.02)
      assert.same({ nil, 'timeout' }, { c:read_into(buf) })
      c:settimeout(nil)
      assert.same({ nil, 'closed' }, { c:read_into(buf) }) -- the peer closed
      assert.equal('keep', buf:tostring())
      c:close()
      assert.same({ nil, 'closed' }, { c:read_into(buf) })
      local out = buffer.new():put('x')
      assert.same({ nil, 'closed' }, { c:write_from(out) })
      s:close()
    end)
  end)

  it("a close from another light thread wakes a waiting read_into", function()
    run(function()
      local s, port = helpers.server(function(c) c:read(1); c:close() end)
      local c = assert(asio.connect('127.0.0.1', port))
      local reader = asio.spawn_light_thread(function() return c:read_into(buffer.new()) end)
      asio.sleep(0.01)
      c:close()
      assert.same({ true, nil, 'closed' }, { reader:join() })
      s:close()
    end)
  end)

  it("after a read timed out, read_into still gets the bytes in order", function()
    -- The timed-out reader's receive can complete in the same turn of the loop as its
    -- timeout; its bytes must come before what read_into reads from the socket after it.
    local here = debug.getinfo(1, 'S').source:match('^@(.*)spec/buffer_io_spec%.lua$') or './'
    local result
    local srv = assert(asio.server('127.0.0.1', 0, function(conn)
      conn:setoption('sndbuf', 65536)
      asio.spawn_light_thread(function() conn:write(string.rep('w', 8 * 1024 * 1024)) end)
      asio.spawn_light_thread(function() -- stalls the loop while the peer drains and sends
        asio.sleep(0.2)
        local t = os.clock() + 0.8
        while os.clock() < t do end
      end)
      conn:settimeouts(nil, nil, 0.5) -- this read's timeout passes during the stall
      local d = conn:read_some(10)
      local buf = buffer.new()
      if d then buf:put(d) end
      conn:settimeouts(nil, nil, 2)
      while #buf < 1000 do
        if not conn:read_into(buf) then break end
      end
      result = buf:tostring()
      conn:close()
    end))
    local _, port = srv:local_address()
    local peer = io.popen(('luajit %sspec/scripts/reorder_peer.lua %d 2>&1'):format(here, port))
    local deadline = asio.now() + 10
    while not result and asio.now() < deadline do asio.run_once(0.05) end
    srv:close()
    peer:read('*a')
    peer:close()
    helpers.force_close_all()
    assert.is_string(result)
    assert.is_true(#result >= 1000)
    for i = 1, 1000 do
      if result:byte(i) ~= (i - 1) % 251 then
        error(('byte %d is %d, want %d: bytes out of order'):format(i, result:byte(i), (i - 1) % 251))
      end
    end
  end)

  it("over TLS", function()
    if not helpers.has_tls() then return end
    run(function()
      local certs = require 'spec.support.certs'
      local sctx, cctx = certs.contexts()
      local s, port = buffer_echo({ tls = sctx })
      local c = assert(asio.connect('127.0.0.1', port, { tls = cctx }))
      local data = pattern(200000, 3)
      local out = buffer.new():put(data)
      local writer = asio.spawn_light_thread(function() return c:write_from(out) end)
      local back = buffer.new()
      while #back < #data do assert(c:read_into(back)) end
      assert.same({ true, true }, { writer:join() })
      assert.is_true(back:tostring() == data)
      c:close()
      s:close()
    end)
  end)

  it("raise on bad arguments, outside a light thread, and with a second reader", function()
    run(function()
      local s, port = helpers.server(function(c) c:read(1); c:close() end)
      local c = assert(asio.connect('127.0.0.1', port))
      assert.has_error(function() c:read_into('not a buffer') end,
        "bad argument #1 to 'read_into' (string.buffer expected, got string)")
      assert.has_error(function() c:read_into(buffer.new(), 0) end)
      assert.has_error(function() c:read_into(buffer.new(), 'many') end)
      assert.has_error(function() c:write_from({}) end,
        "bad argument #1 to 'write_from' (string.buffer expected, got table)")
      local reader = asio.spawn_light_thread(function() return c:read(1) end)
      asio.sleep(0.01)
      assert.has_error(function() c:read_into(buffer.new()) end)
      reader:kill()
      c:close()
      s:close()
    end)
    local s = assert(asio.server('127.0.0.1', 0, function(c) c:close() end))
    local conn
    asio.spawn_light_thread(function()
      conn = assert(asio.connect('127.0.0.1', select(2, s:local_address())))
    end)
    for _ = 1, 50 do
      if conn then break end
      asio.run_once(0.01)
    end
    assert.has_error(function() conn:read_into(buffer.new()) end)
    conn:close()
    s:close()
    helpers.force_close_all()
  end)
end)
