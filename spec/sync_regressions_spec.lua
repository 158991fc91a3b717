-- SPDX-License-Identifier: MIT
-- Regressions of the coordination layer: killed waiters, leaks, wait_all/wait_any outside light
-- threads, error messages.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'

local spawn = asio.spawn_light_thread

-- Lua heap in KB after `round()` and two full collections.
local function heap_after(round)
  round()
  collectgarbage(); collectgarbage()
  return collectgarbage('count')
end

-- Runs `round` three times: what a round leaves behind must not grow the heap (a leak of a few
-- hundred bytes per round trip shows as megabytes here).
local function assert_bounded(round)
  local first = heap_after(round)
  heap_after(round)
  local third = heap_after(round)
  assert.is_true(third < first + 1024,
    ('Lua heap grew from %.0f KB to %.0f KB over two rounds'):format(first, third))
end


-- The message of f's error, checking that it points at this file (the caller), not inside.
local function err_of(f)
  local ok, msg = pcall(f)
  assert.is_false(ok)
  assert.matches('sync_regressions_spec%.lua:%d+: ', msg)
  return msg:match('sync_regressions_spec%.lua:%d+: (.*)$')
end
describe('killed waiters', function()
  it('a killed waiting writer lets the readers queued behind it in', function()
    helpers.run_async(function()
      local rw = asio.rwlock()
      rw:rlock()
      local w = spawn(function() return rw:wlock() end)
      asio.yield()
      local r2 = spawn(function() return rw:rlock(5) end)
      asio.yield()
      w:kill()
      assert.same({ true, true }, { r2:join() })
      assert.same({ 2, false }, { rw:state() })
      rw:runlock(); rw:runlock()
      -- and the lock still works both ways
      assert.is_true(rw:wlock(0))
      rw:wunlock()
    end)
  end)

  -- Each case: make(): the primitive, held or empty so that waiters queue; wait(p): one waiting
  -- call; finish(p): releases it, so that one more waiter gets through.
  local cases = {
    { 'mutex', function() local m = asio.mutex(); m:lock(); return m end,
      function(m) m:lock() end, function(m) m:unlock() end },
    { 'rwlock (writers)', function() local rw = asio.rwlock(); rw:rlock(); return rw end,
      function(rw) rw:wlock() end, function(rw) rw:runlock() end },
    { 'rwlock (readers)', function() local rw = asio.rwlock(); rw:wlock(); return rw end,
      function(rw) rw:rlock() end, function(rw) rw:wunlock() end },
    { 'semaphore', function() return asio.semaphore(0) end,
      function(s) s:acquire() end, function(s) s:release() end },
    { 'condition', function() return asio.condition() end,
      function(c) c:wait() end, function(c) c:signal() end },
    { 'event', function() return asio.event() end,
      function(e) e:wait() end, function(e) e:set() end },
    { 'channel receivers', function() return asio.channel() end,
      function(ch) ch:recv() end, function(ch) ch:send(1, 0) end },
    { 'channel senders', function() return asio.channel() end,
      function(ch) ch:send(1) end, function(ch) ch:recv(0) end },
    { 'select', function() return { asio.channel(), asio.channel() } end,
      function(p) asio.select({ { 'recv', p[1] }, { 'send', p[2], 1 } }) end,
      function(p) p[1]:send(1, 0) end },
  }
  for _, case in ipairs(cases) do
    local name, make, wait, finish = case[1], case[2], case[3], case[4]
    it('do not pile up in a busy ' .. name, function()
      helpers.run_async(function()
        local p = make()
        assert_bounded(function()
          for _ = 1, 2000 do
            local th = spawn(wait, p)
            asio.yield()
            th:kill()
          end
        end)
        local last = spawn(wait, p)
        asio.yield()
        finish(p)
        assert.is_true((last:join(5)))
      end)
    end)
  end

  it('a channel with a killed waiter is collected', function()
    helpers.run_async(function()
      assert_bounded(function()
        for _ = 1, 2000 do
          local ch = asio.channel()
          local th = spawn(function() ch:recv() end)
          asio.yield()
          th:kill()
        end
      end)
    end)
  end)

  it('a channel that buffers itself is collected', function()
    helpers.run_async(function()
      assert_bounded(function()
        for _ = 1, 2000 do
          local ch = asio.channel(1)
          ch:send(ch)
        end
      end)
    end)
  end)

  it('the helpers of a killed wait_any die with it (and wait_all leaves none)', function()
    helpers.run_async(function()
      local p = spawn(function() asio.park() end)
      asio.yield()
      local base = asio._stats().threads
      for _, f in ipairs { asio.wait_any, asio.wait_all } do
        for _ = 1, 10 do
          local w = spawn(function() return f(p, 10) end)
          asio.yield()
          w:kill()
        end
        asio.yield()
        assert.equal(base, asio._stats().threads)
      end
      -- and p is still joinable by a wait_any that was not killed
      local w = spawn(function() return asio.wait_any(p, 5) end)
      asio.yield()
      p:kill()
      assert.same({ true, 1, false, 'killed' }, { w:join() })
    end)
  end)
end)

