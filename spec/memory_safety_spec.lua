-- Memory safety: objects collected while light threads wait on them, buffers an operation still
-- uses, and finalizers that run inside the module's own allocations (closing, killing, reading).
-- Each case reached freed memory before its fix; under the sanitizer build ASan reports it, and
-- the release build returned wrong bytes, hung, or crashed.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'
local finalizers = require 'spec.support.finalizers'
local run = helpers.run_async
-- Globals are looked up through busted's environment, which allocates: code that runs between
-- arming a finalizer and the allocation aimed at uses locals only.
local pcall = pcall

describe("an object collected while a light thread waits on it", function()
  it("a connection stays open until its reader's timeout, which ends the read", function()
    run(function()
      local peer_saw
      local s, port = helpers.server(function(c)
        local _, err = c:read(1)
        peer_saw = peer_saw or err
        c:close()
      end)
      local holder = {}
      local reader = asio.spawn_light_thread(function()
        holder.c = assert(asio.connect('127.0.0.1', port))
        holder.c:settimeout(0.1)
        return holder.c:read(1)
      end)
      asio.spawn_light_thread(function()
        asio.sleep(0.02)
        holder.c = nil
        collectgarbage(); collectgarbage()
      end)
      local ok, v, err = reader:join()
      assert.is_true(ok)
      assert.is_nil(v); assert.equal('timeout', err)
      -- The peer saw no close while the read waited: the wait kept the connection alive.
      assert.is_nil(peer_saw)
      collectgarbage(); collectgarbage()
      assert.equal('closed', helpers.wait_for(function() return peer_saw end))
      s:close()
    end)
  end)

  it("a connection read without a timeout gets what the peer sends, then is collected", function()
    run(function()
      local go = false
      local s, port = helpers.server(function(c)
        while not go do asio.sleep(0.01) end
        c:write('late')
        c:close()
      end)
      local function connect() return assert(asio.connect('127.0.0.1', port)) end
      local reader = asio.spawn_light_thread(function() return connect():read(4) end)
      asio.sleep(0.02)
      collectgarbage(); collectgarbage()
      go = true
      local ok, v = reader:join()
      assert.is_true(ok); assert.equal('late', v)
      s:close()
    end)
  end)

  it("killing the reader of a connection nothing else holds ends it cleanly", function()
    run(function()
      local s, port = helpers.server(function(c) c:read(1); c:close() end)
      local reader = asio.spawn_light_thread(function()
        return assert(asio.connect('127.0.0.1', port)):read(1)
      end)
      asio.sleep(0.02)
      collectgarbage(); collectgarbage()
      reader:kill()
      assert.same({ false, 'killed' }, { reader:join() })
      collectgarbage(); collectgarbage()
      s:close()
    end)
  end)

  it("a UDP socket stays open until its receiver's timeout", function()
    run(function()
      local holder = {}
      local receiver = asio.spawn_light_thread(function()
        holder.u = assert(asio.udp('127.0.0.1', 0))
        holder.u:settimeout(0.1)
        return holder.u:recv()
      end)
      asio.spawn_light_thread(function()
        asio.sleep(0.02)
        holder.u = nil
        collectgarbage(); collectgarbage()
      end)
      local ok, v, err = receiver:join()
      assert.is_true(ok)
      assert.is_nil(v); assert.equal('timeout', err)
    end)
  end)
end)

