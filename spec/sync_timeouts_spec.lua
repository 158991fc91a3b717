-- SPDX-License-Identifier: MIT
-- Every waiting call of asio.sync, table-driven: with a timeout it returns nil, "timeout" after
-- about that long, and with timeout 0 it returns at once without letting another thread run.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'

local spawn = asio.spawn_light_thread

-- Each entry builds a primitive in a state where the call cannot complete, and returns the call.
local blocked = {
  ['channel:recv (rendezvous)'] = function()
    local ch = asio.channel()
    return function(t) return ch:recv(t) end
  end,
  ['channel:recv (buffered, empty)'] = function()
    local ch = asio.channel(4)
    return function(t) return ch:recv(t) end
  end,
  ['channel:send (rendezvous)'] = function()
    local ch = asio.channel()
    return function(t) return ch:send('v', t) end
  end,
  ['channel:send (buffered, full)'] = function()
    local ch = asio.channel(1)
    ch:send('v')
    return function(t) return ch:send('w', t) end
  end,
  ['select'] = function()
    local a, b = asio.channel(), asio.channel(1)
    b:send(1)
    return function(t) return asio.select({ { 'recv', a }, { 'send', b, 2 } }, t) end
  end,
  ['mutex:lock'] = function()
    local m = asio.mutex()
    m:lock()
    local other = function(t)
      local th = spawn(function() return m:lock(t) end)
      local _, ok, err = th:join()
      return ok, err
    end
    return other, true
  end,
  ['rwlock:rlock'] = function()
    local rw = asio.rwlock()
    rw:wlock()
    return function(t)
      local _, ok, err = spawn(function() return rw:rlock(t) end):join()
      return ok, err
    end, true
  end,
  ['rwlock:wlock'] = function()
    local rw = asio.rwlock()
    rw:rlock()
    return function(t) return rw:wlock(t) end
  end,
  ['semaphore:acquire'] = function()
    local s = asio.semaphore(0)
    return function(t) return s:acquire(t) end
  end,
  ['event:wait'] = function()
    local e = asio.event()
    return function(t) return e:wait(t) end
  end,
  ['condition:wait'] = function()
    local c = asio.condition()
    return function(t) return c:wait(t) end
  end,
  ['waitgroup:wait'] = function()
    local wg = asio.waitgroup()
    wg:add(1)
    return function(t) return wg:wait(t) end
  end,
  ['wait_all'] = function()
    local th = spawn(function() asio.sleep(1) end)
    return function(t) return asio.wait_all(th, t) end, false, th
  end,
  ['wait_any'] = function()
    local th = spawn(function() asio.sleep(1) end)
    return function(t) return asio.wait_any(th, t) end, false, th
  end,
}

local names = {}
for name in pairs(blocked) do names[#names + 1] = name end
table.sort(names)

describe('asio.sync timeouts', function()
  for _, name in ipairs(names) do
    it(name .. ' returns nil, "timeout" after its timeout', function()
      helpers.run_async(function()
        local call, _, leftover = blocked[name]()
        local t0 = asio.now()
        local ok, err = call(0.05)
        local dt = asio.now() - t0
        assert.is_nil(ok)
        assert.equal('timeout', err)
        assert.is_true(dt >= 0.04, 'returned too early: ' .. dt)
        assert.is_true(dt < 2, 'returned too late: ' .. dt)
        if leftover then leftover:kill() end
      end)
    end)

    it(name .. ' never blocks with timeout 0', function()
      helpers.run_async(function()
        local call, spawns, leftover = blocked[name]()
        local ran = false
        local other = spawn(function() ran = true end)
        local ok, err = call(0)
        assert.is_nil(ok)
        assert.equal('timeout', err)
        -- (calls that go through a helper thread of the test itself do let it run)
        if not spawns then assert.is_false(ran, 'the call let another thread run') end
        other:join()
        if leftover then leftover:kill() end
      end)
    end)
  end
end)
