-- A light thread that never waits runs without a record in the core; it gets one the moment
-- anything needs it (a wait, a handle call, an error). These specs pin that the thread looks
-- the same from outside either way, at each point where a record can be created.
local asio = require 'asio'
local helpers = require 'spec.helpers'
local run = helpers.run_async
local spawn = asio.spawn_light_thread

describe("light threads not yet given a record", function()
  it("read 'waiting' before they start, 'running' while they run, 'dead' after", function()
    run(function()
      local seen
      local th
      th = spawn(function() seen = th:status() end)
      assert.equal('waiting', th:status())
      assert.is_true(th:join())
      assert.equal('running', seen)
      assert.equal('dead', th:status())
    end)
  end)

  it("get their arguments intact when a handle call comes before their start", function()
    run(function()
      for _, call in ipairs({ 'status', 'wake' }) do
        local th = spawn(function(...) return select('#', ...), ... end, 3, 2, 1, nil)
        if call == 'status' then th:status() else assert.is_false(asio.wake(th)) end
        assert.same({ true, 4, 3, 2, 1 }, { th:join() })
      end
    end)
  end)

  it("can be joined before they start, by many threads at once", function()
    run(function()
      local th = spawn(function(a, b) return a * b end, 6, 7)
      local joiners = {}
      for i = 1, 3 do
        joiners[i] = spawn(function() return th:join() end)
      end
      for i = 1, 3 do
        assert.same({ true, true, 42 }, { joiners[i]:join() })
      end
    end)
  end)

  it("killed before they start never run, and their slot serves the next thread", function()
    run(function()
      local runs = 0
      local killed = spawn(function() runs = runs + 100 end, 1, 2)
      killed:kill()
      local next_one = spawn(function() runs = runs + 1 end)
      assert.is_true(next_one:join())
      asio.sleep(0.01)
      assert.equal(1, runs)
      assert.same({ false, 'killed' }, { killed:join() })
      assert.equal('dead', killed:status())
    end)
  end)

  it("kill themselves before any wait and end there", function()
    run(function()
      local after = false
      local th = spawn(function()
        coroutine.running():kill()
        after = true
      end)
      assert.same({ false, 'killed' }, { th:join() })
      assert.is_false(after)
    end)
  end)

  it("raise before any wait: the error handler and join see it", function()
    run(function()
      local reported
      local old = asio.on_error(function(msg) reported = msg end)
      local th = spawn(function() error('early boom') end)
      local ok, err = th:join()
      asio.on_error(old)
      assert.is_false(ok)
      assert.truthy(err:find('early boom', 1, true), err)
      assert.is_nil(reported) -- a joiner was waiting: the error is its to handle
      local lone = spawn(function() error('lone boom') end)
      old = asio.on_error(function(msg) reported = msg end)
      asio.sleep(0.01)
      asio.on_error(old)
      assert.truthy(reported and reported:find('lone boom', 1, true), reported)
      assert.is_false((lone:join()))
    end)
  end)

  it("keep every one of many results", function()
    run(function()
      local th = spawn(function() return unpack((function()
        local t = {}
        for i = 1, 300 do t[i] = i end
        return t
      end)()) end)
      local r = { th:join() }
      assert.equal(301, #r)
      assert.equal(300, r[301])
    end)
  end)

  it("are counted while alive and not after", function()
    run(function()
      local before = asio._stats().threads
      local ths = {}
      for i = 1, 50 do ths[i] = spawn(function() end) end
      assert.equal(before + 50, asio._stats().threads)
      asio.sleep(0.01)
      assert.equal(before, asio._stats().threads)
      for i = 1, 50 do assert.equal('dead', ths[i]:status()) end
    end)
  end)

  it("are ended by _close_all before they start", function()
    local started = false
    local th = spawn(function() started = true end)
    asio._close_all()
    assert.is_false(started)
    assert.equal('dead', th:status())
    assert.same({ false, 'killed' }, { th:join() })
  end)
end)

describe("spawning from Lua and from the core", function()
  it("queue first resumes and wakes in one order, whichever spawn is used", function()
    run(function()
      local core_spawn = require('asio.core').spawn_light_thread
      local order = {}
      local parked = spawn(function() asio.park(); order[#order + 1] = 'woken' end)
      asio.yield() -- parked is parked now
      spawn(function() order[#order + 1] = 'lua 1' end)
      core_spawn(function() order[#order + 1] = 'core' end)
      assert.is_true(asio.wake(parked))
      spawn(function() order[#order + 1] = 'lua 2' end)
      assert.is_true(parked:join())
      asio.yield()
      assert.same({ 'lua 1', 'core', 'woken', 'lua 2' }, order)
    end)
  end)

  it("the core's spawn helpers refuse what asio.lua never passes them", function()
    local core = require 'asio.core'
    assert.is_nil(core._spawn_support()) -- handed out once, to asio.lua
    assert.is_nil(asio._spawn_support)
    assert.has_error(function() core._give_args(42, 1) end,
      "bad argument #1 to '_give_args' (coroutine expected, got number)")
    local started = coroutine.create(function() coroutine.yield() end)
    coroutine.resume(started)
    assert.has_error(function() core._give_args(started, 1) end,
      "bad argument #1 to '_give_args' (a coroutine that has not started)")
    local fresh = coroutine.create(function() end)
    core._give_args(fresh, 'a', 'b')
    assert.has_error(function() core._give_args(fresh, 'c') end,
      "bad argument #1 to '_give_args' (a coroutine that has not started)")
  end)

  it("report bad arguments as the core's spawn does", function()
    for _, m in ipairs({ asio, require 'asio.core' }) do
      assert.has_error(function() m.spawn_light_thread() end,
        "bad argument #1 to 'spawn_light_thread' (function expected, got no value)")
      assert.has_error(function() m.spawn_light_thread(nil, 1) end,
        "bad argument #1 to 'spawn_light_thread' (function expected, got nil)")
      assert.has_error(function() m.spawn_light_thread({}) end,
        "bad argument #1 to 'spawn_light_thread' (function expected, got table)")
    end
  end)
end)
