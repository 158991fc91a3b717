-- Signals as light-thread waits: asio.signal, sig:wait, queuing, close, the default action back.
-- Every signal here is sent by the test process to itself, and every wait is bounded.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'
local ffi = require 'ffi'
local run = helpers.run_async
if helpers.skip_without_signals('asio.signal', 'signal', function() asio.signal('TERM') end) then return end

pcall(ffi.cdef, [[
int kill(int pid, int sig);
int getpid(void);
typedef void (*lasio_sighandler_t)(int);
lasio_sighandler_t signal(int sig, lasio_sighandler_t handler);
]])
local SIGUSR1, SIGUSR2, SIGWINCH = 10, 12, 28

local function raise(signo) assert(ffi.C.kill(ffi.C.getpid(), signo) == 0) end

-- Whether signo's action is the default one; puts the default back either way, so a failing
-- test leaves the process as it found it.
local function default_action(signo)
  local old = ffi.C.signal(signo, nil) -- SIG_DFL is the null handler
  return old == nil
end

local function shell(cmd)
  local ok, how, code = os.execute(cmd)
  if type(ok) == 'number' then return ok == 0 end
  return ok == true or (how == 'exit' and code == 0)
end
local here = debug.getinfo(1, 'S').source:match('^@(.*)spec/signal_spec%.lua$') or './'

