-- examples/daemon.lua driven from outside, as its supervisor would: SIGHUP reloads the config,
-- SIGTERM stops accepting, lets the request in flight finish (within the grace bound), exit 0.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'
local run = helpers.run_async
if helpers.skip_without_daemon('examples/daemon.lua', 'spawn_process', function() asio.spawn_process { 'true' } end) then return end

local here = debug.getinfo(1, 'S').source:match('^@(.*)spec/daemon_example_spec%.lua$') or './'

local function write_config(path, text)
  local f = assert(io.open(path, 'w'))
  f:write(text)
  f:close()
end

-- Starts the daemon on config; returns the process, its log (a connection) and its port.
local function start(config)
  local p = assert(asio.spawn_process { 'luajit', here .. 'examples/daemon.lua', config, stdout = 'pipe' })
  p.stdout:settimeout(10)
  local port = tonumber((assert(p.stdout:read_line()):match('^listening (%d+)$')))
  assert(port, 'no port in the log')
  return p, p.stdout, port
end

local function request(c, line)
  assert(c:write(line .. '\n'))
  return c:read_line()
end

describe("examples/daemon.lua", function()
  local config
  before_each(function() config = os.tmpname() end)
  after_each(function() os.remove(config) end)

  it("reloads on SIGHUP and stops gracefully on SIGTERM with a request in flight, exit 0", function()
    write_config(config, 'greeting = hello\ngrace = 5\n')
    run(function()
      local p, log, port = start(config)
      local c = assert(asio.connect('127.0.0.1', port))
      c:settimeout(10)
      assert.equal('hello ping', request(c, 'ping'))
      write_config(config, 'greeting = howdy\ngrace = 5\n')
      assert.is_true(p:kill('HUP'))
      assert.equal('reloaded greeting=howdy', log:read_line())
      assert.equal('howdy ping', request(c, 'ping'))
      local idle = assert(asio.connect('127.0.0.1', port))
      idle:settimeout(10)
      assert.equal('howdy idle', request(idle, 'idle'))
      assert(c:write('slow 0.3\n'))
      assert.equal('in flight: slow 0.3', log:read_line())
      assert.is_true(p:kill('TERM'))
      assert.equal('stopping: 2 connection(s), 1 in flight', log:read_line())
      assert.equal('howdy slow 0.3', c:read_line()) -- finished, not cut off
      assert.same({ nil, 'closed' }, { c:read_line() })
      assert.same({ nil, 'closed' }, { idle:read_line() })
      assert.equal('stopped', log:read_line())
      assert.same({ true, 'exit', 0 }, { p:wait(10) })
      assert.is_nil((asio.connect('127.0.0.1', port)))
      c:close(); idle:close(); log:close()
    end, { timeout = 20 })
  end)

  it("cuts off a request that outlasts the grace bound, and still exits 0", function()
    write_config(config, 'greeting = hello\ngrace = 0.2\n')
    run(function()
      local p, log, port = start(config)
      local c = assert(asio.connect('127.0.0.1', port))
      c:settimeout(10)
      assert(c:write('slow 30\n'))
      assert.equal('in flight: slow 30', log:read_line())
      assert.is_true(p:kill('TERM'))
      assert.equal('stopping: 1 connection(s), 1 in flight', log:read_line())
      assert.equal('grace period over', log:read_line())
      assert.same({ nil, 'closed' }, { c:read_line() })
      assert.same({ true, 'exit', 0 }, { p:wait(10) })
      c:close(); log:close()
    end, { timeout = 20 })
  end)

  it("keeps serving with the old config when the reload fails", function()
    write_config(config, 'greeting = hello\n')
    run(function()
      local p, log, port = start(config)
      os.remove(config)
      assert.is_true(p:kill('HUP'))
      assert.truthy(log:read_line():find('^reload failed: '))
      local c = assert(asio.connect('127.0.0.1', port))
      c:settimeout(10)
      assert.equal('hello ping', request(c, 'ping'))
      c:close()
      assert.is_true(p:kill('INT'))
      assert.equal('stopping: 0 connection(s), 0 in flight', log:read_line())
      assert.same({ true, 'exit', 0 }, { p:wait(10) })
      log:close()
    end, { timeout = 20 })
  end)
end)
