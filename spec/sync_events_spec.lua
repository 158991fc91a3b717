-- SPDX-License-Identifier: MIT
-- asio.event, asio.condition, asio.waitgroup, asio.wait_all, asio.wait_any.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'

local spawn = asio.spawn_light_thread

local function settle()
  for _ = 1, 5 do asio.sleep(0.001) end
end

local function assert_times_out(f)
  local t0 = asio.now()
  local ok, err = f()
  local dt = asio.now() - t0
  assert.is_nil(ok)
  assert.equal('timeout', err)
  assert.is_true(dt >= 0.04 and dt < 2, 'timed out after ' .. dt)
end

describe('asio.event', function()
  it('releases every waiter on set and stays set until clear', function()
    helpers.run_async(function()
      local e = asio.event()
      local n = 0
      local ths = {}
      for k = 1, 5 do ths[k] = spawn(function() assert(e:wait()); n = n + 1 end) end
      settle()
      assert.equal(0, n)
      e:set()
      e:clear() -- those already released still return true
      asio.wait_all(unpack(ths))
      assert.equal(5, n)
      assert.is_false(e:is_set())
      e:set()
      assert.is_true(e:wait())
      assert.is_true(e:wait(0))
    end)
  end)

  it('times out, never blocks with timeout 0, survives a killed waiter', function()
    helpers.run_async(function()
      local e = asio.event()
      assert.same({ nil, 'timeout' }, { e:wait(0) })
      assert_times_out(function() return e:wait(0.05) end)
      local victim = spawn(function() e:wait(); error('killed waiter resumed') end)
      local other = spawn(function() return e:wait() end)
      settle()
      victim:kill()
      e:set()
      assert.same({ true, true }, { other:join() })
    end)
  end)

  it('raises outside a light thread only when it would wait', function()
    local e = asio.event()
    assert.has_error(function() e:wait() end, 'wait: not called from a light thread')
    e:set()
    assert.is_true(e:wait())
    assert.has_error(function() e:wait(-1) end)
  end)
end)

