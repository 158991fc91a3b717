-- asio.resolve: asynchronous name resolution. Only names that never leave the machine are used:
-- localhost (from /etc/hosts) and a name with an empty label, which the resolver rejects locally.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'
local run = helpers.run_async

local missing = 'no-such-host..invalid'

local function contains(list, v)
  for _, x in ipairs(list) do if x == v then return true end end
  return false
end

describe("asio.resolve", function()
  it("resolves localhost to an array holding 127.0.0.1", function()
    run(function()
      local addrs = assert(asio.resolve('localhost'))
      assert.is_table(addrs)
      assert.is_true(#addrs >= 1)
      assert.is_true(contains(addrs, '127.0.0.1'))
    end)
  end)

  it("filters by family", function()
    run(function()
      local v4 = assert(asio.resolve('localhost', 'inet'))
      for _, a in ipairs(v4) do assert.is_nil(a:find(':', 1, true)) end
      assert.is_true(contains(v4, '127.0.0.1'))
      -- Whether localhost has an IPv6 address depends on /etc/hosts; either answer is fine,
      -- but only IPv6 addresses may come back.
      local v6, err = asio.resolve('localhost', 'inet6')
      if v6 then
        for _, a in ipairs(v6) do assert.is_truthy(a:find(':', 1, true)) end
      else
        assert.equal('host not found', err)
      end
    end)
  end)

  it("returns nil, 'host not found' for a name that does not exist", function()
    run(function()
      local addrs, err = asio.resolve(missing)
      assert.is_nil(addrs)
      assert.equal('host not found', err)
      addrs, err = asio.resolve('')
      assert.is_nil(addrs)
      assert.equal('host not found', err)
    end)
  end)

  it("returns an IP literal as itself without a lookup", function()
    run(function()
      assert.same({ '127.0.0.1' }, asio.resolve('127.0.0.1'))
      assert.same({ '::1' }, asio.resolve('::1', 'inet6'))
      local v, err = asio.resolve('::1', 'inet')
      assert.is_nil(v); assert.equal('address family not supported', err)
    end)
  end)

  it("does not block other light threads while it resolves", function()
    run(function()
      local ticks = 0
      local t = asio.spawn_light_thread(function() for _ = 1, 3 do ticks = ticks + 1; asio.sleep(0) end end)
      local results = {}
      local ths = {}
      for i = 1, 4 do
        ths[i] = asio.spawn_light_thread(function() results[i] = asio.resolve(i % 2 == 0 and 'localhost' or missing) end)
      end
      for i = 1, 4 do ths[i]:join() end
      t:join()
      assert.equal(3, ticks)
      assert.is_nil(results[1]); assert.is_table(results[2])
    end)
  end)

  it("a killed resolving thread leaves nothing behind", function()
    run(function()
      local th = asio.spawn_light_thread(function() return asio.resolve('localhost') end)
      asio.sleep(0)
      th:kill()
      local ok, err = th:join()
      assert.is_false(ok); assert.equal('killed', err)
      -- The answer still arrives later and is dropped; give it the time to do so.
      while asio._stats().pending > 0 do asio.sleep(0.01) end
    end)
  end)

  it("takes a timeout: 0 never waits, a short one answers or times out cleanly", function()
    run(function()
      assert.same({ nil, 'timeout' }, { asio.resolve('localhost', nil, 0) })
      assert.same({ '127.0.0.1' }, asio.resolve('127.0.0.1', nil, 0))
      local v4 = assert(asio.resolve('localhost', 'inet', 5))
      assert.equal('127.0.0.1', v4[1])
      -- Which one wins a 1 ns race is up to the machine; either answer must be well formed.
      local answers = {}
      for i = 1, 20 do
        local addrs, err = asio.resolve('localhost', 'inet', 1e-9)
        if addrs then assert.equal('127.0.0.1', addrs[1]) else assert.equal('timeout', err) end
        answers[#answers + 1] = addrs and 'addrs' or err
      end
      assert.equal(20, #answers)
      while asio._stats().pending > 0 do asio.sleep(0.01) end
    end)
  end)

  it("raises for bad arguments and outside a light thread", function()
    assert.has_error(function() asio.resolve('localhost', nil, -1) end)
    assert.has_error(function() asio.resolve('localhost', nil, 'soon') end)
    assert.has_error(function() asio.resolve() end)
    assert.has_error(function() asio.resolve('localhost', 'ipx') end)
    assert.has_error(function() asio.resolve('localhost') end, "resolve: not called from a light thread")
  end)
end)
