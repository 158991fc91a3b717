-- The seed API exactly as the original README used it, over a real loopback socket.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'

describe("the README ping-pong", function()
  it("runs unchanged: accept handler spawns, client connects by host name and numeric string port", function()
    local replies = {}
    local s = asio.server('127.0.0.1', 0, function(con)
      asio.spawn_light_thread(function(con)
        local data = con:read(5)          -- synchronous-looking, non-blocking
        con:write(data .. '-pong')
        con:close()
      end, con)
    end)
    local _, port = s:local_address()
    local pending = 2
    local dog = asio.timer(5, function() asio.stop() end) -- a hung test fails instead of hanging
    local function ping_send(text)
      local con = asio.connect('localhost', tostring(port))
      con:write(text); local reply = con:read(10); con:close()
      replies[#replies + 1] = reply
      pending = pending - 1
      if pending == 0 then s:close(); dog:cancel() end
    end
    asio.spawn_light_thread(ping_send, 'ping1')
    asio.spawn_light_thread(ping_send, 'ping2')
    asio.run()
    table.sort(replies)
    assert.same({ 'ping1-pong', 'ping2-pong' }, replies)
    helpers.assert_clean()
  end)

  it("runs under LuaJIT", function()
    assert.is_table(jit)
    assert.truthy(jit.version:match('^LuaJIT 2%.1'))
  end)

  it("keeps destory_server as an alias of close", function()
    local s = asio.server('127.0.0.1', 0, function() end)
    asio.destory_server(s)
    assert.is_nil((s:local_address()))
    asio.run() -- lets the aborted accept complete
    helpers.assert_clean()
  end)
end)