describe("a finalizer that runs inside a read's copy", function()
  it("closing the connection: the fast path returns the bytes it read, then it is closed", function()
    run(function()
      local s, port = helpers.server(function(c) c:write(string.rep('x', 3000)); c:read(1); c:close() end)
      local c = assert(asio.connect('127.0.0.1', port))
      assert.equal('x', c:read(1)) -- the rest waits in the connection's buffer
      local ran = finalizers.run_inside_next_allocation(function() c:close() end, function()
        return c:read(2000)
      end)
      assert.equal(1, ran.fired)
      assert.equal(string.rep('x', 2000), ran.result)
      assert.truthy(tostring(c):find('closed'))
      s:close()
    end)
  end)

  it("closing the connection: a waiting reader gets the bytes, and nothing freed is touched", function()
    run(function()
      local peer
      local s, port = helpers.server(function(c) peer = c; c:read(1); c:close() end)
      local c = assert(asio.connect('127.0.0.1', port))
      while not peer do asio.sleep(0.01) end
      local reader = asio.spawn_light_thread(function() return c:read(5) end)
      asio.sleep(0.02)
      local ran = finalizers.arm_for_next_allocation(function() c:close() end)
      peer:write('hello')
      -- The loop delivers the bytes; the first allocation there is the copy.
      local ok, v = reader:join()
      assert.equal(1, ran.fired)
      assert.is_true(ok); assert.equal('hello', v)
      assert.truthy(tostring(c):find('closed'))
      s:close()
    end)
  end)

  it("reading another connection: each read returns its own bytes", function()
    run(function()
      local s, port = helpers.server(function(c)
        c:write(c:read(1) == 'a' and 'AAAA' or 'BBBB')
        c:read(1)
        c:close()
      end)
      local c1 = assert(asio.connect('127.0.0.1', port))
      local c2 = assert(asio.connect('127.0.0.1', port))
      c1:write('a'); c2:write('b')
      asio.sleep(0.05) -- both answers wait in the kernel, not yet in the connections' buffers
      local inner
      local ran = finalizers.run_inside_next_allocation(function() inner = c2:read_some() end, function()
        return c1:read_some()
      end)
      assert.equal(1, ran.fired)
      assert.equal('AAAA', ran.result)
      assert.equal('BBBB', inner)
      c1:close(); c2:close()
      s:close()
    end)
  end)

  it("reading the same connection is refused with an error", function()
    run(function()
      local s, port = helpers.server(function(c) c:write('0123456789'); c:read(1); c:close() end)
      local c = assert(asio.connect('127.0.0.1', port))
      assert.equal('0', c:read(1))
      local refused
      local ran = finalizers.run_inside_next_allocation(function()
        local ok, err = pcall(c.read, c, 1)
        refused = not ok and err
      end, function() return c:read(4) end)
      assert.equal(1, ran.fired)
      assert.equal('1234', ran.result)
      assert.truthy(tostring(refused):find('delivering a read'))
      assert.equal('56789', c:read(5))
      c:close()
      s:close()
    end)
  end)
end)

describe("a finalizer that kills a light thread between its wake-up and its resume", function()
  local function assert_spawns_still_run()
    local ran = 0
    local a = asio.spawn_light_thread(function() ran = ran + 1 end)
    local b = asio.spawn_light_thread(function() ran = ran + 1 end)
    a:join(); b:join()
    assert.equal(2, ran)
  end

  it("on a read completion: the thread never runs again and its slot is freed once", function()
    run(function()
      local peer
      local s, port = helpers.server(function(c) peer = c; c:read(1); c:close() end)
      local c = assert(asio.connect('127.0.0.1', port))
      while not peer do asio.sleep(0.01) end
      local after_read = false
      local reader = asio.spawn_light_thread(function()
        c:read(5)
        after_read = true
      end)
      asio.sleep(0.02)
      local ran = finalizers.arm_for_next_allocation(function() reader:kill() end)
      peer:write('hello')
      local ok, err = reader:join() -- nothing allocates before the bytes are delivered
      assert.is_false(ok); assert.equal('killed', err)
      assert.equal(1, ran.fired)
      assert.equal('dead', reader:status())
      assert.is_false(after_read)
      -- Killed while its bytes were being handed to it (they went with it), not before.
      c:settimeout(0.05)
      assert.same({ nil, 'timeout' }, { c:read_some() })
      assert_spawns_still_run()
      c:close()
      s:close()
    end)
  end)

  it("on a timeout delivering partial bytes", function()
    run(function()
      local s, port = helpers.server(function(c) c:write('abc'); c:read(1); c:close() end)
      local c = assert(asio.connect('127.0.0.1', port))
      c:settimeout(0.1)
      local after_read = false
      local started = asio.now()
      local reader = asio.spawn_light_thread(function()
        c:read(10)
        after_read = true
      end)
      asio.sleep(0.03)
      local ran = finalizers.arm_for_next_allocation(function() reader:kill() end, asio.now)
      local ok, err = reader:join()
      assert.is_false(ok); assert.equal('killed', err)
      assert.equal(1, ran.fired)
      -- Killed by the timeout's own allocation (nil, "timeout", "abc"), not before it.
      assert.is_true(ran.at - started >= 0.1)
      assert.is_false(after_read)
      assert_spawns_still_run()
      c:close()
      s:close()
    end)
  end)

  it("on a UDP datagram", function()
    run(function()
      local u = assert(asio.udp('127.0.0.1', 0))
      local ip, port = u:local_address()
      local after = false
      local receiver = asio.spawn_light_thread(function()
        u:recv()
        after = true
      end)
      asio.sleep(0.02)
      local sender = assert(asio.udp('127.0.0.1', 0))
      local ran = finalizers.arm_for_next_allocation(function() receiver:kill() end)
      sender:sendto('datagram', ip, port)
      local ok, err = receiver:join()
      assert.is_false(ok); assert.equal('killed', err)
      assert.equal(1, ran.fired)
      assert.is_false(after)
      -- Killed while the datagram was being handed to it, not before.
      u:settimeout(0.05)
      assert.same({ nil, 'timeout' }, { u:recv() })
      assert_spawns_still_run()
      u:close(); sender:close()
    end)
  end)
end)