describe('asio.condition', function()
  it('signal wakes the oldest waiter, broadcast wakes all', function()
    helpers.run_async(function()
      local c = asio.condition()
      local woke = {}
      local ths = {}
      for k = 1, 4 do
        ths[k] = spawn(function() assert(c:wait()); woke[#woke + 1] = k end)
        settle()
      end
      assert.is_true(c:signal())
      settle()
      assert.same({ 1 }, woke)
      assert.equal(3, c:broadcast())
      asio.wait_all(unpack(ths))
      assert.same({ 1, 2, 3, 4 }, woke)
      assert.is_false(c:signal())
      assert.equal(0, c:broadcast())
    end)
  end)

  it('times out, returns at once with timeout 0', function()
    helpers.run_async(function()
      local c = asio.condition()
      assert.same({ nil, 'timeout' }, { c:wait(0) })
      assert_times_out(function() return c:wait(0.05) end)
      assert.is_false(c:signal()) -- the timed-out waiter is gone
    end)
  end)

  it('passes a signal on when the signalled waiter is killed before it runs', function()
    helpers.run_async(function()
      local c = asio.condition()
      local victim = spawn(function() c:wait(); error('victim resumed') end)
      local other = spawn(function() return c:wait() end)
      settle()
      assert.is_true(c:signal())
      victim:kill()
      assert.same({ true, true }, { other:join() })
      -- a waiter killed while queued is skipped
      local queued = spawn(function() c:wait(); error('queued resumed') end)
      local last = spawn(function() return c:wait() end)
      settle()
      queued:kill()
      assert.is_true(c:signal())
      assert.same({ true, true }, { last:join() })
    end)
  end)

  it('raises outside a light thread', function()
    local c = asio.condition()
    assert.has_error(function() c:wait() end, 'wait: not called from a light thread')
    assert.is_false(c:signal())
  end)
end)

describe('asio.waitgroup', function()
  it('waits for 10,000 threads', function()
    helpers.run_async(function()
      local wg = asio.waitgroup()
      local n = 10000
      local finished = 0
      for k = 1, n do
        wg:add(1)
        spawn(function()
          if k % 3 == 0 then asio.yield() end
          finished = finished + 1
          wg:done()
        end)
      end
      local watchers = {}
      for k = 1, 3 do watchers[k] = spawn(function() return wg:wait() end) end
      assert.is_true(wg:wait())
      assert.equal(n, finished)
      assert.equal(0, wg:count())
      for k = 1, 3 do assert.same({ true, true }, { watchers[k]:join() }) end
    end, { timeout = 20 })
  end)

  it('times out, never blocks with timeout 0, rejects a negative counter', function()
    helpers.run_async(function()
      local wg = asio.waitgroup()
      assert.is_true(wg:wait(0))
      wg:add(2)
      assert.same({ nil, 'timeout' }, { wg:wait(0) })
      assert_times_out(function() return wg:wait(0.05) end)
      local victim = spawn(function() wg:wait(); error('killed waiter resumed') end)
      settle()
      victim:kill()
      wg:done()
      wg:add(-1)
      assert.is_true(wg:wait())
      assert.has_error(function() wg:done() end, 'done: waitgroup counter would go negative')
      assert.has_error(function() wg:add(-3) end, 'add: waitgroup counter would go negative')
      assert.has_error(function() wg:add(0.5) end,
        "bad argument #1 to 'add' (integer expected, got 0.5)")
      assert.has_error(function() wg:add('x') end)
      assert.equal(0, wg:count())
    end)
  end)

  it('raises outside a light thread', function()
    local wg = asio.waitgroup()
    wg:add()
    assert.has_error(function() wg:wait() end, 'wait: not called from a light thread')
    wg:done()
    assert.is_true(wg:wait())
  end)
end)

describe('asio.wait_all / asio.wait_any', function()
  it('wait_all returns one {ok, ...} table per thread, in argument order', function()
    helpers.run_async(function()
      -- (a thread that raises would fail the test through the error hook; a kill shows the
      -- failure shape)
      local a = spawn(function() asio.sleep(0.02); return 'a', nil, 3 end)
      local b = spawn(function() return end)
      local c = spawn(function() asio.sleep(10) end)
      settle()
      c:kill()
      local ra, rb, rc = asio.wait_all(a, b, c)
      assert.same({ true, 'a', nil, 3, n = 4 }, ra)
      assert.same({ true, n = 1 }, rb)
      assert.same({ false, 'killed', n = 2 }, rc)
    end)
  end)

  it('wait_all times out', function()
    helpers.run_async(function()
      local a = spawn(function() asio.sleep(0.5) end)
      assert_times_out(function() return asio.wait_all(a, 0.05) end)
      assert.same({ nil, 'timeout' }, { asio.wait_all(a, 0) })
      a:kill()
    end)
  end)

  it('wait_any returns the index of the first to finish and its results', function()
    helpers.run_async(function()
      local a = spawn(function() asio.sleep(0.3) end)
      local b = spawn(function() asio.sleep(0.01); return 'b', 2 end)
      assert.same({ 2, true, 'b', 2 }, { asio.wait_any(a, b) })
      assert.same({ 2, true, 'b', 2 }, { asio.wait_any(a, b, 0) })
      assert_times_out(function() return asio.wait_any(a, 0.05) end)
      a:kill()
      assert.same({ 1, false, 'killed' }, { asio.wait_any(a) })
    end)
  end)

  it('raise on bad arguments', function()
    assert.has_error(function() asio.wait_all() end,
      "bad argument #1 to 'wait_all' (light thread expected, got no value)")
    assert.has_error(function() asio.wait_any({}) end,
      "bad argument #1 to 'wait_any' (light thread expected, got table)")
    assert.has_error(function() asio.wait_any(1) end)
  end)
end)
