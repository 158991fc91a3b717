-- Every core on one port: worker states accepting on one reuseport address, told to stop
-- through a shared channel, finishing the connections in flight.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'

describe("two states accepting on one reuseport server", function()
  it("both serve connections, and stop gracefully when the channel closes", function()
    helpers.run_async(function()
      local probe = assert(asio.server('127.0.0.1', 0, function() end))
      local _, port = probe:local_address()
      probe:close()
      local stop, ready = asio.shared_channel(0), asio.shared_channel(2)
      local function worker(id, p, stop_ch, ready_ch)
        local asio = require 'asio'
        local served, active = 0, 0
        local srv = assert(asio.server('127.0.0.1', p, function(conn)
          served, active = served + 1, active + 1
          local line = conn:read_line()
          if line then conn:write(('%s %d\n'):format(line, id)) end
          conn:close()
          active = active - 1
        end, { reuseport = true }))
        ready_ch:send(id)
        stop_ch:recv()
        srv:close()
        for _ = 1, 500 do
          if active == 0 then break end
          asio.sleep(0.01)
        end
        return served, active
      end
      local a = asio.thread(worker, 1, port, stop, ready)
      local b = asio.thread(worker, 2, port, stop, ready)
      assert(ready:recv(10) and ready:recv(10))
      local by_worker = { 0, 0 }
      for i = 1, 100 do -- new source ports each time: the kernel spreads them over both
        local conn = assert(asio.connect('127.0.0.1', port))
        conn:settimeout(10)
        assert(conn:write('hello\n'))
        local id = tonumber(assert(conn:read_line()):match('^hello (%d)$'))
        by_worker[id] = by_worker[id] + 1
        conn:close()
      end
      assert.is_true(by_worker[1] > 0 and by_worker[2] > 0,
        ('one state served all: %d / %d'):format(by_worker[1], by_worker[2]))
      -- A connection in flight when the stop comes is served to its end.
      local lingering = assert(asio.connect('127.0.0.1', port))
      lingering:settimeout(10)
      asio.sleep(0.05) -- accepted by one of them
      stop:close()
      asio.sleep(0.05)
      assert(lingering:write('late\n'))
      assert.truthy(lingering:read_line():match('^late %d$'))
      lingering:close()
      local ok1, served1, left1 = a:join(10)
      local ok2, served2, left2 = b:join(10)
      assert.is_true(ok1 and ok2)
      assert.equal(101, served1 + served2)
      assert.equal(0, left1 + left2)
      -- Nobody listens any more.
      assert.same({ nil, 'connection refused' }, { asio.connect('127.0.0.1', port) })
    end, { timeout = 30 })
  end)
end)
