-- Lifetime: garbage-collected connections and servers close.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'
local run = helpers.run_async


describe("garbage collection", function()
  it("closes an unreachable connection: the peer sees end of stream", function()
    run(function()
      local peer_saw
      local s, port = helpers.server(function(c)
        local v, err = c:read(1)
        peer_saw = err
        c:close()
      end)
      do
        local c = assert(asio.connect('127.0.0.1', port))
        asio.sleep(0.01)
      end
      collectgarbage(); collectgarbage()
      assert.equal('closed', helpers.wait_for(function() return peer_saw end))
      s:close()
    end)
  end)

  it("stops listening when the server holder is collected", function()
    run(function()
      local port
      do
        local s = assert(asio.server('127.0.0.1', 0, function(c) c:close() end))
        local _
        _, port = s:local_address()
      end
      collectgarbage(); collectgarbage()
      asio.sleep(0.01)
      local c, err = asio.connect('127.0.0.1', port)
      assert.is_nil(c); assert.equal('connection refused', err)
      assert.equal(0, asio._stats().servers)
    end)
  end)

  it("a finalizer called by hand on something else, or twice, does nothing", function()
    run(function()
      local srv, port = helpers.server(function(conn) conn:close() end)
      local conn = assert(asio.connect('127.0.0.1', port))
      local u = assert(asio.udp('127.0.0.1', 0))
      local objects = { srv, conn, u }
      if helpers.has_tls() then
        objects[#objects + 1] = asio.tls_context { mode = 'client', verify = false }
      end
      local strangers = { newproxy(), newproxy(true), io.stdout, {}, 'x', 42, false }
      for _, obj in ipairs(objects) do
        local gc = getmetatable(obj).__gc
        for _, other in ipairs(strangers) do gc(other) end
        for _, other in ipairs(objects) do
          if getmetatable(other) ~= getmetatable(obj) then gc(other) end
        end
      end
      -- the objects are intact: they still work and close normally
      assert.equal(tostring(conn):match('^asio.connection %('), 'asio.connection (')
      assert.truthy(u:local_address())
      u:close()
      conn:close()
      srv:close()
      for _, obj in ipairs(objects) do
        local gc = getmetatable(obj).__gc
        gc(obj); gc(obj) -- by hand, twice: the second call finds nothing left to do
      end
    end)
  end)

  -- Ended light threads and closed connections owe the collector steps, and an idle loop with a
  -- burst owed collects (see the README's design notes). Enough connections for the burst to
  -- reach a quarter of the Lua heap, whatever busted holds: each owes about 2 KiB.
  local function burst_size()
    return math.min(4000, math.floor(collectgarbage('count') / 4 / 2) + 200)
  end
  local function churn_connections(port, n)
    for _ = 1, n do
      local c = assert(asio.connect('127.0.0.1', port))
      assert(c:write('x'))
      assert(c:read(1) == 'x')
      c:close()
    end
  end

  it("an idle loop collects the garbage of a burst of closed connections by itself", function()
    run(function()
      local s, port = helpers.server(function(c)
        local d = c:read_some()
        if d then c:write(d) end
        c:close()
      end)
      local probe = setmetatable({}, { __mode = 'v' })
      probe[1] = {}
      churn_connections(port, burst_size())
      -- No collectgarbage here: only the loop's own collection, once it waits, clears the probe.
      assert.equal('collected', helpers.wait_for(function() return probe[1] == nil and 'collected' or nil end))
      s:close()
    end, { timeout = 30 })
  end)

  it("a script that stopped the collector keeps it stopped through a burst", function()
    run(function()
      local s, port = helpers.server(function(c)
        local d = c:read_some()
        if d then c:write(d) end
        c:close()
      end)
      local probe = setmetatable({}, { __mode = 'v' })
      collectgarbage('stop')
      probe[1] = {}
      local ok, err = pcall(churn_connections, port, burst_size())
      asio.sleep(0.05) -- the loop waits: an idle collection would run now
      local survived = probe[1] ~= nil
      collectgarbage('restart')
      assert(ok, err)
      assert.is_true(survived)
      s:close()
    end, { timeout = 30 })
  end)
end)
