-- Light-thread handles are the threads' coroutines: what that means for identity, ended
-- threads, plain coroutines and bad arguments.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'
local run = helpers.run_async

describe("light-thread handles", function()
  it("are the coroutines the threads run in", function()
    run(function()
      local inside
      local th = asio.spawn_light_thread(function() inside = coroutine.running() end)
      assert.equal('thread', type(th))
      assert.is_true(th:join())
      assert.equal(th, inside)
    end)
  end)

  it("keep the results of a thread that ended before anyone joined", function()
    run(function()
      local th = asio.spawn_light_thread(function(a, b) return a + b, 'two', nil end, 40, 2)
      asio.sleep(0.01)
      assert.equal('dead', th:status())
      local r = { th:join() }
      assert.same({ true, 42, 'two', nil }, r)
      assert.equal(4, select('#', th:join()))
      assert.same({ true, 42, 'two' }, { th:join(0) })
    end)
  end)

  it("report an error raised before anyone joined, with its traceback", function()
    run(function()
      local old = asio.on_error(function() end)
      local th = asio.spawn_light_thread(function() error('boom') end)
      asio.sleep(0.01)
      asio.on_error(old)
      local ok, err = th:join()
      assert.is_false(ok)
      assert.truthy(err:find('boom', 1, true))
      assert.truthy(err:find('stack traceback', 1, true))
      assert.equal('dead', th:status())
    end)
  end)

  it("of killed threads, waiting or ready, report false, 'killed' forever", function()
    run(function()
      local waiting = asio.spawn_light_thread(function() asio.sleep(10) end)
      asio.yield()
      local ready = asio.spawn_light_thread(function() error('never runs') end)
      ready:kill()
      waiting:kill()
      for _, th in ipairs({ waiting, ready }) do
        assert.equal('dead', th:status())
        assert.same({ false, 'killed' }, { th:join() })
        assert.is_false(asio.wake(th))
        th:kill() -- no-op
      end
      local self_killed = asio.spawn_light_thread(function()
        asio.current():kill()
        error('not reached')
      end)
      assert.same({ false, 'killed' }, { self_killed:join(1) })
    end)
  end)

  it("work with coroutine.status and stay unique per thread", function()
    run(function()
      local seen = {}
      local ths = {}
      for i = 1, 100 do
        ths[i] = asio.spawn_light_thread(function() seen[coroutine.running()] = i end)
      end
      for i = 1, 100 do ths[i]:join() end
      for i = 1, 100 do assert.equal(i, seen[ths[i]]) end
      local parked = asio.spawn_light_thread(function() return asio.park() end)
      asio.yield()
      assert.equal('suspended', coroutine.status(parked))
      assert.equal('waiting', parked:status())
      asio.wake(parked, 'go')
      assert.same({ true, 'go' }, { parked:join() })
    end)
  end)

  it("stay light threads when the error object's __tostring kills the thread", function()
    run(function()
      local th
      local obj = setmetatable({}, { __tostring = function() th:kill(); return 'described' end })
      th = asio.spawn_light_thread(function() asio.yield(); error(obj) end)
      local joiner = asio.spawn_light_thread(function() return th:join() end)
      assert.same({ true, false, 'killed' }, { joiner:join() })
      assert.equal('dead', th:status())
      assert.same({ false, 'killed' }, { th:join() })
    end)
  end)

  it("stay light threads when they return more values than a stack takes", function()
    run(function()
      local th = asio.spawn_light_thread(function()
        -- Each pcall level adds a result (unpack itself stops at the same limit).
        local function g(d) if d == 0 then return 1 end return pcall(g, d - 1) end
        return g(9000)
      end)
      local ok, err = th:join()
      assert.is_false(ok)
      assert.equal('too many results to keep', err)
      assert.equal('dead', th:status())
    end)
  end)

  it("reject plain coroutines and other values with a clear error", function()
    local co = coroutine.create(function() end)
    for _, call in ipairs({
      function() return co:join() end,
      function() return co:kill() end,
      function() return co:status() end,
      function() return asio.wake(co) end,
    }) do
      local ok, err = pcall(call)
      assert.is_false(ok)
      assert.truthy(err:find('not a light thread', 1, true), err)
    end
    coroutine.resume(co) -- a dead plain coroutine is no light thread either
    local ok, err = pcall(function() return co:status() end)
    assert.is_false(ok)
    assert.truthy(err:find('not a light thread', 1, true), err)
    ok, err = pcall(function() local r = asio.wake(nil); return r end)
    assert.is_false(ok)
    assert.truthy(err:find("bad argument #1 to 'wake' (light thread expected, got nil)", 1, true), err)
    local status = coroutine.create(function() end).status
    ok, err = pcall(status, 42)
    assert.is_false(ok)
    assert.truthy(err:find('light thread expected, got number', 1, true), err)
  end)
end)
