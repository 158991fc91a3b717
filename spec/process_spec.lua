-- Behaviour only a separate process can show: lua_close with everything live, descriptor
-- exhaustion in the accept loop, two Lua states on two OS threads.
local function shell(cmd)
  local ok, how, code = os.execute(cmd)
  if type(ok) == 'number' then return ok == 0 end -- Lua 5.1 style
  return ok == true or (how == 'exit' and code == 0)
end

local luajit = 'luajit'
local here = debug.getinfo(1, 'S').source:match('^@(.*)spec/process_spec%.lua$') or './'

describe("in a child process", function()
  it("lua_close with live servers, connections, waiting threads and timers exits cleanly", function()
    local env = os.getenv('ASIO_SANITIZE') and 'ASAN_OPTIONS=detect_leaks=1 ' or ''
    local cmd = env .. luajit .. ' ' .. here .. 'spec/scripts/close_with_everything_live.lua'
    assert.is_true(shell(cmd))
  end)

  it("an accept error such as EMFILE never ends the accept loop", function()
    assert.is_true(shell(luajit .. ' ' .. here .. 'spec/scripts/accept_emfile.lua'))
  end)

  it("an existing coroutine metatable is extended, or loading fails when it cannot be", function()
    local script = luajit .. ' ' .. here .. 'spec/scripts/thread_metatable.lua '
    assert.is_true(shell(script .. 'table'))
    assert.is_true(shell(script .. 'function'))
  end)

  it("asio called from a finalizer after the runtime's own at lua_close raises, clearly", function()
    local env = os.getenv('ASIO_SANITIZE') and 'ASAN_OPTIONS=detect_leaks=1 ' or ''
    local out = io.popen(env .. luajit .. ' ' .. here .. 'spec/scripts/finalizer_after_runtime.lua 2>&1')
    local text = out:read('*a')
    out:close()
    local closed = 'asio: the runtime is closed'
    local lines = {}
    for line in text:gmatch('[^\n]+') do lines[#lines + 1] = line end
    assert.equal(4, #lines, text)
    for _, i in ipairs({ 1, 2, 4 }) do
      assert.truthy(lines[i]:find('^false .*' .. closed), text)
    end
    assert.truthy(lines[3]:find('^true %d'), text) -- now() needs no runtime
  end)

  it("spawn works the same through the FFI and through the core's own spawn", function()
    local script = luajit .. ' ' .. here .. 'spec/scripts/spawn_paths.lua '
    for _, mode in ipairs({ 'ffi', 'noffi', 'nofile' }) do
      assert.is_true(shell(script .. mode), mode)
    end
  end)

  it("numbers in an array given to write are sent as tostring gives them, collector or not", function()
    assert.is_true(shell(luajit .. ' ' .. here .. 'spec/scripts/write_numbers.lua'))
  end)

  it("TLS loads on first use: no OpenSSL mapped before, a clear error when asio/tls.so is absent", function()
    local script = luajit .. ' ' .. here .. 'spec/scripts/tls_on_demand.lua '
    if require('spec.support.helpers').has_tls() then assert.is_true(shell(script .. 'lazy')) end
    assert.is_true(shell(script .. 'missing'))
  end)

  it("two Lua states on two OS threads each run their own runtime", function()
    local host = os.getenv('ASIO_TEST_HOST')
    assert.is_string(host, 'ASIO_TEST_HOST must name the two_states test host (spec/run.sh sets it)')
    assert.is_true(shell(host .. ' ' .. here .. 'spec/scripts/state_pingpong.lua'))
  end)
end)