describe('wait_all / wait_any outside a light thread', function()
  it('answer at once when the threads already ended', function()
    local a = spawn(function() return 'a' end)
    local b = spawn(function() return 'b', 2 end)
    asio.run()
    assert.same({ { true, 'a', n = 2 }, { true, 'b', 2, n = 3 } }, { asio.wait_all(a, b) })
    assert.same({ 1, true, 'b', 2 }, { asio.wait_any(b, a) })
    assert.same({ 1, true, 'a' }, { asio.wait_any(a, b, 1) })
    -- one still running: a wait is needed, which only a light thread can do
    local c = spawn(function() asio.park() end)
    asio.poll()
    assert.has_error(function() asio.wait_all(a, c) end, 'wait_all: not called from a light thread')
    assert.has_error(function() asio.wait_any(c) end, 'wait_any: not called from a light thread')
    assert.same({ nil, 'timeout' }, { asio.wait_all(a, c, 0) })
    assert.same({ 1, true, 'a' }, { asio.wait_any(a, c) })
    c:kill()
    asio.run()
    helpers.assert_clean()
  end)
end)

describe('error messages', function()

  it('of wait_all / wait_any name plain coroutines and blame the caller', function()
    local a = spawn(function() end)
    asio.run()
    assert.equal("bad argument #1 to 'wait_any' (light thread expected, got plain coroutine)",
      err_of(function() asio.wait_any(coroutine.create(print)) end))
    assert.equal("bad argument #2 to 'wait_all' (light thread expected, got plain coroutine)",
      err_of(function() asio.wait_all(a, coroutine.create(print)) end))
    assert.equal("bad argument #2 to 'wait_all' (timeout must be a non-negative number, got -1)",
      err_of(function() asio.wait_all(a, -1) end))
    assert.equal("bad argument #1 to 'wait_any' (light thread expected, got no value)",
      err_of(function() asio.wait_any() end))
  end)

  it('of timers say what is wrong', function()
    local t = asio.timer(10, print)
    assert.equal("bad argument #1 to 'cancel' (timer expected, got no value)",
      err_of(function() t.cancel() end))
    assert.equal("bad argument #1 to 'cancel' (timer expected, got table)",
      err_of(function() t.cancel({}) end))
    t:cancel()
    assert.equal("bad argument #1 to 'timer' (delay must be a non-negative number)",
      err_of(function() asio.timer(-1, print) end))
    assert.equal("bad argument #1 to 'timer' (number expected, got string)",
      err_of(function() asio.timer('1', print) end))
    assert.equal("bad argument #1 to 'every' (interval must be a positive number)",
      err_of(function() asio.every(-1, print) end))
    assert.equal("bad argument #1 to 'every' (interval must be a positive number)",
      err_of(function() asio.every(0, print) end))
    assert.equal("bad argument #1 to 'every' (number expected, got string)",
      err_of(function() asio.every('1', print) end))
    assert.equal("bad argument #2 to 'every' (function expected, got nil)",
      err_of(function() asio.every(1) end))
    asio.run()
    helpers.assert_clean()
  end)

  it('report the type of a string given for a number', function()
    assert.equal("bad argument #1 to 'channel' (capacity must be a non-negative integer, got string)",
      err_of(function() asio.channel('2') end))
    assert.equal("bad argument #1 to 'semaphore' (non-negative integer expected, got string)",
      err_of(function() asio.semaphore('2') end))
    assert.equal("bad argument #1 to 'recv' (timeout must be a non-negative number, got string)",
      err_of(function() asio.channel(1):recv('1') end))
  end)
end)

-- Lets every other runnable light thread run (a ready thread runs before the yielder resumes).
local function settle()
  for _ = 1, 3 do asio.yield() end
end

