-- A light thread that never waits runs without a record in the core; it gets one the moment
-- anything needs it (a wait, a handle call, an error). These specs pin that the thread looks
-- the same from outside either way, at each point where a record can be created.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'
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
      local core_spawn = require('asio.core')._spawn_light_thread_c
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

  it("asio.spawn_light_thread is the core's, built on the FFI; the C spawn stays", function()
    local core = require 'asio.core'
    assert.equal(core.spawn_light_thread, asio.spawn_light_thread)
    assert.is_function(core._spawn_light_thread_c)
    assert.are_not.equal(core._spawn_light_thread_c, asio.spawn_light_thread)
    assert.is_nil(core._give_args) -- only the spawn function holds it
  end)

  it("report bad arguments as the core's C spawn does", function()
    local paths = { asio, { spawn_light_thread = require('asio.core')._spawn_light_thread_c } }
    for _, m in ipairs(paths) do
      assert.has_error(function() m.spawn_light_thread() end,
        "bad argument #1 to 'spawn_light_thread' (function expected, got no value)")
      assert.has_error(function() m.spawn_light_thread(nil, 1) end,
        "bad argument #1 to 'spawn_light_thread' (function expected, got nil)")
      assert.has_error(function() m.spawn_light_thread({}) end,
        "bad argument #1 to 'spawn_light_thread' (function expected, got table)")
    end
  end)
end)

describe("review findings on threads without records", function()
  it("a plain coroutine asking about itself is told it is no light thread", function()
    local results = {}
    coroutine.wrap(function()
      local me = coroutine.running()
      for _, name in ipairs({ 'status', 'join', 'kill' }) do
        results[name] = { pcall(me[name], me) }
      end
      results.wake = { pcall(asio.wake, me) }
    end)()
    for name, r in pairs(results) do
      assert.is_false(r[1], name)
      assert.truthy(r[2]:find('not a light thread', 1, true), name .. ': ' .. tostring(r[2]))
    end
  end)

  it("a handle call from a debug hook in the middle of a spawn sees the new thread", function()
    run(function()
      local probe = coroutine.create(function() end) -- any plain coroutine: its calls miss
      spawn(function() end) -- ends in this drain: its slot may be taken by the next spawn
      asio.yield()
      local ran = false
      debug.sethook(function()
        local info = debug.getinfo(2, 'S')
        if info and info.short_src:match('spawn%.lua') then pcall(probe.status, probe) end
      end, 'l')
      local th = spawn(function() ran = true end)
      debug.sethook()
      collectgarbage()
      collectgarbage()
      assert.equal('waiting', th:status())
      assert.is_true(th:join())
      assert.is_true(ran)
    end)
  end)

  it("a debug hook that runs the loop and spawns in the middle of a spawn breaks neither", function()
    -- The line of asio/spawn.lua between reserving the slot and storing the coroutine.
    local path = assert(package.searchpath('asio.spawn', package.path))
    local store_line, n = nil, 0
    for line in io.lines(path) do
      n = n + 1
      if line:find('anchors[slot] = co', 1, true) then store_line = n end
    end
    assert.is_number(store_line)
    local ran = {}
    local inner = {}
    local armed = true
    debug.sethook(function(_, line)
      if armed and line == store_line and debug.getinfo(2, 'S').short_src:match('spawn%.lua') then
        armed = false
        spawn(function() ran[#ran + 1] = 'first' end)
        asio.poll() -- no light thread here blocks: safe from a hook
        for i = 1, 2 do inner[i] = spawn(function() ran[#ran + 1] = 'inner ' .. i end) end
      end
    end, 'l')
    local outer = spawn(function() ran[#ran + 1] = 'outer' end)
    debug.sethook()
    assert.is_false(armed)
    asio.run()
    table.sort(ran)
    assert.same({ 'first', 'inner 1', 'inner 2', 'outer' }, ran)
    for _, th in ipairs({ outer, inner[1], inner[2] }) do assert.equal('dead', th:status()) end
    assert.equal(0, asio._stats().threads)
  end)

  it("poll runs one batch of ready threads even while one keeps yielding", function()
    local n = 0
    local spinner = spawn(function() while true do n = n + 1; coroutine.yield() end end)
    assert.is_number(asio.poll())
    assert.is_true(n > 0)
    local before = n
    assert.is_true(asio.run_once(0))
    assert.is_true(n > before)
    spinner:kill()
    asio.run()
  end)

  it("too many arguments or wake values raise on the caller and change nothing", function()
    run(function()
      local function with_n(n, fn, first)
        local function go(k, ...) if k == 0 then return fn(first, ...) end return go(k - 1, k, ...) end
        return go(n)
      end
      local c_spawn = require('asio.core')._spawn_light_thread_c
      for _, s in ipairs({ spawn, c_spawn }) do
        local ok, err = pcall(with_n, 8000, s, print)
        assert.is_false(ok)
        assert.truthy(tostring(err):find('too many arguments', 1, true), tostring(err))
      end
      local parked = spawn(function() return select('#', asio.park()) end)
      asio.yield()
      local ok, err = pcall(with_n, 8001, asio.wake, parked)
      assert.is_false(ok)
      assert.truthy(tostring(err):find('wake: too many values', 1, true), tostring(err))
      assert.equal('waiting', parked:status())
      assert.is_true(asio.wake(parked, 1, 2))
      assert.same({ true, 2 }, { parked:join() })
      assert.equal(1, asio._stats().threads) -- this one: nothing was left behind
    end)
  end)

  it("the results of an ended thread nobody holds are not kept while others run", function()
    run(function()
      local spin = true
      spawn(function() while spin do asio.yield() end end) -- keeps the ready queue busy
      local weak = setmetatable({}, { __mode = 'v' })
      for i = 1, 20 do
        spawn(function()
          local result = { i }
          weak[i] = result
          return result
        end)
      end
      asio.sleep(0.01)
      collectgarbage()
      collectgarbage()
      spin = false
      assert.is_nil(next(weak))
    end)
  end)

  it("the core will not put arguments on a coroutine that has ended or started", function()
    run(function()
      local give_args -- reached the way only a debugger can: spawn's upvalue
      for i = 1, 20 do
        local name, value = debug.getupvalue(asio.spawn_light_thread, i)
        if name == 'give_args' then give_args = value end
      end
      assert.is_function(give_args)
      local ended = spawn(function() end)
      assert.is_true(ended:join())
      assert.has_error(function() give_args(ended, 'x') end,
        "bad argument #1 to 'give_args' (a coroutine that has not started)")
      assert.equal('dead', ended:status())
      local started = coroutine.create(function() coroutine.yield() end)
      coroutine.resume(started)
      assert.has_error(function() give_args(started, 1) end,
        "bad argument #1 to 'give_args' (a coroutine that has not started)")
      assert.has_error(function() give_args(42, 1) end,
        "bad argument #1 to 'give_args' (coroutine expected, got number)")
    end)
  end)
end)
