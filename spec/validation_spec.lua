-- Arguments a C parser would misread: empty names, zero bytes, port 0, names where an address
-- is needed. Each gets the documented nil, err or a bad-argument error, never a silent guess.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'
local run = helpers.run_async

describe("addresses and names", function()
  it("with a zero byte or empty are refused, not cut short", function()
    assert.same({ nil, 'invalid address' }, { asio.server('127.0.0.1\0x', 0, function() end) })
    assert.same({ nil, 'invalid address' }, { asio.server('', 0, function() end) })
    assert.same({ nil, 'invalid address' }, { asio.udp('127.0.0.1\0x', 0) })
    run(function()
      local srv, port = helpers.server(function(conn) conn:close() end)
      assert.same({ nil, 'host not found' }, { asio.connect('127.0.0.1\0junk', port) })
      assert.same({ nil, 'host not found' }, { asio.connect('', port) })
      local u = assert(asio.udp('127.0.0.1', 0))
      assert.same({ nil, 'invalid address' }, { u:sendto('x', '127.0.0.1\0x', port) })
      assert.same({ nil, 'host not found' }, { u:connect('', port) })
      u:close()
      srv:close()
    end)
  end)

  it("port 0 is no destination", function()
    run(function()
      local u = assert(asio.udp('127.0.0.1', 0))
      assert.same({ nil, 'invalid port' }, { u:sendto('x', '127.0.0.1', 0) })
      assert.same({ nil, 'invalid port' }, { u:connect('127.0.0.1', 0) })
      assert.same({ nil, 'invalid port' }, { asio.connect('127.0.0.1', 0) })
      u:close()
    end)
  end)

  it("bind takes an IP address only", function()
    run(function()
      assert.has_error(function() asio.connect('127.0.0.1', 1, { bind = 'localhost' }) end,
        "bad argument #3 to 'connect' (option 'bind' must be an IP address)")
    end)
  end)

  it("tls_context mode and destroy_server name what is wrong", function()
    assert.has_error(function() asio.tls_context { mode = 'bogus' } end,
      "bad argument #1 to 'tls_context' (option 'mode' must be 'client' or 'server')")
    assert.has_error(function() asio.destroy_server(5) end,
      "bad argument #1 to 'destroy_server' (server expected, got number)")
    assert.has_error(function() asio.destory_server() end,
      "bad argument #1 to 'destroy_server' (server expected, got nil)")
    local u = assert(asio.udp('127.0.0.1', 0))
    assert.has_error(function() asio.destroy_server(u) end,
      "bad argument #1 to 'destroy_server' (server expected, got other userdata)")
    assert.has_error(function() asio.destroy_server(io.stdout) end)
    assert.truthy(u:local_address()) -- untouched
    u:close()
    local srv = assert(asio.server('127.0.0.1', 0, function() end))
    asio.destroy_server(srv)
    assert.equal(0, asio._stats().servers)
  end)
end)