describe('a stray asio.wake of a thread waiting in a primitive', function()
  -- Each case: make(): the primitive, in a state where wait(p, timeout) queues; finish(p): what
  -- releases one waiter (it may assert what it returns); want: what wait returns once released.
  -- The stray wake comes right before finish, so finish runs before the woken waiter does.
  local cases = {
    { 'mutex', function() local m = asio.mutex(); m:lock(); return m end,
      function(m, t) local ok = m:lock(t); m:unlock(); return ok end,
      function(m) m:unlock() end, { true } },
    { 'rwlock (writer)', function() local rw = asio.rwlock(); rw:rlock(); return rw end,
      function(rw, t) local ok = rw:wlock(t); rw:wunlock(); return ok end,
      function(rw) rw:runlock() end, { true } },
    { 'rwlock (reader)', function() local rw = asio.rwlock(); rw:wlock(); return rw end,
      function(rw, t) local ok = rw:rlock(t); rw:runlock(); return ok end,
      function(rw) rw:wunlock() end, { true } },
    { 'semaphore', function() return asio.semaphore(0) end,
      function(s, t) return s:acquire(t) end,
      function(s) s:release() end, { true } },
    { 'event', function() return asio.event() end,
      function(e, t) return e:wait(t) end,
      function(e) e:set() end, { true } },
    { 'event set and cleared at once', function() return asio.event() end,
      function(e, t) return e:wait(t) end,
      function(e) e:set(); e:clear() end, { true } },
    { 'condition', function() return asio.condition() end,
      function(c, t) return c:wait(t) end,
      function(c) assert.is_true(c:signal()) end, { true } },
    { 'condition (broadcast)', function() return asio.condition() end,
      function(c, t) return c:wait(t) end,
      function(c) assert.equal(1, c:broadcast()) end, { true } },
    { 'waitgroup', function() local wg = asio.waitgroup(); wg:add(1); return wg end,
      function(wg, t) return wg:wait(t) end,
      function(wg) wg:done() end, { true } },
    { 'channel recv (rendezvous)', function() return asio.channel() end,
      function(ch, t) return ch:recv(t) end,
      function(ch) assert.is_true(ch:send('v', 0)) end, { 'v' } },
    { 'channel recv (buffered)', function() return asio.channel(1) end,
      function(ch, t) return ch:recv(t) end,
      function(ch) assert.is_true(ch:send('v', 0)); assert.equal(0, ch:len()) end, { 'v' } },
    { 'channel send (rendezvous)', function() return asio.channel() end,
      function(ch, t) return ch:send('v', t) end,
      function(ch) assert.same({ 'v' }, { ch:recv(0) }) end, { true } },
    { 'channel send (buffered)', function() local ch = asio.channel(1); ch:send('a'); return ch end,
      function(ch, t) return ch:send('v', t) end,
      function(ch) assert.same({ 'a' }, { ch:recv(0) }); assert.equal(1, ch:len()) end, { true } },
    { 'channel close', function() return asio.channel() end,
      function(ch, t) return ch:recv(t) end,
      function(ch) ch:close() end, { nil, 'closed' } },
    { 'select (recv case)', function() return { asio.channel(), asio.channel() } end,
      function(p, t) return asio.select({ { 'recv', p[1] }, { 'send', p[2], 'x' } }, t) end,
      function(p) assert.is_true(p[1]:send('v', 0)) end, { 1, 'v' } },
    { 'select (send case)', function() return { asio.channel(), asio.channel() } end,
      function(p, t) return asio.select({ { 'recv', p[1] }, { 'send', p[2], 'x' } }, t) end,
      function(p) assert.same({ 'x' }, { p[2]:recv(0) }) end, { 2, true } },
    { 'wait_any', function() return spawn(function() return asio.park() end) end,
      function(th, t) if t then return asio.wait_any(th, t) end return asio.wait_any(th) end,
      function(th) assert.is_true(asio.wake(th, 'done')) end, { 1, true, 'done' } },
  }
  for _, case in ipairs(cases) do
    local name, make, wait, finish, want = unpack(case)
    for _, timeout in ipairs { false, 30 } do
      it(('does not make a waiter miss its turn: %s (%s)'):format(name,
        timeout and 'with a timeout' or 'no timeout'), function()
        helpers.run_async(function()
          local p = make()
          local w = spawn(wait, p, timeout or nil)
          settle()
          assert.equal('waiting', w:status())
          assert.is_true(asio.wake(w, 'stray'))
          finish(p) -- before w runs again
          settle()
          local status = w:status()
          if status ~= 'dead' then w:kill() end -- a failure does not wait out the timeout
          assert.equal('dead', status)
          local r = { w:join() }
          assert.is_true(r[1])
          assert.same(want, { unpack(r, 2, table.maxn(r)) })
          assert.equal(0, asio._sync_pending_handoffs())
        end)
      end)
    end
  end

  it('is harmless to wait_all (its join is not a park)', function()
    helpers.run_async(function()
      local th = spawn(function() return asio.park() end)
      local w = spawn(function() return asio.wait_all(th) end)
      settle()
      assert.is_false(asio.wake(w, 'stray'))
      assert.is_true(asio.wake(th, 'done'))
      settle()
      assert.same({ true, { true, 'done', n = 2 } }, { w:join(0) })
    end)
  end)

  it('keeps a waiter that was woken twice, and still serves the others in order', function()
    helpers.run_async(function()
      local m = asio.mutex()
      m:lock()
      local order = {}
      local ths = {}
      for k = 1, 3 do
        ths[k] = spawn(function() m:lock(); order[#order + 1] = k; asio.yield(); m:unlock() end)
      end
      settle()
      assert.is_true(asio.wake(ths[1], 'stray'))
      settle() -- ths[1] parks again, keeping its place
      assert.is_true(asio.wake(ths[1], 'stray'))
      assert.is_true(asio.wake(ths[2], 'stray'))
      m:unlock()
      for _ = 1, 5 do settle() end
      assert.same({ 1, 2, 3 }, order)
      assert.is_false(m:locked())
    end)
  end)
end)

describe('a wait that cannot park', function()
  -- park raises where the coroutine cannot yield; the wait must leave nothing queued, or the
  -- next unlock hands the lock to a thread that no longer waits for it.
  it('leaves the primitive as it was', function()
    helpers.run_async(function()
      local m = asio.mutex()
      m:lock()
      local w = spawn(function()
        local ok, err = pcall(string.gsub, 'a', 'a', function() m:lock() end)
        assert.is_false(ok)
        assert.matches('yield across', err)
        return m:lock()
      end)
      settle()
      m:unlock()
      settle()
      assert.equal('dead', w:status())
      assert.same({ true, true }, { w:join() })
      assert.is_true(m:locked()) -- held by w, which ended holding it
    end)
  end)
end)

describe('errors that blame the caller', function()

  it('wait_any / wait_all on the calling thread itself raise at once', function()
    helpers.run_async(function()
      local me = asio.current()
      local other = spawn(function() end)
      assert.equal("bad argument #1 to 'wait_any' (a light thread cannot wait for itself)",
        err_of(function() asio.wait_any(me) end))
      assert.equal("bad argument #2 to 'wait_any' (a light thread cannot wait for itself)",
        err_of(function() asio.wait_any(other, me, 5) end))
      assert.equal("bad argument #1 to 'wait_all' (a light thread cannot wait for itself)",
        err_of(function() asio.wait_all(me) end))
      assert.equal("bad argument #2 to 'wait_all' (a light thread cannot wait for itself)",
        err_of(function() asio.wait_all(other, me, 5) end))
      -- nothing was started or left waiting
      assert.same({ true }, { other:join() })
    end)
  end)

  it('of kill, once the primitives wrapped it', function()
    helpers.run_async(function()
      asio.mutex():lock() -- any primitive used in a light thread wraps kill
      local k = spawn(function() end)
      assert.equal("calling 'kill' on bad self (a coroutine that is not a light thread)",
        err_of(function() coroutine.create(print):kill() end))
      assert.equal("bad argument #1 to 'kill' (light thread expected, got no value)",
        err_of(function() k.kill() end))
      assert.equal("bad argument #1 to 'kill' (light thread expected, got number)",
        err_of(function() k.kill(5) end))
      local me = asio.current()
      local co = coroutine.create(function() return err_of(function() me:kill() end) end)
      assert.same({ true, 'kill: a light thread cannot kill itself from a nested coroutine' },
        { coroutine.resume(co) })
      -- and it still kills, a waiter, a dead thread, and the calling thread itself
      local m = asio.mutex()
      m:lock()
      local w = spawn(function() return m:lock() end)
      settle()
      w:kill()
      assert.same({ false, 'killed' }, { w:join() })
      k:kill()
      local self_killer = spawn(function() asio.current():kill(); error('not reached') end)
      assert.same({ false, 'killed' }, { self_killer:join() })
      m:unlock()
      assert.is_false(m:locked())
    end)
  end)
end)