describe("a finalizer or a metamethod acting on an object whose method is running", function()
  it("__gc called by hand from a finalizer inside read_until's argument conversion", function()
    run(function()
      local s, port = helpers.server(function(c) asio.sleep(0.2); c:close() end)
      local c = assert(asio.connect('127.0.0.1', port))
      local gc = getmetatable(c).__gc
      local ran = finalizers.arm_for_next_allocation(function() gc(c) end)
      local ok, v, err = pcall(c.read_until, c, 10) -- the delimiter 10 becomes "10": allocates
      finalizers.disarm()
      assert.equal(1, ran.fired)
      assert.is_true(ok); assert.is_nil(v); assert.equal('closed', err)
      s:close()
    end)
  end)

  it("__gc called by hand from an option table's __index during tls_handshake", function()
    if not helpers.has_tls() then return end
    run(function()
      local s, port = helpers.server(function(c) asio.sleep(0.2); c:close() end)
      local c = assert(asio.connect('127.0.0.1', port))
      local gc = getmetatable(c).__gc
      local opts = setmetatable({}, { __index = function() gc(c) end })
      local cctx = assert(asio.tls_context { mode = 'client', verify = false })
      local ok, v, err = pcall(c.tls_handshake, c, cctx, opts)
      assert.is_true(ok); assert.is_nil(v); assert.equal('closed', err)
      s:close()
    end)
  end)

  it("closing the connection inside write(number)'s conversion: the write fails, never hangs", function()
    run(function()
      local s, port = helpers.server(function(c) c:read_some(); c:close() end)
      local c = assert(asio.connect('127.0.0.1', port))
      local ran = finalizers.arm_for_next_allocation(function() c:close() end)
      local v, err = c:write(12345)
      finalizers.disarm()
      assert.equal(1, ran.fired)
      assert.is_nil(v); assert.equal('closed', err)
      s:close()
    end)
  end)

  it("wake from a finalizer running on the runtime's own stack delivers its values", function()
    run(function()
      local parked = asio.spawn_light_thread(function() return asio.park() end)
      asio.sleep(0.01)
      local woke
      local ran = finalizers.arm_for_next_allocation(function() woke = asio.wake(parked, 'hello') end)
      asio.park(0.02) -- its timeout's result (nil, "timeout") is the allocation
      assert.equal(1, ran.fired)
      assert.is_true(woke)
      assert.same({ true, 'hello' }, { parked:join() })
    end)
  end)

  it("a receive from a finalizer inside recvfrom's copy leaves recvfrom's own results whole", function()
    run(function()
      local u = assert(asio.udp('127.0.0.1', 0))
      local ip, port = u:local_address()
      local sender = assert(asio.udp('127.0.0.1', 0))
      assert(sender:sendto('one', ip, port))
      assert(sender:sendto('two', ip, port))
      asio.sleep(0.02)
      local inner
      local ran = finalizers.arm_for_next_allocation(function() inner = u:recv() end)
      local data, from_ip, from_port = u:recvfrom()
      finalizers.disarm()
      assert.equal(1, ran.fired)
      assert.equal('one', data); assert.equal('two', inner)
      assert.equal('127.0.0.1', from_ip); assert.equal(select(2, sender:local_address()), from_port)
      u:close(); sender:close()
    end)
  end)

  it("a kill re-entered by a finalizer that the kill's own cancelling runs", function()
    if not helpers.has_tls() then return end
    run(function()
      local certs = require 'spec.support.certs'
      local sctx, cctx = certs.contexts()
      local s, port = helpers.server(function(c) asio.sleep(0.3); c:close() end, { tls = sctx })
      local c = assert(asio.connect('127.0.0.1', port, { tls = cctx }))
      local reader = asio.spawn_light_thread(function() return c:read(1) end)
      local writer = asio.spawn_light_thread(function() return c:write(string.rep('x', 8 * 1024 * 1024)) end)
      asio.sleep(0.05)
      -- Killing the TLS writer closes the session, whose reader's "closed" allocates.
      local ran = finalizers.arm_for_next_allocation(function() writer:kill() end)
      writer:kill()
      finalizers.disarm()
      assert.equal(1, ran.fired)
      assert.equal('dead', writer:status())
      assert.same({ false, 'killed' }, { writer:join() })
      assert.same({ true, nil, 'closed' }, { reader:join() })
      s:close()
    end)
  end)
end)

