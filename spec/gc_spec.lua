-- Lifetime: garbage-collected connections and servers close; lua_close frees everything;
-- two Lua states on two OS threads use the module independently.
local asio = require 'asio'
local helpers = require 'spec.helpers'
local run = helpers.run_async

local function shell(cmd)
  local ok, how, code = os.execute(cmd)
  if type(ok) == 'number' then return ok == 0 end -- Lua 5.1 style
  return ok == true or (how == 'exit' and code == 0)
end

local luajit = 'luajit'
local here = debug.getinfo(1, 'S').source:match('^@(.*)spec/gc_spec%.lua$') or './'

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
      for _ = 1, 100 do
        if peer_saw then break end
        asio.sleep(0.01)
      end
      assert.equal('closed', peer_saw)
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

  it("lua_close with live servers, connections, waiting threads and timers exits cleanly", function()
    local env = os.getenv('ASIO_SANITIZE') and 'ASAN_OPTIONS=detect_leaks=1 ' or ''
    local cmd = env .. luajit .. ' ' .. here .. 'spec/scripts/close_with_everything_live.lua'
    assert.is_true(shell(cmd))
  end)

  it("two Lua states on two OS threads each run their own runtime", function()
    local host = os.getenv('ASIO_TEST_HOST')
    assert.is_string(host, 'ASIO_TEST_HOST must name the two_states test host (spec/run.sh sets it)')
    assert.is_true(shell(host .. ' ' .. here .. 'spec/scripts/state_pingpong.lua'))
  end)
end)
