-- Driving the loop from a host: run_once with no or zero timeout, and after stop().
local asio = require 'asio'
local helpers = require 'spec.support.helpers'

describe("run_once", function()
  it("with a zero or missing timeout runs what is ready and tells when work is left", function()
    local ran = false
    asio.spawn_light_thread(function() ran = true end)
    local calls = 0
    while asio.run_once(0) do
      calls = calls + 1
      assert.is_true(calls < 1000, 'run_once(0) keeps reporting work that never runs')
    end
    assert.is_true(ran)
    assert.is_false(asio.run_once(0)) -- nothing left: false at once
    assert.is_false(asio.run_once())
    local th = asio.spawn_light_thread(function() asio.sleep(0.05) end)
    local deadline = asio.now() + 5
    while asio.run_once() do assert.is_true(asio.now() < deadline) end
    assert.equal('dead', th:status())
    helpers.assert_clean()
  end)

  it("cut short by stop() reports that work may remain; the next call goes on", function()
    local th = asio.spawn_light_thread(function() asio.stop(); asio.sleep(0.05); return 'done' end)
    assert.is_true(asio.run_once(1))
    local deadline = asio.now() + 5
    while asio.run_once(1) do assert.is_true(asio.now() < deadline) end
    assert.same({ true, 'done' }, { th:join() })
    helpers.assert_clean()
  end)
end)

-- The loop ends by the runtime's own count of its work, not by the io_context running out.
describe("the loop's end", function()
  it("run_once(timeout) returns as soon as no work is left", function()
    asio.spawn_light_thread(function() asio.sleep(0.02) end)
    local started = asio.now()
    assert.is_false(asio.run_once(3))
    assert.is_true(asio.now() - started < 1.5, 'run_once waited out its timeout')
    helpers.assert_clean()
  end)

  it("run returns when the last work ends, after errors, and after stop() (in a child process)", function()
    -- A run() that never returned would hang the spec: the child runs under a time limit.
    local here = debug.getinfo(1, 'S').source:match('^@(.*)spec/loop_spec%.lua$') or './'
    local out = io.popen('timeout 30 luajit ' .. here .. 'spec/scripts/run_ends.lua 2>&1; echo "exit $?"')
    local text = out:read('*a')
    out:close()
    assert.truthy(text:find('run_ends: ok\nexit 0'), text)
  end)
end)
