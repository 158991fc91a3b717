-- asio.shared_channel: channels between Lua states on OS threads of their own, values copied,
-- light threads parked (never their loops) while they wait on another state.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'
local threads = require 'spec.support.threads'
local run, raises = threads.run, threads.raises

describe("asio.shared_channel in one state", function()
  it("buffers up to its capacity, in FIFO order, and copies values", function()
    run(function()
      local ch = asio.shared_channel(3)
      assert.equal(3, ch:capacity())
      local t = { 1, { 'x' } }
      assert.is_true(ch:send(t))
      t[1] = 99 -- a copy was sent
      assert.is_true(ch:send('two\0bytes'))
      assert.is_true(ch:send(3))
      assert.equal(3, #ch)
      assert.equal(3, ch:len())
      assert.same({ nil, 'timeout' }, { ch:send(4, 0) })
      assert.same({ 1, { 'x' } }, ch:recv())
      assert.equal('two\0bytes', ch:recv())
      assert.equal(3, ch:recv())
      assert.same({ nil, 'timeout' }, { ch:recv(0) })
      assert.same({ nil, 'timeout' }, { ch:recv(0.05) })
    end)
  end)

  it("after close: buffered values first, then nil, 'closed'; sends fail", function()
    run(function()
      local ch = asio.shared_channel(2)
      ch:send('a')
      assert.is_true(ch:close())
      assert.is_false(ch:close())
      assert.is_true(ch:is_closed())
      assert.same({ nil, 'closed' }, { ch:send('b') })
      assert.equal('a', ch:recv())
      assert.same({ nil, 'closed' }, { ch:recv() })
      local got = {}
      for v in ch:iter() do got[#got + 1] = v end
      assert.same({}, got)
    end)
  end)

  it("rendezvous at capacity 0 between light threads, and close wakes a waiting sender", function()
    run(function()
      local ch = asio.shared_channel()
      assert.equal(0, ch:capacity())
      assert.same({ nil, 'timeout' }, { ch:send(1, 0) }) -- nobody receives
      local got = {}
      local consumer = asio.spawn_light_thread(function()
        for v in ch:iter() do got[#got + 1] = v end
      end)
      for i = 1, 50 do assert.is_true(ch:send(i)) end
      ch:close()
      consumer:join()
      assert.equal(50, #got)
      for i = 1, 50 do assert.equal(i, got[i]) end
      local waiting = asio.shared_channel(0)
      local r
      local sender = asio.spawn_light_thread(function() r = { waiting:send('x') } end)
      asio.sleep(0.01)
      waiting:close()
      sender:join()
      assert.same({ nil, 'closed' }, r)
    end)
  end)

  it("raises on bad arguments and on values that cannot be copied, naming the path", function()
    run(function()
      raises("capacity must be a non-negative integer", asio.shared_channel, -1)
      raises("capacity must be a non-negative integer", asio.shared_channel, 1.5)
      raises("number expected", asio.shared_channel, 'x')
      local ch = asio.shared_channel(1)
      raises("value expected, got nil", ch.send, ch, nil)
      raises("send: value.opts.cb: cannot copy a function", ch.send, ch, { opts = { cb = print } })
      raises("bad self to 'send' (shared channel expected, got number)", ch.send, 1)
      raises("timeout must be a non-negative number", ch.recv, ch, -1)
      assert.equal(0, #ch) -- nothing half-sent
      assert.equal(math.huge, asio.shared_channel(math.huge):capacity())
    end)
  end)

  it("a receiver killed or timed out while waiting loses nothing: the next one gets the value", function()
    run(function()
      local ch = asio.shared_channel(0)
      local victim = asio.spawn_light_thread(function() ch:recv() end)
      local late = asio.spawn_light_thread(function() return ch:recv(0.01) end)
      asio.sleep(0.02)
      victim:kill()
      assert.same({ true, nil, 'timeout' }, { late:join() })
      local got
      local receiver = asio.spawn_light_thread(function() got = ch:recv() end)
      asio.sleep(0)
      assert.is_true(ch:send('kept'))
      receiver:join()
      assert.equal('kept', got)
    end)
  end)

  it("comes back from a round trip as the same handle", function()
    run(function()
      local ch = asio.shared_channel(1)
      local a, t = asio._codec_roundtrip(ch, { inner = ch })
      assert.is_true(rawequal(ch, a))
      assert.is_true(rawequal(ch, t.inner))
    end)
  end)
end)

describe("asio.shared_channel between states", function()
  it("carries values both ways between a light thread and another state", function()
    run(function()
      local requests, answers = asio.shared_channel(0), asio.shared_channel(4)
      local th = asio.thread(function(req, ans)
        local n = 0
        for v in req:iter() do
          n = n + 1
          ans:send({ echo = v, doubled = v.x * 2 })
        end
        return n
      end, requests, answers)
      for i = 1, 200 do
        assert.is_true(requests:send({ x = i, pad = ('p'):rep(i % 7) }))
        local a = answers:recv(10)
        assert.equal(i * 2, a.doubled)
        assert.equal(('p'):rep(i % 7), a.echo.pad)
      end
      requests:close()
      assert.same({ true, 200 }, { th:join(10) })
    end)
  end)

  it("8 states x 10,000 messages: nothing lost or duplicated, FIFO per sender", function()
    run(function()
      local ch = asio.shared_channel(64)
      local producers = {}
      for p = 1, 8 do
        producers[p] = asio.thread(function(c, id)
          for i = 1, 10000 do assert(c:send({ id, i })) end
          return true
        end, ch, p)
      end
      local last, count = {}, 0
      for p = 1, 8 do last[p] = 0 end
      for _ = 1, 80000 do
        local m = assert(ch:recv(20))
        local p, i = m[1], m[2]
        assert.equal(last[p] + 1, i, 'out of order or duplicated for sender ' .. p)
        last[p] = i
        count = count + 1
      end
      assert.equal(80000, count)
      for p = 1, 8 do
        assert.equal(10000, last[p])
        assert.same({ true, true }, { producers[p]:join(10) })
      end
      -- Every other state holding it has ended: the channel closed itself.
      assert.same({ nil, 'closed' }, { ch:recv(0) })
    end, 120)
  end)

  it("close wakes the waiters of every state", function()
    run(function()
      local empty, full = asio.shared_channel(0), asio.shared_channel(1)
      full:send('fills it')
      local ready = asio.shared_channel(8)
      local threads = {}
      for i = 1, 4 do
        threads[i] = asio.thread(function(e, f, r)
          local got = {}
          local recv_th = asio.spawn_light_thread(function() got.recv = { e:recv() } end)
          local send_th = asio.spawn_light_thread(function() got.send = { f:send('x') } end)
          asio.sleep(0) -- both park
          r:send(true)
          recv_th:join()
          send_th:join()
          return got.recv[2], got.send[2]
        end, empty, full, ready)
      end
      for _ = 1, 4 do assert(ready:recv(10)) end
      asio.sleep(0.02)
      empty:close()
      full:close()
      for i = 1, 4 do
        assert.same({ true, 'closed', 'closed' }, { threads[i]:join(10) })
      end
      assert.equal('fills it', full:recv())
    end)
  end)

  it("select over a shared and a local channel", function()
    run(function()
      local shared, loc = asio.shared_channel(0), asio.channel(0)
      local th = asio.thread(function(c)
        for i = 1, 3 do c:send('remote' .. i) end
        return true
      end, shared)
      asio.spawn_light_thread(function()
        for i = 1, 3 do loc:send('local' .. i) end
      end)
      local seen = {}
      for _ = 1, 6 do
        local i, v = asio.select({ { 'recv', shared }, { 'recv', loc } }, 10)
        assert.truthy(i, v)
        seen[v] = (seen[v] or 0) + 1
        assert.equal(i == 1 and 'remote' or 'local', v:match('^%a+'))
      end
      for k = 1, 3 do
        assert.equal(1, seen['remote' .. k])
        assert.equal(1, seen['local' .. k])
      end
      assert.same({ true, true }, { th:join(10) })
      -- a send case on a full shared channel, a timeout, and closed
      local full = asio.shared_channel(1)
      full:send(1)
      assert.same({ nil, 'timeout' }, { asio.select({ { 'send', full, 2 }, { 'recv', loc } }, 0.02) })
      full:close()
      assert.same({ 1, nil, 'closed' }, { asio.select({ { 'send', full, 2 } }) })
    end)
  end)

  it("closes itself once every other state holding it has ended: no wait forever", function()
    run(function()
      local ch = asio.shared_channel(1)
      -- A receiver waiting on a state that ends without sending.
      local th = asio.thread(function(c) return c:capacity() end, ch)
      assert.same({ nil, 'closed' }, { ch:recv(10) })
      assert.same({ true, 1 }, { th:join(10) })
      -- A sender blocked on a full channel whose receiving state ends.
      local ch2 = asio.shared_channel(1)
      ch2:send('fills it')
      local th2 = asio.thread(function(c) asio.sleep(0.02) return true end, ch2)
      assert.same({ nil, 'closed' }, { ch2:send('never taken', 10) })
      th2:join(10)
      assert.equal('fills it', ch2:recv())
    end)
  end)

  it("a light thread waiting on another state keeps the loop running, without a join", function()
    -- run_async drives the loop only while it has work: the wait must count as work.
    local got
    helpers.run_async(function()
      local ch = asio.shared_channel(0)
      asio.thread(function(c) asio.sleep(0.05) c:send('late') end, ch)
      asio.spawn_light_thread(function() got = ch:recv() end)
    end, { timeout = 30 })
    assert.equal('late', got)
  end)

  it("the last reference frees the channel and what it buffers #subprocess", function()
    threads.run_script('shared_channel_free', 'freed')
  end)

  it("a channel passed through a channel reaches the other state, and back", function()
    run(function()
      local control = asio.shared_channel(1)
      local th = asio.thread(function(c)
        local reply = c:recv()
        reply:send('via a channel')
        return true
      end, control)
      local reply = asio.shared_channel(1)
      control:send(reply)
      assert.equal('via a channel', reply:recv(10))
      assert.same({ true, true }, { th:join(10) })
    end)
  end)

  it("lua_close of a state with light threads waiting on shared channels #subprocess", function()
    threads.run_script('shared_channel_close', 'closed cleanly')
  end)
end)
