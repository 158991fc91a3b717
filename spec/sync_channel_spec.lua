-- SPDX-License-Identifier: MIT
-- Channels: delivery, order, close, timeouts, kills, argument errors.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'

local spawn = asio.spawn_light_thread

-- Lets every thread that is ready run until it parks again.
local function settle()
  for _ = 1, 5 do asio.sleep(0.001) end
end

local function elapsed_since(t0)
  return asio.now() - t0
end

describe('asio.channel', function()
  for _, cap in ipairs { 0, 1, 16 } do
    it('delivers every value exactly once from 1 producer to 4 consumers (capacity ' .. cap .. ')',
      function()
        helpers.run_async(function()
          local n = 2000
          local ch = asio.channel(cap)
          local seen, got = {}, { 0, 0, 0, 0 }
          local consumers = {}
          for c = 1, 4 do
            consumers[c] = spawn(function()
              for v in ch:iter() do
                assert(not seen[v], 'value received twice: ' .. tostring(v))
                seen[v] = c
                got[c] = got[c] + 1
                if v % 7 == 0 then asio.yield() end
              end
              return ch:recv()
            end)
          end
          for i = 1, n do assert.is_true(ch:send(i)) end
          ch:close()
          for c = 1, 4 do
            local ok, v, err = consumers[c]:join()
            assert.is_true(ok)
            assert.is_nil(v)
            assert.equal('closed', err)
          end
          local total = 0
          for i = 1, n do assert.is_truthy(seen[i], 'value lost: ' .. i) end
          for c = 1, 4 do total = total + got[c] end
          assert.equal(n, total)
        end, { timeout = 10 })
      end)
  end

  it('keeps values in FIFO order for one consumer', function()
    helpers.run_async(function()
      for _, cap in ipairs { 0, 3 } do
        local ch = asio.channel(cap)
        local out = {}
        local cons = spawn(function() for v in ch:iter() do out[#out + 1] = v end end)
        for i = 1, 100 do ch:send(i) end
        ch:close()
        cons:join()
        for i = 1, 100 do assert.equal(i, out[i]) end
      end
    end)
  end)

  it('serves waiting receivers in FIFO order', function()
    helpers.run_async(function()
      local ch = asio.channel()
      local got = {}
      local ths = {}
      for k = 1, 5 do
        ths[k] = spawn(function() got[k] = ch:recv() end)
        settle() -- k is parked before k+1 arrives
      end
      for i = 1, 5 do assert.is_true(ch:send(i * 10)) end
      asio.wait_all(unpack(ths))
      assert.same({ 10, 20, 30, 40, 50 }, got)
    end)
  end)

  it('serves waiting senders in FIFO order', function()
    helpers.run_async(function()
      for _, cap in ipairs { 0, 2 } do
        local ch = asio.channel(cap)
        for i = 1, cap do ch:send(i) end
        local ths = {}
        for k = cap + 1, cap + 5 do
          ths[#ths + 1] = spawn(function() assert(ch:send(k)) end)
          settle()
        end
        for i = 1, cap + 5 do assert.equal(i, ch:recv()) end
        asio.wait_all(unpack(ths))
        assert.equal(0, ch:len())
      end
    end)
  end)

  it('reports its length with #ch and ch:len()', function()
    helpers.run_async(function()
      local ch = asio.channel(3)
      assert.equal(0, #ch)
      ch:send('a')
      ch:send('b')
      assert.equal(2, #ch)
      assert.equal(2, ch:len())
      assert.equal(3, ch:capacity())
      ch:recv()
      assert.equal(1, #ch)
      assert.equal(0, #asio.channel())
      assert.matches('asio.channel', tostring(ch))
    end)
  end)

  describe('close', function()
    it('lets buffered values be received, then reports "closed"', function()
      helpers.run_async(function()
        local ch = asio.channel(4)
        ch:send(1)
        ch:send(2)
        assert.is_true(ch:close())
        assert.is_false(ch:close())
        assert.is_true(ch:is_closed())
        assert.same({ nil, 'closed' }, { ch:send(3) })
        assert.equal(1, ch:recv())
        assert.equal(2, ch:recv(0))
        assert.same({ nil, 'closed' }, { ch:recv() })
        assert.same({ nil, 'closed' }, { ch:recv(0) })
        assert.same({ nil, 'closed' }, { ch:send(3, 0) })
      end)
    end)

    it('releases waiting receivers and senders with "closed"', function()
      helpers.run_async(function()
        local r = asio.channel()
        local s = asio.channel()
        local ths = {}
        for k = 1, 3 do
          ths[#ths + 1] = spawn(function() return r:recv() end)
          ths[#ths + 1] = spawn(function() return s:send(k) end)
        end
        settle()
        r:close()
        s:close()
        local res = { asio.wait_all(unpack(ths)) }
        for k = 1, #res do assert.same({ true, nil, 'closed', n = 3 }, res[k]) end
        -- the values of the released senders are gone, not buffered
        assert.same({ nil, 'closed' }, { s:recv(0) })
      end)
    end)

    it('ends ch:iter()', function()
      helpers.run_async(function()
        local ch = asio.channel(2)
        spawn(function() ch:send('x'); ch:send('y'); ch:close() end)
        local out = {}
        for v in ch:iter() do out[#out + 1] = v end
        assert.same({ 'x', 'y' }, out)
      end)
    end)
  end)

  describe('timeouts', function()
    it('returns nil, "timeout" from recv and send after the timeout', function()
      helpers.run_async(function()
        local ch = asio.channel()
        local full = asio.channel(1)
        full:send(0)
        local cases = {
          function() return ch:recv(0.05) end,
          function() return ch:send(1, 0.05) end,
          function() return full:send(1, 0.05) end,
        }
        for _, f in ipairs(cases) do
          local t0 = asio.now()
          local v, err = f()
          local dt = elapsed_since(t0)
          assert.is_nil(v)
          assert.equal('timeout', err)
          assert.is_true(dt >= 0.04, 'returned too early: ' .. dt)
          assert.is_true(dt < 2, 'returned too late: ' .. dt)
        end
        -- nothing was left behind by the timed-out calls
        assert.same({ nil, 'timeout' }, { ch:send(1, 0) })
        assert.same({ nil, 'timeout' }, { ch:recv(0) })
        assert.equal(0, full:recv(0))
      end)
    end)

    it('never blocks with timeout 0', function()
      helpers.run_async(function()
        local ran = false
        local other = spawn(function() ran = true end)
        local ch = asio.channel()
        local full = asio.channel(1)
        full:send(1)
        assert.same({ nil, 'timeout' }, { ch:recv(0) })
        assert.same({ nil, 'timeout' }, { ch:send(1, 0) })
        assert.same({ nil, 'timeout' }, { full:send(2, 0) })
        assert.equal(1, full:recv(0))
        assert.is_true(full:send(2, 0))
        assert.is_false(ran, 'a timeout-0 call let another thread run')
        other:join()
      end)
    end)

    it('completes a rendezvous with timeout 0 when the other side waits', function()
      helpers.run_async(function()
        local ch = asio.channel()
        local r = spawn(function() return ch:recv() end)
        settle()
        assert.is_true(ch:send('v', 0))
        assert.same({ true, 'v' }, { r:join() })
        local s = spawn(function() return ch:send('w') end)
        settle()
        assert.equal('w', ch:recv(0))
        assert.same({ true, true }, { s:join() })
      end)
    end)
  end)

  describe('killed waiters', function()
    it('skips a killed receiver and a killed sender', function()
      helpers.run_async(function()
        local ch = asio.channel()
        local r = spawn(function() ch:recv(); error('killed receiver resumed') end)
        settle()
        r:kill()
        assert.same({ nil, 'timeout' }, { ch:send('a', 0) })
        local s = spawn(function() ch:send('lost'); error('killed sender resumed') end)
        settle()
        s:kill()
        assert.same({ nil, 'timeout' }, { ch:recv(0) })
        -- still a working channel
        local r2 = spawn(function() return ch:recv() end)
        assert.is_true(ch:send('b'))
        assert.same({ true, 'b' }, { r2:join() })
      end)
    end)

    it('gives a value back when its receiver is killed before it resumes', function()
      helpers.run_async(function()
        for _, cap in ipairs { 0, 2 } do
          local ch = asio.channel(cap)
          local r1 = spawn(function() ch:recv(); error('r1 resumed') end)
          settle()
          assert.is_true(ch:send('v1')) -- handed to r1, which has not run yet
          r1:kill()
          assert.equal(1, ch:len())
          assert.equal('v1', ch:recv(0))
          -- with a second receiver waiting, the value goes on to it
          local r2 = spawn(function() ch:recv(); error('r2 resumed') end)
          local r3 = spawn(function() return ch:recv() end)
          settle()
          assert.is_true(ch:send('v2'))
          r2:kill()
          assert.same({ true, 'v2' }, { r3:join() })
          assert.equal(0, ch:len())
          assert.equal(0, asio._sync_pending_handoffs())
        end
      end)
    end)
  end)

  it('ignores a stray asio.wake of a waiting thread', function()
    helpers.run_async(function()
      local ch = asio.channel()
      local r = spawn(function() return ch:recv() end)
      local t = spawn(function() return ch:recv(0.05) end)
      settle()
      assert.is_true(asio.wake(r, 'stray'))
      assert.is_true(asio.wake(t, 'stray'))
      settle()
      assert.equal('waiting', r:status())
      assert.is_true(ch:send('real'))
      assert.same({ true, 'real' }, { r:join() })
      local t0 = asio.now()
      assert.same({ true, nil, 'timeout' }, { t:join() })
      assert.is_true(asio.now() - t0 < 2)
    end)
  end)

  describe('errors', function()
    it('raises on bad arguments', function()
      assert.has_error(function() asio.channel(-1) end,
        "bad argument #1 to 'channel' (capacity must be a non-negative integer, got -1)")
      assert.has_error(function() asio.channel(1.5) end)
      assert.has_error(function() asio.channel('x') end)
      local ch = asio.channel(1)
      assert.has_error(function() ch:send(nil) end,
        "bad argument #1 to 'send' (value expected, got nil)")
      assert.has_error(function() ch:send(1, -1) end,
        "bad argument #2 to 'send' (timeout must be a non-negative number, got -1)")
      assert.has_error(function() ch:recv('soon') end)
      assert.has_error(function() ch:recv(0 / 0) end)
      assert.has_error(function() ch.send({}, 1) end, "bad self to 'send' (channel expected, got table)")
      assert.equal(0, ch:len())
    end)

    it('raises when a call would block outside a light thread', function()
      local ch = asio.channel()
      assert.has_error(function() ch:recv() end, 'recv: not called from a light thread')
      assert.has_error(function() ch:send(1) end, 'send: not called from a light thread')
      assert.has_error(function() ch:recv(1) end, 'recv: not called from a light thread')
      -- calls that need not wait work anywhere
      assert.same({ nil, 'timeout' }, { ch:recv(0) })
      local b = asio.channel(1)
      assert.is_true(b:send('x'))
      assert.equal('x', b:recv())
      b:close()
      assert.same({ nil, 'closed' }, { b:recv() })
      helpers.assert_clean()
    end)
  end)
end)

describe("channel values given back by killed receivers", function()
  it("keep their send order, whatever order the receivers are killed in", function()
    helpers.run_async(function()
      for _, cap in ipairs({ 0, 1, 3, 64, math.huge }) do
        for _, order in ipairs({ { 1, 2, 3 }, { 3, 2, 1 }, { 2, 1, 3 }, { 1, 3, 2 } }) do
          local ch = asio.channel(cap)
          local receivers = {}
          for i = 1, 3 do receivers[i] = spawn(function() ch:recv() end) end
          asio.yield() -- all three wait
          for i = 1, 3 do assert.is_true(ch:send('h' .. i, 0)) end -- handed, none has run
          local expected = { 'h1', 'h2', 'h3' }
          if cap >= 1 then
            assert.is_true(ch:send('b4', 0)) -- buffered: newer than every handed value
            expected[4] = 'b4'
          end
          for _, i in ipairs(order) do receivers[i]:kill() end
          local got = {}
          while #ch > 0 do got[#got + 1] = ch:recv(0) end
          assert.same(expected, got, 'capacity ' .. tostring(cap) .. ', kills ' .. table.concat(order))
        end
      end
    end)
  end)
end)
