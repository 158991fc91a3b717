-- asio.thread: functions run in fresh Lua states on OS threads of their own, their arguments and
-- results copied, their errors and tracebacks brought back, while the caller's loop serves on.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'
local threads = require 'spec.support.threads'
local run, raises = threads.run, threads.raises

describe("asio.thread", function()
  it("runs fn(...) in another state and brings its results back", function()
    run(function()
      local th = asio.thread(function(a, b)
        asio.sleep(0)                                  -- a light thread of the new state's loop
        return a + b, 'two', nil, { deep = { 'x' } }
      end, 40, 2)
      local r = { n = 0 }
      local function pack(...) return { n = select('#', ...), ... } end
      r = pack(th:join())
      assert.equal(5, r.n)
      assert.same({ true, 42, 'two', nil, { deep = { 'x' } } }, { r[1], r[2], r[3], r[4], r[5] })
      assert.equal('done', th:status())
      r = pack(th:join())                              -- again, at once
      assert.equal(5, r.n)
      assert.equal(42, r[2])
    end)
  end)

  it("runs in a fresh state: no globals of the caller's, asio loaded, the caller's package paths", function()
    run(function()
      CALLER_GLOBAL = 1
      local ok, seen, path, cpath, loaded = asio.thread(function()
        return CALLER_GLOBAL, package.path, package.cpath, package.loaded.asio ~= nil
      end):join()
      CALLER_GLOBAL = nil
      assert.is_true(ok)
      assert.is_nil(seen)
      assert.equal(package.path, path)
      assert.equal(package.cpath, cpath)
      assert.is_true(loaded)
    end)
  end)

  it("loads locks, events, wait_all, offload and run_command in a fresh state only on first use", function()
    run(function()
      local ok, before, kinds, after = asio.thread(function()
        local a = require 'asio'
        local parts = { 'asio.sync.locks', 'asio.sync.events', 'asio.sync.threads', 'asio.offload', 'asio.process' }
        local loaded = {}
        for _, m in ipairs(parts) do if package.loaded[m] then loaded[#loaded + 1] = m end end
        local kinds = { type(a.mutex), type(a.semaphore), type(a.event), type(a.waitgroup), type(a.wait_any),
          type(a.offload_pool), type(a.run_command), type(a.no_such_function) }
        local now = 0
        for _, m in ipairs(parts) do if package.loaded[m] then now = now + 1 end end
        local m = a.mutex()
        assert(m:lock())
        m:unlock()
        return table.concat(loaded, ','), kinds, now
      end):join()
      assert.is_true(ok, before)
      assert.equal('', before)
      local f = 'function'
      assert.same({ f, f, f, f, f, f, f, 'nil' }, kinds)
      assert.equal(5, after)
    end)
  end)

  it("copies every copyable type both ways", function()
    run(function()
      local bytes = {}
      for i = 0, 255 do bytes[#bytes + 1] = string.char(i) end
      local v = { 0.1, -0.0, 2 ^ 53, math.huge, -math.huge, 'a\0b', table.concat(bytes), true, false,
        { nested = { { 1 }, [0.5] = 'half', [true] = 'yes' } } }
      local ok, got, nan = asio.thread(function(t, n) return t, n end, v, 0 / 0):join()
      assert.is_true(ok)
      assert.same(v, got)
      assert.equal(-math.huge, 1 / got[2])             -- -0 stays -0
      assert.is_true(nan ~= nan)
    end)
  end)

  it("refuses arguments that cannot cross, naming the path", function()
    run(function()
      local f = function() end
      raises("thread: args[2].opts.cb: cannot copy a function to another state", asio.thread, f, 1,
        { opts = { cb = print } })
      raises("thread: args[1]: cannot copy a userdata to another state", asio.thread, f, io.stdout)
      raises("thread: args[1].co: cannot copy a thread to another state", asio.thread, f,
        { co = coroutine.create(f) })
      local cycle = { a = {} }
      cycle.a.back = cycle
      raises("thread: args[1].a.back: cannot copy a table that contains itself (a cycle back to args[1])",
        asio.thread, f, cycle)
      raises("(function or 'module.name' expected, got number)", asio.thread, 1)
      raises("a C function cannot cross to another state", asio.thread, print)
    end)
  end)

  it("reports results that cannot cross as the thread's error", function()
    run(function()
      local th = asio.thread(function() return 1, { cb = function() end } end)
      assert.same({ false, 'thread: results[2].cb: cannot copy a function to another state' }, { th:join() })
      assert.equal('failed', th:status())
    end)
  end)

  it("copies upvalues by value and refuses those that cannot cross, by name", function()
    run(function()
      local n, conf = 5, { port = 80, hosts = { 'a' } }
      assert.same({ true, 86, 'a' }, { asio.thread(function() return n + conf.port + 1, conf.hosts[1] end):join() })
      local cb = function() end
      raises("thread: upvalue cb: cannot copy a function to another state", asio.thread, function() return cb end)
      local t = { handler = print }
      raises("thread: upvalue t.handler: cannot copy a function to another state", asio.thread,
        function() return t end)
    end)
  end)

  it("requires again, in the new state, an upvalue that is a loaded module", function()
    run(function()
      local str = string
      assert.same({ true, 'number', 'AB' }, { asio.thread(function()
        return type(asio.now()), str.upper('ab')          -- asio and string are modules here too
      end):join() })
    end)
  end)

  it("accepts a 'module.name' string: require(module)[name] in the new state", function()
    run(function()
      assert.same({ true, 5 }, { asio.thread('spec.support.os_thread_worker.add', 2, 3):join() })
      assert.same({ false, "thread: 'spec.support.os_thread_worker.not_a_function' is not a function (got number)" },
        { asio.thread('spec.support.os_thread_worker.not_a_function'):join() })
      local ok, err = asio.thread('no_such_module_anywhere.fn'):join()
      assert.is_false(ok)
      assert.truthy(err:find("module 'no_such_module_anywhere' not found", 1, true), err)
    end)
  end)

  it("brings an error back with the other state's traceback", function()
    run(function()
      local th = asio.thread(function()
        local function inner() error('boom in the worker') end
        asio.sleep(0)
        inner()
      end)
      local ok, err = th:join()
      assert.is_false(ok)
      assert.truthy(err:find('boom in the worker', 1, true), err)
      assert.truthy(err:find('stack traceback', 1, true), err)
      assert.truthy(err:find('inner', 1, true), err)
      assert.equal('failed', th:status())
      local ok2, err2 = asio.thread(function() error({ code = 1 }) end):join()
      assert.is_false(ok2)
      assert.truthy(err2:find('^table: '), err2)        -- a non-string error, as tostring gives it
    end)
  end)

  it("an error in another light thread of the new state goes to its own error handler", function()
    run(function()
      assert.same({ true, 'still here' }, { asio.thread(function()
        local seen
        asio.on_error(function(msg) seen = msg end)
        asio.spawn_light_thread(function() error('side') end)
        asio.sleep(0.01)
        return seen and seen:find('side', 1, true) and 'still here'
      end):join() })
    end)
  end)

  it("join times out, then may be called again", function()
    run(function()
      local release
      local s, port = helpers.server(function(conn)
        assert.equal('waiting', conn:read_line())
        release = conn                                  -- the worker waits for our line
      end)
      local th = asio.thread(function(p)
        local c = assert(asio.connect('127.0.0.1', p))
        assert(c:write('waiting\n'))
        local line = c:read_line()
        c:close()
        return line
      end, port)
      assert.same({ nil, 'timeout' }, { th:join(0.01) })
      assert.equal('running', th:status())
      assert.is_not_nil(helpers.wait_for(function() return release end))
      assert.same({ nil, 'timeout' }, { th:join(0) })   -- the worker waits for our line
      release:write('go\n')
      assert.same({ true, 'go' }, { th:join() })
      release:close()
      s:close()
    end)
  end)

  it("keeps the caller's loop serving while join waits", function()
    run(function()
      local joining, answered_while_joining = false, 0
      local s, port = helpers.server(function(conn)
        while true do
          local line = conn:read_line()
          if not line then break end
          if joining then answered_while_joining = answered_while_joining + 1 end
          conn:write('pong ' .. line .. '\n')
        end
        conn:close()
      end)
      local th = asio.thread(function(p)
        local c = assert(asio.connect('127.0.0.1', p))
        for i = 1, 100 do
          assert(c:write(i .. '\n'))
          assert(c:read_line() == 'pong ' .. i)
        end
        c:close()
        return 'done 100'
      end, port)
      joining = true
      assert.same({ true, 'done 100' }, { th:join() })
      joining = false
      assert.equal(100, answered_while_joining)
      s:close()
    end)
  end)

  it("runs four threads at once", function()
    run(function()
      local ths = {}
      for i = 1, 4 do
        ths[i] = asio.thread(function(k)
          local sum = 0
          for j = 1, 100000 do sum = sum + j % k end
          asio.sleep(0)
          return k, sum
        end, i + 1)
      end
      for i = 4, 1, -1 do
        local k = i + 1
        local expect = 0
        for j = 1, 100000 do expect = expect + j % k end
        assert.same({ true, k, expect }, { ths[i]:join() })
      end
    end)
  end)

  it("one light thread joins at a time", function()
    run(function()
      local held
      local s, port = helpers.server(function(conn) held = conn end)
      local th = asio.thread(function(p)
        local c = assert(asio.connect('127.0.0.1', p))
        local line = c:read_line()
        c:close()
        return line
      end, port)
      local first = asio.spawn_light_thread(function() return th:join() end)
      assert.is_not_nil(helpers.wait_for(function() return held end))
      raises("join: another light thread is joining this thread", th.join, th)
      held:write('x\n')
      assert.same({ true, true, 'x' }, { first:join() })
      held:close()
      s:close()
    end)
  end)

  it("a dropped handle detaches: the worker finishes and frees its state", function()
    run(function()
      local got
      local s, port = helpers.server(function(conn)
        got = conn:read_line()
        conn:close()
      end)
      asio.thread(function(p)
        asio.sleep(0.01)
        local c = assert(asio.connect('127.0.0.1', p))
        c:write('finished\n')
        c:close()
      end, port)
      collectgarbage(); collectgarbage()                -- the handle is gone
      assert.equal('finished', helpers.wait_for(function() return got end))
      s:close()
    end)
  end)
end)

describe("asio.thread when the calling state closes first", function()
  it("detaches: the worker finishes on its own, its result dropped, no crash, nothing leaked #subprocess", function()
    threads.run_script('os_thread_close', 'ok')
  end)
end)

describe("th:cancel()", function()
  it("stops the other state at its light threads' waits: join returns false, 'cancelled'", function()
    run(function()
      local th = asio.thread(function()
        asio.spawn_light_thread(function() asio.sleep(3600) end)
        local srv = asio.server('127.0.0.1', 0, function() end)
        asio.sleep(3600)
        return 'not reached', srv
      end)
      asio.sleep(0.05)
      assert.equal('running', th:status())
      assert.is_true(th:cancel())
      assert.is_true(th:cancel()) -- asked again: still true while it runs
      assert.same({ false, 'cancelled' }, { th:join(10) })
      assert.equal('failed', th:status())
      assert.is_false(th:cancel()) -- finished
    end)
  end)

  it("a cancel before the thread's loop is up stops it before its function runs", function()
    run(function()
      local ch = asio.shared_channel(1)
      local th = asio.thread(function(c) c:send('ran') end, ch)
      th:cancel()
      local ok, err = th:join(10)
      if ok == false then
        assert.equal('cancelled', err)
      else -- it finished first: then it ran to its end
        assert.is_true(ok)
      end
    end)
  end)

  it("does not undo a thread that finished: its results stay", function()
    run(function()
      local th = asio.thread(function() return 42 end)
      assert.same({ true, 42 }, { th:join(10) })
      assert.is_false(th:cancel())
      assert.same({ true, 42 }, { th:join() })
    end)
  end)
end)

describe("modules in new states", function()
  it("are loaded from bytecode compiled once, yet follow changes to their files and keep their names in tracebacks #subprocess", function()
    run(function()
      local dir = os.tmpname()
      os.remove(dir)
      assert(os.execute('mkdir -p ' .. dir) == 0)
      local saved = package.path
      package.path = dir .. '/?.lua;' .. package.path
      local function write(text)
        local f = assert(io.open(dir .. '/lasio_cached_mod.lua', 'w'))
        f:write(text)
        f:close()
      end
      local function use()
        return asio.thread(function() return require('lasio_cached_mod').value() end):join()
      end
      write('return { value = function() return "first" end }\n')
      assert.same({ true, 'first' }, { use() })
      assert.same({ true, 'first' }, { use() })           -- from the cache
      write('return { value = function() return "second, longer" end }\n')
      assert.same({ true, 'second, longer' }, { use() })  -- the file changed: compiled again
      write('return { value = function()\n  error("from the module")\nend }\n')
      local ok, err = use()
      assert.is_false(ok)
      assert.truthy(err:find('lasio_cached_mod.lua:2: from the module', 1, true), err)
      package.path = saved
      os.remove(dir .. '/lasio_cached_mod.lua')
      os.remove(dir)
    end)
  end)
end)
