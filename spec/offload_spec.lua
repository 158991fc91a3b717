-- asio.offload: blocking or CPU-heavy work run in a pool of worker states while the light thread
-- that asked stays parked and its loop serves everything else.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'
local threads = require 'spec.support.threads'
local raises = threads.raises

-- The pool's workers live as long as this state: only the body's own threads are checked.
local function run(fn, timeout)
  helpers.run_async(fn, { timeout = timeout or 30 })
end

-- The pool is per state and starts at the first offload; one size for the whole file.
asio.offload_pool{ size = 2, queue = 4 }

describe("asio.offload", function()
  it("runs fn(...) in a worker and returns its results; upvalues copied, modules required there", function()
    run(function()
      local factor = 3
      local json_like = { sep = ',' }
      local ok, a, b, c = asio.offload(function(x, t)
        return x * factor, table.concat(t, json_like.sep), string.rep('z', 2)
      end, 14, { 'a', 'b' })
      assert.same({ true, 42, 'a,b', 'zz' }, { ok, a, b, c })
      assert.same({ true, 'ababab' }, { asio.offload('string.rep', 'ab', 3) })
    end)
  end)

  it("brings errors back with the worker's traceback; refuses what cannot cross", function()
    run(function()
      local ok, err = asio.offload(function() error('it broke') end)
      assert.is_false(ok)
      assert.truthy(err:find('it broke', 1, true))
      assert.truthy(err:find('stack traceback', 1, true))
      raises("offload: args[2].cb: cannot copy a function", asio.offload, function() end, 1, { cb = print })
      local captured = print
      raises("offload: upvalue captured: cannot copy a function", asio.offload, function() return captured end)
      assert.same({ false, 'offload: results[1]: cannot copy a function to another state' },
        { asio.offload(function() return print end) })
      assert.same({ false, "offload: 'string.nothing' is not a function" }, { asio.offload('string.nothing') })
      raises("function or 'module.name' expected, got number", asio.offload, 42)
      raises("option 'timeout' must be a non-negative number", asio.offload, { timeout = -1 }, print)
      raises("a C function cannot cross", asio.offload, print)
    end)
  end)

  it("times out, and the pool keeps serving afterwards", function()
    run(function()
      local slow = function(s) local t = os.clock() while os.clock() - t < s do end return 'slow done' end
      assert.same({ nil, 'timeout' }, { asio.offload({ timeout = 0.05 }, slow, 0.3) })
      assert.same({ true, 'quick' }, { asio.offload({ timeout = 10 }, function() return 'quick' end) })
    end)
  end)

  it("a job that blocks its worker leaves the caller's loop serving: 100 pings answered first #subprocess", function()
    -- The job reads a pipe that this state writes only after its other light thread has
    -- answered 100 pings over TCP: no timing is involved, only the order of events.
    run(function()
      local path = os.tmpname()
      os.remove(path)
      assert.equal(0, os.execute('mkfifo ' .. path))
      local answered = 0
      local srv, port = helpers.server(function(conn)
        while true do
          local line = conn:read_line()
          if not line then break end
          answered = answered + 1
          conn:write(line .. '\n')
        end
        conn:close()
      end)
      local job_result
      local job = asio.spawn_light_thread(function()
        job_result = { asio.offload(function(p)
          local f = assert(io.open(p, 'r')) -- blocks the worker until a writer opens the pipe
          local data = f:read('*a')
          f:close()
          return data
        end, path) }
      end)
      local conn = assert(asio.connect('127.0.0.1', port))
      for i = 1, 100 do
        assert(conn:write('ping ' .. i .. '\n'))
        assert.equal('ping ' .. i, conn:read_line())
      end
      conn:close()
      assert.equal(100, answered)
      assert.is_nil(job_result) -- still blocked in its worker
      local w = assert(io.open(path, 'w'))
      w:write('released')
      w:close()
      job:join()
      os.remove(path)
      srv:close()
      assert.same({ true, 'released' }, job_result)
    end)
  end)

  it("a caller whose queue is full parks until there is room, and every job runs once", function()
    run(function()
      local results, waiting = {}, 0
      local threads = {}
      for i = 1, 20 do
        threads[i] = asio.spawn_light_thread(function()
          waiting = waiting + 1
          local ok, v = asio.offload(function(x) local t = os.clock() while os.clock() - t < 0.005 do end return x end, i)
          waiting = waiting - 1
          results[i] = ok and v
        end)
      end
      asio.wait_all(unpack(threads))
      for i = 1, 20 do assert.equal(i, results[i]) end
      assert.equal(0, waiting)
    end)
  end)

  it("workers collect between jobs: garbage of earlier jobs does not pile up", function()
    run(function()
      local heaps = {}
      for i = 1, 40 do
        local ok, kb = asio.offload(function()
          local junk = {}
          for k = 1, 2000 do junk[k] = ('x'):rep(1000) .. k end -- about 2 MB, garbage on return
          return collectgarbage('count')
        end)
        assert.is_true(ok)
        heaps[i] = kb
      end
      -- 40 jobs made 80 MB of garbage over two workers; a worker's heap stays a few MB.
      table.sort(heaps)
      assert.is_true(heaps[#heaps] < 16 * 1024, 'a worker heap grew to ' .. heaps[#heaps] .. ' kB')
    end)
  end)

  it("must be called from a light thread, and the pool is configured before it starts", function()
    raises("offload: not called from a light thread", asio.offload, function() end)
    raises("the pool is already running", asio.offload_pool, { size = 1 })
    raises("option 'size' must be an integer from 1 to 4096", asio.offload_pool, { size = 0 })
  end)
end)

describe("asio.offload when its state closes", function()
  it("the workers finish the job they run, take no other, and end #subprocess", function()
    threads.run_script('offload_close', 'ok')
  end)
end)