describe("read maxima beyond any buffer", function()
  it("mean no limit: math.huge, 2^64 and 1e300 read what is there", function()
    run(function()
      local s, port = helpers.server(function(c)
        c:write('one\ntwo|three\nfour')
        c:read(1)
        c:close()
      end)
      local c = assert(asio.connect('127.0.0.1', port))
      assert.equal('one', c:read_line(math.huge))
      assert.equal('two', c:read_until('|', 2 ^ 64))
      assert.equal('three', c:read_line(1e300))
      assert.equal('four', c:read_some(math.huge))
      c:close()
      s:close()
    end)
  end)

  it("read(n) refuses byte counts past 2^53 and non-integers, clearly", function()
    run(function()
      local s, port = helpers.server(function(c) c:read(1); c:close() end)
      local c = assert(asio.connect('127.0.0.1', port))
      for _, n in ipairs({ 2 ^ 64, math.huge, 2 ^ 60, 1.5, -1, 0 / 0 }) do
        local ok, err = pcall(c.read, c, n)
        assert.is_false(ok)
        assert.truthy(err:find('byte count must be a non%-negative integer'), err)
      end
      c:close()
      s:close()
    end)
  end)
end)

describe("a TLS write in flight when its connection ends", function()
  if not helpers.has_tls() then
    pending("built without TLS")
    return
  end
  local certs = require 'spec.support.certs'
  local big = string.rep('x', 4 * 1024 * 1024)

  -- A TLS server whose handler reads slowly (so that writes to it keep completing a little at
  -- a time), or not at all for a while; returns the server and a function that connects to it.
  local function tls_server(slow)
    local sctx, cctx = certs.contexts()
    local s, port = helpers.server(function(c)
      if slow then
        for _ = 1, 2000 do
          if not c:read_some(2048) then break end
        end
      else
        asio.sleep(0.3)
      end
      c:close()
    end, { tls = sctx })
    return s, function() return assert(asio.connect('127.0.0.1', port, { tls = cctx })) end
  end

  local function assert_write_ended(v, err)
    if v ~= true then
      assert.is_nil(v)
      assert.is_string(err)
    end
  end

  it("a write timeout while the peer's reads keep completing the write's steps", function()
    run(function()
      local s, connect = tls_server(true)
      for round = 1, 30 do
        local c = connect()
        c:settimeouts(nil, 0.002 + (round % 7) * 0.002, nil)
        assert_write_ended(c:write(big))
        c:close()
      end
      s:close()
    end, { timeout = 20 })
  end)

  it("closed from another light thread while the peer's reads keep completing the write", function()
    run(function()
      local s, connect = tls_server(true)
      for round = 1, 30 do
        local c = connect()
        local closer = asio.spawn_light_thread(function()
          asio.sleep(0.002 + (round % 5) * 0.002)
          c:close()
        end)
        assert_write_ended(c:write(big))
        closer:join()
      end
      asio.sleep(0.02)
      s:close()
    end, { timeout = 20 })
  end)

  it("a write timeout: nil, 'timeout', the bytes sent, and the session is closed", function()
    run(function()
      local s, connect = tls_server(false)
      local c = connect()
      c:settimeouts(nil, 0.05, nil)
      local v, err, sent = c:write(big)
      assert.is_nil(v); assert.equal('timeout', err)
      assert.is_true(sent >= 0 and sent < #big)
      assert.truthy(tostring(c):find('closed'))
      s:close()
    end)
  end)

  it("a timeout of the writer wakes the reader waiting on the same connection", function()
    run(function()
      local s, connect = tls_server(false)
      local c = connect()
      local reader = asio.spawn_light_thread(function() return c:read(1) end)
      asio.sleep(0.01)
      c:settimeouts(nil, 0.05, nil)
      assert.equal('timeout', select(2, c:write(big)))
      local ok, v, err = reader:join()
      assert.is_true(ok); assert.is_nil(v); assert.equal('closed', err)
      s:close()
    end)
  end)
end)

-- A plain write that must wait sends the rest of its string from the string itself, which the
-- waiting writer keeps on its stack: nothing else may keep it, and nothing may read it once the
-- writer has left (timeout, kill).
describe("a write that waits sends from the string its writer holds", function()
  local size = 4 * 1024 * 1024
  -- Bytes of a write no other value shares (LuaJIT interns strings: an equal copy kept for the
  -- check would keep the written one alive too), checked piece by piece.
  local function piece(seed, i) return string.rep(string.char((seed * 31 + i) % 251), 4096) end
  local function make(seed)
    local t = {}
    for i = 1, size / 4096 do t[i] = piece(seed, i) end
    return table.concat(t)
  end
  local function churn_heap()
    collectgarbage(); collectgarbage()
    local junk = {}
    for i = 1, 2000 do junk[i] = string.rep(string.char(i % 256), 2048 + i) end
    return #junk
  end

  it("after the collector ran and reused the memory meanwhile, every byte arrives", function()
    run(function()
      local go, got = false, nil
      local s, port = helpers.server(function(c)
        while not go do asio.sleep(0.005) end
        local bad = 0
        for i = 1, size / 4096 do
          local d = c:read(4096)
          if d ~= piece(7, i) then bad = bad + 1 end
        end
        got = bad
        c:close()
      end)
      local c = assert(asio.connect('127.0.0.1', port))
      local writer = asio.spawn_light_thread(function() return c:write(make(7)) end)
      asio.sleep(0.02) -- the writer now waits: the peer reads nothing yet
      churn_heap()
      go = true
      local ok, v = writer:join()
      assert.is_true(ok); assert.is_true(v)
      assert.equal(0, helpers.wait_for(function() return got end))
      c:close()
      s:close()
    end, { timeout = 20 })
  end)

  it("a writer that timed out or was killed leaves nothing that reads its string", function()
    run(function()
      local done = false
      local s, port = helpers.server(function(c)
        while not done do asio.sleep(0.005) end -- reads nothing: the writes wait until they end
        c:close()
      end)
      local c = assert(asio.connect('127.0.0.1', port))
      c:settimeouts(nil, 0.05, nil)
      local v, err, sent = c:write(make(11))
      assert.is_nil(v); assert.equal('timeout', err)
      assert.is_true(sent >= 0 and sent < size)
      churn_heap()
      local writer = asio.spawn_light_thread(function() return c:write(make(13)) end)
      asio.sleep(0.02)
      writer:kill()
      churn_heap()
      -- The socket turns writable for nobody; then the connection goes.
      asio.sleep(0.02)
      local ok, err2 = writer:join()
      assert.is_false(ok); assert.equal('killed', err2)
      done = true
      c:close()
      s:close()
    end, { timeout = 20 })
  end)
end)
