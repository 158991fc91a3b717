-- Calls the loop cannot serve where they are made: waits inside a call from C, the loop driven
-- from its own error handler, a failing thread killed from that handler. Each must raise or
-- work, and leave the runtime consistent.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'
local run = helpers.run_async

-- Drives the loop for at most `seconds`; true when it ran out of work.
local function drive(seconds)
  local deadline = asio.now() + seconds
  while asio.run_once(0.05) do
    if asio.now() > deadline then return false end
  end
  return true
end

describe("a wait inside a call from C", function()
  local function in_c_call(fn)
    -- string.gsub calls fn from C: the coroutine cannot yield until it returns.
    local ok, err
    string.gsub('a', 'a', function() ok, err = pcall(fn) end)
    return ok, err
  end

  it("raises for sleep, park, join, yield and self-kill, and the thread carries on", function()
    run(function()
      local other = asio.spawn_light_thread(function() asio.sleep(0.01) end)
      for name, fn in pairs {
        sleep = function() asio.sleep(0.01) end,
        park = function() asio.park(0.01) end,
        join = function() other:join() end,
        yield = function() asio.yield() end,
        kill = function() asio.current():kill() end,
      } do
        local ok, err = in_c_call(fn)
        assert.is_false(ok, name)
        assert.truthy(tostring(err):find('yield', 1, true), name .. ': ' .. tostring(err))
        assert.equal('running', asio.current():status(), name)
      end
      asio.sleep(0.02) -- the thread still waits and wakes normally
      assert.is_true(other:join())
    end)
  end)

  it("raises for reads, writes and connects and leaves the connection usable", function()
    run(function()
      local srv, port = helpers.server(function(conn)
        assert.equal('abc', conn:read(3))
        conn:write('xyz')
        conn:close()
      end)
      local c = assert(asio.connect('127.0.0.1', port))
      c:settimeout(0.2)
      for name, fn in pairs {
        read = function() return c:read(3) end,
        connect = function() return asio.connect('127.0.0.1', port) end,
        resolve = function() return asio.resolve('localhost') end,
      } do
        local ok, err = in_c_call(fn)
        assert.is_false(ok, name)
        assert.truthy(tostring(err):find('yield across', 1, true), name .. ': ' .. tostring(err))
      end
      assert.is_true(c:write('abc'))
      assert.equal('xyz', c:read(3)) -- no reader slot or deadline was left behind
      c:close()
      srv:close()
    end)
  end)
end)

describe("the error handler", function()
  after_each(function() asio.on_error(nil) end)

  it("may kill the thread that failed, which has already ended", function()
    local victim, status_seen, killed = nil, nil, false
    asio.on_error(function()
      status_seen = victim:status()
      victim:kill()
      killed = true
    end)
    victim = asio.spawn_light_thread(function() error('boom') end)
    assert.is_true(drive(5))
    assert.is_true(killed)
    assert.equal('dead', status_seen)
    local ok, err = victim:join()
    assert.is_false(ok)
    assert.truthy(err:find('boom', 1, true))
    helpers.assert_clean()
  end)

  it("may kill other threads, waiting or ready, and spawn new ones", function()
    local sleeper = asio.spawn_light_thread(function() asio.sleep(5) end)
    local spawned
    asio.on_error(function()
      sleeper:kill()
      spawned = asio.spawn_light_thread(function() return 'late' end)
    end)
    asio.spawn_light_thread(function() error('boom') end)
    for _ = 1, 5 do asio.spawn_light_thread(function() asio.yield(); asio.yield() end) end
    assert.is_true(drive(5))
    assert.same({ false, 'killed' }, { sleeper:join() })
    assert.same({ true, 'late' }, { spawned:join() })
    helpers.assert_clean()
  end)

  it("cannot drive the loop: run, poll, run_once and _close_all raise there", function()
    local errors = {}
    asio.on_error(function()
      for _, name in ipairs { 'run', 'poll', 'run_once', '_close_all' } do
        local ok, err = pcall(asio[name])
        errors[name] = not ok and err or 'returned'
      end
    end)
    asio.spawn_light_thread(function() error('first') end)
    assert.is_true(drive(5))
    for _, name in ipairs { 'run', 'poll', 'run_once', '_close_all' } do
      assert.truthy(tostring(errors[name]):find('while the loop runs', 1, true), name .. ': ' .. tostring(errors[name]))
    end
    helpers.assert_clean()
  end)
end)
