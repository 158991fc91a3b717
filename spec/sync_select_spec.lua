-- SPDX-License-Identifier: MIT
-- asio.select: readiness, fairness, exactly-one completion, close, timeouts, kills, errors.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'

local spawn = asio.spawn_light_thread

local function settle()
  for _ = 1, 5 do asio.sleep(0.001) end
end

describe('asio.select', function()
  it('picks among ready cases fairly', function()
    helpers.run_async(function()
      math.randomseed(1234)
      local a, b = asio.channel(1), asio.channel(1)
      local hits = { 0, 0 }
      local rounds = 2000
      for _ = 1, rounds do
        if a:len() == 0 then a:send('a') end
        if b:len() == 0 then b:send('b') end
        local i, v = asio.select({ { 'recv', a }, { 'recv', b } }, 0)
        assert.equal(i == 1 and 'a' or 'b', v)
        hits[i] = hits[i] + 1
      end
      for i = 1, 2 do
        assert.is_true(hits[i] >= 0.35 * rounds and hits[i] <= 0.65 * rounds,
          ('case %d chosen %d times of %d'):format(i, hits[i], rounds))
      end
    end)
  end)

  it('waits for the first case that becomes ready', function()
    helpers.run_async(function()
      local a, b = asio.channel(), asio.channel()
      spawn(function() asio.sleep(0.01); b:send('from b') end)
      assert.same({ 2, 'from b' }, { asio.select({ { 'recv', a }, { 'recv', b } }) })
      -- the abandoned case left no live receiver behind on a
      assert.same({ nil, 'timeout' }, { a:send('x', 0) })
    end)
  end)

  it('completes a send case', function()
    helpers.run_async(function()
      local a, b = asio.channel(), asio.channel()
      local r = spawn(function() asio.sleep(0.01); return b:recv() end)
      assert.same({ 2, true }, { asio.select({ { 'recv', a }, { 'send', b, 42 } }) })
      assert.same({ true, 42 }, { r:join() })
      -- ready send case into a buffered channel
      local c = asio.channel(1)
      assert.same({ 1, true }, { asio.select({ { 'send', c, 'v' } }, 0) })
      assert.equal('v', c:recv(0))
    end)
  end)

  it('completes exactly one case when several counterparts arrive', function()
    helpers.run_async(function()
      for _ = 1, 20 do
        local a, b = asio.channel(), asio.channel()
        local sent = 0
        local s1 = spawn(function() if a:send(1, 0.05) then sent = sent + 1 end end)
        local s2 = spawn(function() if b:send(2, 0.05) then sent = sent + 1 end end)
        local i, v = asio.select({ { 'recv', a }, { 'recv', b } })
        assert.equal(i, v)
        asio.wait_all(s1, s2)
        assert.equal(1, sent)
      end
    end)
  end)

  it('fires a case whose channel is closed', function()
    helpers.run_async(function()
      local a, b = asio.channel(), asio.channel()
      b:close()
      assert.same({ 2, nil, 'closed' }, { asio.select({ { 'recv', a }, { 'recv', b } }, 0) })
      assert.same({ 2, nil, 'closed' }, { asio.select({ { 'recv', a }, { 'send', b, 1 } }) })
      spawn(function() asio.sleep(0.01); a:close() end)
      local c = asio.channel()
      assert.same({ 2, nil, 'closed' }, { asio.select({ { 'recv', c }, { 'send', a, 1 } }) })
    end)
  end)

  it('times out, and never blocks with timeout 0', function()
    helpers.run_async(function()
      local a, b = asio.channel(), asio.channel(1)
      b:send('full')
      local t0 = asio.now()
      assert.same({ nil, 'timeout' }, { asio.select({ { 'recv', a }, { 'send', b, 1 } }, 0.05) })
      local dt = asio.now() - t0
      assert.is_true(dt >= 0.04 and dt < 2, 'select timeout after ' .. dt)
      local ran = false
      local other = spawn(function() ran = true end)
      assert.same({ nil, 'timeout' }, { asio.select({ { 'recv', a }, { 'send', b, 1 } }, 0) })
      assert.is_false(ran)
      other:join()
      -- the timed-out select left nothing queued on either channel
      assert.same({ nil, 'timeout' }, { a:send(1, 0) })
      assert.equal('full', b:recv(0))
      assert.same({ nil, 'timeout' }, { b:recv(0) })
    end)
  end)

  it('does not grow queues when polled with short timeouts', function()
    helpers.run_async(function()
      local a = asio.channel()
      for _ = 1, 200 do asio.select({ { 'recv', a } }, 0.0001) end
      local r = spawn(function() return a:recv() end)
      assert.is_true(a:send('after'))
      assert.same({ true, 'after' }, { r:join() })
    end)
  end)

  it('gives a value back when the selecting thread is killed before it resumes', function()
    helpers.run_async(function()
      local a, b = asio.channel(), asio.channel()
      local th = spawn(function()
        asio.select({ { 'recv', a }, { 'recv', b } })
        error('killed select resumed')
      end)
      settle()
      assert.is_true(b:send('kept'))
      th:kill()
      assert.equal('kept', b:recv(0))
      assert.same({ nil, 'timeout' }, { a:send(1, 0) })
      assert.equal(0, asio._sync_pending_handoffs())
    end)
  end)

  it('raises on bad arguments and outside a light thread', function()
    local ch = asio.channel()
    assert.has_error(function() asio.select() end,
      "bad argument #1 to 'select' (table of cases expected, got nil)")
    assert.has_error(function() asio.select({}) end,
      "bad argument #1 to 'select' (at least one case expected)")
    assert.has_error(function() asio.select({ { 'peek', ch } }) end,
      "bad argument #1 to 'select' (case 1: \"recv\" or \"send\" expected, got peek)")
    assert.has_error(function() asio.select({ { 'recv', ch }, { 'send', ch } }) end,
      "bad argument #1 to 'select' (case 2: value to send expected, got nil)")
    assert.has_error(function() asio.select({ { 'recv', {} } }) end,
      "bad argument #1 to 'select' (case 1: channel expected, got table)")
    assert.has_error(function() asio.select({ { 'recv', ch } }, -1) end)
    assert.has_error(function() asio.select({ { 'recv', ch } }) end,
      'select: not called from a light thread')
    assert.same({ nil, 'timeout' }, { asio.select({ { 'recv', ch } }, 0) })
    helpers.assert_clean()
  end)
end)