describe("asio.signal", function()
  after_each(function()
    for _, s in ipairs { SIGUSR1, SIGUSR2, SIGWINCH } do ffi.C.signal(s, nil) end
  end)

  it("parks a light thread until the signal comes and returns its name and number", function()
    run(function()
      local sig = asio.signal('USR1')
      asio.spawn_light_thread(function() raise(SIGUSR1) end)
      local name, num = sig:wait(5)
      assert.equal('USR1', name)
      assert.equal(SIGUSR1, num)
      sig:close()
    end)
  end)

  it("takes names with or without SIG, in any case, and numbers", function()
    run(function()
      local sig = asio.signal('sigusr1', 'USR2', SIGWINCH)
      raise(SIGWINCH)
      assert.equal('WINCH', (sig:wait(5)))
      raise(SIGUSR2)
      assert.equal('USR2', (sig:wait(5)))
      raise(SIGUSR1)
      assert.equal('USR1', (sig:wait(5)))
      sig:close()
    end)
  end)

  it("queues signals nobody waits for, oldest first, for later waits", function()
    run(function()
      local sig = asio.signal('USR1', 'USR2')
      local marker = asio.signal('WINCH')
      raise(SIGUSR1); raise(SIGUSR1); raise(SIGUSR2); raise(SIGUSR1)
      raise(SIGWINCH)
      -- Signals pass through one pipe in order: once WINCH is here, the others are queued
      -- (USR1 once, however often it came, until a wait takes it).
      assert.equal('WINCH', (marker:wait(5)))
      assert.equal('USR1', (sig:wait(0)))
      assert.equal('USR2', (sig:wait(0)))
      sig:close(); marker:close()
    end)
  end)

  it("reaches every watcher of the signal", function()
    run(function()
      local a, b = asio.signal('USR2'), asio.signal('USR2')
      local th = asio.spawn_light_thread(function() return a:wait(5) end)
      raise(SIGUSR2)
      assert.equal('USR2', (b:wait(5)))
      assert.same({ true, 'USR2', SIGUSR2 }, { th:join(5) })
      a:close(); b:close()
    end)
  end)

  it("returns nil, 'timeout' when nothing comes in time", function()
    run(function()
      local sig = asio.signal('USR1')
      local v, err = sig:wait(0.05)
      assert.is_nil(v)
      assert.equal('timeout', err)
      sig:close()
    end)
  end)

  it("wakes the waiter with nil, 'closed' when another light thread closes it", function()
    run(function()
      local sig = asio.signal('USR1')
      asio.spawn_light_thread(function() sig:close() end)
      local v, err = sig:wait(5)
      assert.is_nil(v)
      assert.equal('closed', err)
      v, err = sig:wait()
      assert.equal('closed', err)
    end)
  end)

  it("gives the signal its default action back when the last watcher closes", function()
    local a, b = asio.signal('USR1'), asio.signal('USR1')
    a:close()
    -- b still watches: the action is still asio's
    local old = ffi.C.signal(SIGUSR1, ffi.C.signal(SIGUSR1, nil))
    assert.is_not_nil(old)
    b:close()
    assert.is_true(default_action(SIGUSR1))
  end)

  it("gives the default action back when an unreachable watcher is collected", function()
    asio.signal('USR2')
    collectgarbage(); collectgarbage()
    run(function() asio.sleep(0) end) -- the loop destroys what finalizers released
    assert.is_true(default_action(SIGUSR2))
  end)

  it("makes a process that closed its watcher die of the signal again #subprocess", function()
    local script = [[
      local asio = require 'asio'
      local ffi = require 'ffi'
      ffi.cdef 'int kill(int, int); int getpid(void);'
      local sig = asio.signal('TERM')
      sig:close()
      ffi.C.kill(ffi.C.getpid(), 15)
      os.exit(0)
    ]]
    local out = assert(io.popen('luajit -e "' .. script:gsub('"', '\\"'):gsub('\n', ' ') .. '" 2>&1; echo "status $?"'))
    local text = out:read('*a')
    out:close()
    assert.truthy(text:find('status 143'), text) -- 128 + SIGTERM
  end)

  it("raises on bad arguments", function()
    assert.has_error(function() asio.signal() end, "bad argument #1 to 'signal' (signal name or number expected)")
    assert.has_error(function() asio.signal('NOPE') end, "bad argument #1 to 'signal' (unknown signal 'NOPE')")
    assert.has_error(function() asio.signal('USR1', 'KILL') end,
      "bad argument #2 to 'signal' (this signal cannot be watched (KILL, STOP, or a fault))")
    assert.has_error(function() asio.signal('SEGV') end)
    assert.has_error(function() asio.signal(0) end, "bad argument #1 to 'signal' (no such signal number)")
    assert.has_error(function() asio.signal({}) end)
    assert.is_true(default_action(SIGUSR1))
  end)

  it("raises when a wait would block outside a light thread, and for a second waiter", function()
    local sig = asio.signal('USR1')
    assert.has_error(function() sig:wait() end, "wait: not called from a light thread")
    run(function()
      local th = asio.spawn_light_thread(function() sig:wait(5) end)
      asio.sleep(0)
      assert.has_error(function() sig:wait() end, "wait: another light thread is waiting on this signal watcher")
      sig:close()
      th:join(5)
    end)
  end)

  it("reaches the watchers of a state on another OS thread (asio.thread), while this one watches too", function()
    run(function()
      local ready, stop = asio.shared_channel(1), asio.shared_channel(1)
      local mine = asio.signal('USR2')
      local th = asio.thread(function(r, s)
        local sig = asio.signal('USR2')
        r:send('watching')
        local name = sig:wait(10)
        sig:close()
        s:recv(10) -- stays until the spec has its own, so both watch at once throughout
        return name
      end, ready, stop)
      assert.equal('watching', ready:recv(10))
      raise(SIGUSR2)
      assert.equal('USR2', (mine:wait(5)))
      stop:send('done')
      assert.same({ true, 'USR2' }, { th:join(10) })
      mine:close()
    end, { timeout = 20 })
  end)

  it("reaches the watchers of every Lua state of the process (two states on two OS threads) #subprocess", function()
    local host = os.getenv('ASIO_TEST_HOST')
    assert.is_string(host, 'ASIO_TEST_HOST must name the two_states test host (spec/run.sh sets it)')
    assert.is_true(shell(host .. ' ' .. here .. 'spec/scripts/signal_states.lua'))
  end)
end)
