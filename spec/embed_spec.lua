-- Hosts that embed LuaJIT and LuaAsio through include/luaasio.h (examples/embed/ and
-- spec/host/embed_checks.c), linked with the static library, run as child processes with no
-- LUA_PATH or LUA_CPATH, and talked to over loopback.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'

local host_dir = (os.getenv('ASIO_TEST_HOST') or ''):match('^(.*)/[^/]+$')
host_dir = host_dir and host_dir .. '/embed'
local here = debug.getinfo(1, 'S').source:match('^@(.*)spec/embed_spec%.lua$') or './'
local built = host_dir and io.open(host_dir .. '/embed_checks') ~= nil

if not built then
  describe("embedding hosts", function() pending("not built here (no static library in this build)") end)
  return
end

local no_paths = 'env -u LUA_PATH -u LUA_CPATH '

--- Starts cmd (its first output line is a port); returns the pipe and the port.
local function start_host(cmd)
  local p = assert(io.popen(cmd .. ' 2>&1; echo "rc=$?"'))
  local port = tonumber(p:read('*l'))
  assert(port, 'the host did not print its port')
  return p, port
end

local function finish_host(p)
  local rest = p:read('*a')
  p:close()
  return rest
end

describe("a host embedding LuaAsio through the C API", function()
  it("keeps the contract of luaasio.h (errors, poll, deadline, descriptor, lua_close, a host's allocator)", function()
    local env = os.getenv('ASIO_SANITIZE') and 'ASAN_OPTIONS=detect_leaks=1 ' or ''
    local p = assert(io.popen(no_paths .. env .. host_dir .. '/embed_checks 2>&1; echo "rc=$?"'))
    local out = p:read('*a')
    p:close()
    assert.truthy(out:find('embed_checks: ok', 1, true), out)
    assert.truthy(out:find('rc=0', 1, true), out)
  end)

  it("uloop_style: its own poll(2) over stdin and the loop's descriptor answers clients", function()
    local p, port = start_host('(sleep 0.3; echo hello-from-stdin; sleep 1) | ' .. no_paths ..
      host_dir .. '/uloop_style ' .. here .. 'examples/embed/uloop_echo.lua')
    local lines = {}
    helpers.run_async(function()
      local c = assert(asio.connect('127.0.0.1', port))
      c:settimeout(5)
      assert(c:write('ping\n'))
      for _ = 1, 2 do lines[#lines + 1] = assert(c:read_line()) end
      assert(c:write('quit\n'))
      c:close()
    end, { timeout = 10 })
    table.sort(lines)
    assert.same({ 'input: hello-from-stdin', 'ping' }, lines)
    local rest = finish_host(p)
    assert.truthy(rest:find('rc=0', 1, true), rest)
  end)

  it("game_loop: a 60 Hz frame loop serves moves and broadcasts state", function()
    local p, port = start_host(no_paths .. host_dir .. '/game_loop ' .. here .. 'examples/embed/game_server.lua')
    local seen
    helpers.run_async(function()
      local c = assert(asio.connect('127.0.0.1', port))
      c:settimeout(5)
      local id = assert(c:read_line()):match('^welcome (%d+)$')
      assert(id)
      assert(c:write('move 3 -4\n'))
      for _ = 1, 200 do
        local line = assert(c:read_line())
        if line:find(' ' .. id .. ':3,-4', 1, true) then
          seen = line
          break
        end
      end
      assert(c:write('quit\n'))
      c:close()
    end, { timeout = 10 })
    assert.truthy(seen and seen:match('^state %d+ '), seen)
    local rest = finish_host(p)
    assert.truthy(rest:find('rc=0', 1, true), rest)
  end)

  it("shared_context: the host's Boost.Asio service and a script share one io_context", function()
    local p = assert(io.popen(no_paths .. host_dir .. '/shared_context ' .. here ..
      'examples/embed/shared_context.lua 2>&1; echo "rc=$?"'))
    local host_port, lua_port = p:read('*l'):match('^(%d+) (%d+)$')
    assert(host_port and lua_port, 'the host did not print its ports')
    local answers = {}
    helpers.run_async(function()
      local h = assert(asio.connect('127.0.0.1', tonumber(host_port)))
      local l = assert(asio.connect('127.0.0.1', tonumber(lua_port)))
      h:settimeout(5)
      l:settimeout(5)
      assert(h:write('one\n') and l:write('two\n'))
      answers[1], answers[2] = assert(h:read_line()), assert(l:read_line())
      -- Held open while the host closes the state: its handler still waits on this connection.
      assert(l:write('quit\n'))
      answers[3] = assert(l:read_line())
      h:close()
      l:close()
    end, { timeout = 10 })
    assert.same({ 'host: one', 'lua: two', 'lua: quit' }, answers)
    local rest = finish_host(p)
    assert.truthy(rest:find('shared_context: done', 1, true), rest)
    assert.truthy(rest:find('rc=0', 1, true), rest)
  end)
end)
