-- Light threads and time: spawn, sleep, yield, now, timers, join, kill, status, park/wake.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'
local run = helpers.run_async

describe("sleep, yield and now", function()
  it("sleep(0.05) returns after at least 0.05 s and well under 1 s", function()
    run(function()
      local t0 = asio.now()
      asio.sleep(0.05)
      local dt = asio.now() - t0
      assert.is_true(dt >= 0.05, dt)
      assert.is_true(dt < 1, dt)
    end)
  end)

  it("yield and sleep(0) let the other light threads run", function()
    run(function()
      local trace = {}
      local a = asio.spawn_light_thread(function()
        for i = 1, 3 do trace[#trace + 1] = 'a' .. i; asio.yield() end
      end)
      local b = asio.spawn_light_thread(function()
        for i = 1, 3 do trace[#trace + 1] = 'b' .. i; asio.sleep(0) end
      end)
      a:join(); b:join()
      assert.same({ 'a1', 'b1', 'a2', 'b2', 'a3', 'b3' }, trace)
    end)
  end)

  it("now() is monotonic seconds as a float", function()
    local a = asio.now()
    local b = asio.now()
    assert.is_number(a)
    assert.is_true(b >= a)
  end)

  it("a plain coroutine.yield() in a light thread acts as asio.yield()", function()
    run(function()
      local other = false
      asio.spawn_light_thread(function() other = true end)
      coroutine.yield('ignored')
      assert.is_true(other)
    end)
  end)

  it("100,000 light threads sleep at once and all wake", function()
    run(function()
      local n, woke = 100000, 0
      for i = 1, n do
        asio.spawn_light_thread(function() asio.sleep(0.05 + (i % 10) * 0.001); woke = woke + 1 end)
      end
      while woke < n do asio.sleep(0.05) end
      assert.equal(n, woke)
    end, { timeout = 60 })
  end)
end)

describe("timers", function()
  it("fire in deadline order, equal deadlines in creation order", function()
    run(function()
      local order = {}
      for i = 10, 1, -1 do asio.timer(i * 0.005, function() order[#order + 1] = i end) end
      for i = 11, 15 do asio.timer(0.06, function() order[#order + 1] = i end) end
      asio.sleep(0.2)
      assert.same({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 }, order)
    end)
  end)

  it("pass their arguments and run as light threads that may block", function()
    run(function()
      local got
      asio.timer(0.01, function(a, b) asio.sleep(0.01); got = a .. b end, 'x', 'y')
      asio.sleep(0.1)
      assert.equal('xy', got)
    end)
  end)

  it("cancelled timers never fire and are no longer work for run()", function()
    local fired = false
    local t = asio.timer(0.05, function() fired = true end)
    t:cancel()
    t:cancel() -- idempotent
    local t0 = asio.now()
    asio.run()
    assert.is_true(asio.now() - t0 < 0.04)
    assert.is_false(fired)
    helpers.assert_clean()
  end)

  it("every repeats until cancelled", function()
    run(function()
      local n = 0
      local t = asio.every(0.01, function() n = n + 1 end)
      -- Waits for the ticks instead of counting them in a fixed time: a busy machine (a build
      -- on the other core) made that count fall below its bound.
      for _ = 1, 500 do
        if n >= 3 then break end
        asio.sleep(0.01)
      end
      t:cancel()
      local seen = n
      asio.sleep(0.05)
      assert.is_true(seen >= 3, seen)
      assert.equal(seen, n)
    end)
  end)

  it("a pending timer keeps run() going", function()
    local fired = false
    asio.timer(0.02, function() fired = true end)
    asio.run()
    assert.is_true(fired)
    helpers.assert_clean()
  end)
end)

describe("timers in asio._stats()", function()
  it("count from the moment timer and every return, until they fire or are cancelled", function()
    run(function()
      local before = asio._stats().timers
      local t = asio.timer(0.05, function() end)
      local e = asio.every(0.05, function() end)
      assert.equal(before + 2, asio._stats().timers) -- neither thread has run yet
      asio.yield()
      assert.equal(before + 2, asio._stats().timers) -- now both sleep with a deadline
      t:cancel(); e:cancel()
      assert.equal(before, asio._stats().timers)
      local u = asio.timer(0.01, function() end)
      u:cancel() -- cancelled before its thread ran
      assert.equal(before, asio._stats().timers)
      local fired = false
      asio.timer(0, function() fired = true end)
      assert.equal(before + 1, asio._stats().timers)
      asio.sleep(0.02)
      assert.is_true(fired)
      assert.equal(before, asio._stats().timers)
    end)
  end)
end)

describe("join", function()
  it("returns true and the results of a thread that returned", function()
    run(function()
      local th = asio.spawn_light_thread(function(a) asio.sleep(0.01); return a, nil, 3 end, 'x')
      assert.equal('waiting', th:status())
      local ok, a, b, c = th:join()
      assert.is_true(ok); assert.equal('x', a); assert.is_nil(b); assert.equal(3, c)
      -- joining again, already dead: same answer at once
      ok, a = th:join()
      assert.is_true(ok); assert.equal('x', a)
      assert.equal('dead', th:status())
    end)
  end)

  it("returns false and the error with its traceback for a thread that raised", function()
    run(function()
      local th = asio.spawn_light_thread(function() asio.sleep(0.01); error('bad thing') end)
      local ok, err = th:join()
      assert.is_false(ok)
      assert.truthy(err:find('bad thing', 1, true))
      assert.truthy(err:find('stack traceback', 1, true))
    end)
  end)

  it("returns false, 'killed' for a killed thread and nil, 'timeout' when it waits too long", function()
    run(function()
      local th = asio.spawn_light_thread(function() asio.sleep(10) end)
      local ok, err = th:join(0.02)
      assert.is_nil(ok); assert.equal('timeout', err)
      local joiner = asio.spawn_light_thread(function() return th:join() end)
      asio.sleep(0.01)
      th:kill()
      assert.equal('dead', th:status())
      local jok, r1, r2 = joiner:join()
      assert.is_true(jok); assert.is_false(r1); assert.equal('killed', r2)
      ok, err = th:join()
      assert.is_false(ok); assert.equal('killed', err)
    end)
  end)

  it("a thread cannot join itself", function()
    run(function()
      local ok, msg = pcall(function() return asio.current():join() end)
      assert.is_false(ok); assert.truthy(msg:find('cannot join itself', 1, true))
    end)
  end)
end)

describe("kill", function()
  it("ends a thread waiting on sleep, park, read and connect; it never runs again", function()
    run(function()
      local s, port = helpers.server(function(c) c:read(1) end)
      local c = assert(asio.connect('127.0.0.1', port))
      local after = 0
      local victims = {
        asio.spawn_light_thread(function() asio.sleep(10); after = after + 1 end),
        asio.spawn_light_thread(function() asio.park(); after = after + 1 end),
        asio.spawn_light_thread(function() c:read(1); after = after + 1 end),
        asio.spawn_light_thread(function() asio.connect('127.0.0.1', port); asio.sleep(10); after = after + 1 end),
      }
      asio.sleep(0.01)
      for _, th in ipairs(victims) do
        assert.equal('waiting', th:status())
        th:kill()
        assert.equal('dead', th:status())
        th:kill() -- no-op
      end
      collectgarbage() -- closes the connection the killed connect victim left behind
      -- the connection stays usable: the killed reader's slot is free again
      asio.spawn_light_thread(function() asio.sleep(0.01); c:write('z') end)
      c:write('x')
      asio.sleep(0.05)
      assert.equal(0, after)
      c:close(); s:close()
    end)
  end)

  it("a thread that kills itself ends at once", function()
    run(function()
      local reached = false
      local th = asio.spawn_light_thread(function()
        asio.current():kill()
        reached = true
      end)
      local ok, err = th:join()
      assert.is_false(ok); assert.equal('killed', err)
      assert.is_false(reached)
    end)
  end)

  it("killing a thread that has not started yet means it never starts", function()
    run(function()
      local started = false
      local th = asio.spawn_light_thread(function() started = true end)
      th:kill()
      asio.sleep(0.01)
      assert.is_false(started)
    end)
  end)
end)

describe("park and wake", function()
  it("park returns the values given to wake, which never resumes synchronously", function()
    run(function()
      local got
      local th = asio.spawn_light_thread(function() got = { asio.park() } end)
      asio.sleep(0.01)
      assert.is_true(asio.wake(th, 'a', nil, 3))
      assert.is_nil(got) -- scheduled, not resumed inside wake
      assert.is_false(asio.wake(th, 'again')) -- already woken: a no-op
      th:join()
      assert.equal('a', got[1]); assert.is_nil(got[2]); assert.equal(3, got[3])
    end)
  end)

  it("park(timeout) returns nil, 'timeout'", function()
    run(function()
      local t0 = asio.now()
      local v, err = asio.park(0.02)
      assert.is_nil(v); assert.equal('timeout', err)
      assert.is_true(asio.now() - t0 >= 0.02)
    end)
  end)

  it("wake of a thread that is not parked returns false and changes nothing", function()
    run(function()
      local th = asio.spawn_light_thread(function() asio.sleep(0.03); return 'slept' end)
      asio.sleep(0.01)
      assert.is_false(asio.wake(th, 1)) -- sleeping, not parked
      assert.is_false(asio.wake(asio.current(), 1)) -- running
      local ok, v = th:join()
      assert.is_true(ok); assert.equal('slept', v)
      assert.is_false(asio.wake(th, 1)) -- dead
    end)
  end)

  it("a timed-out park is not woken later by a stale wake", function()
    run(function()
      local th = asio.spawn_light_thread(function()
        local v, err = asio.park(0.01)
        assert.equal('timeout', err)
        return asio.park(0.5)
      end)
      asio.sleep(0.05)
      assert.is_true(asio.wake(th, 'second'))
      local ok, v = th:join()
      assert.is_true(ok); assert.equal('second', v)
    end)
  end)

  it("current() returns the same handle each time, nil outside light threads", function()
    assert.is_nil(asio.current())
    run(function()
      local a, b = asio.current(), asio.current()
      assert.equal(a, b)
      assert.equal('running', a:status())
      assert.equal(coroutine.running(), a)
    end)
  end)
end)
