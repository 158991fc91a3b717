-- TCP connections default to TCP_NODELAY (accepted and connected alike), `nodelay = false`
-- turns it off, and conn:getoption reads back what conn:setoption sets.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'
local run = helpers.run_async

-- Waits (bounded) until the accept handler has recorded what it saw; returns it.
local function accepted_value(get)
  for _ = 1, 100 do
    if get() ~= nil then break end
    asio.sleep(0.005)
  end
  return get()
end

describe("TCP_NODELAY", function()
  it("is on for connected and accepted TCP connections by default", function()
    run(function()
      local accepted
      local s, port = helpers.server(function(c)
        accepted = c:getoption('nodelay')
        c:read(1)
        c:close()
      end)
      local c = assert(asio.connect('127.0.0.1', port))
      assert.is_true(c:getoption('nodelay'))
      assert.is_true(accepted_value(function() return accepted end))
      c:close()
      s:close()
    end)
  end)

  it("is off with nodelay = false, on either side", function()
    run(function()
      local accepted
      local s, port = helpers.server(function(c)
        accepted = c:getoption('nodelay')
        c:read(1)
        c:close()
      end, { nodelay = false })
      local c = assert(asio.connect('127.0.0.1', port, { nodelay = false }))
      assert.is_false(c:getoption('nodelay'))
      assert.is_false(accepted_value(function() return accepted end))
      assert.is_true(c:setoption('nodelay', true))
      assert.is_true(c:getoption('nodelay'))
      c:close()
      s:close()
    end)
  end)

  it("is on for TLS connections too", function()
    if not asio.tls_context then return end
    run(function()
      local certs = require 'spec.support.certs'
      local sctx, cctx = certs.contexts()
      local accepted
      local s, port = helpers.server(function(c)
        accepted = c:getoption('nodelay')
        c:close()
      end, { tls = sctx })
      local c = assert(asio.connect('127.0.0.1', port, { tls = cctx }))
      assert.is_true(c:getoption('nodelay'))
      assert.is_true(accepted_value(function() return accepted end))
      c:close()
      s:close()
    end)
  end)
end)

describe("conn:getoption", function()
  it("reads keepalive, buffer sizes, reuseaddr and linger", function()
    run(function()
      local s, port = helpers.server(function(c) c:read(1); c:close() end)
      local c = assert(asio.connect('127.0.0.1', port))
      assert.is_true(c:setoption('keepalive', true))
      assert.is_true(c:getoption('keepalive'))
      assert.is_true(c:setoption('rcvbuf', 65536))
      assert.is_true(c:getoption('rcvbuf') >= 65536) -- Linux doubles what it is given
      assert.is_number(c:getoption('sndbuf'))
      assert.is_boolean(c:getoption('reuseaddr'))
      assert.is_false(c:getoption('linger'))
      assert.is_true(c:setoption('linger', 3))
      assert.equal(3, c:getoption('linger'))
      c:close()
      assert.same({ nil, 'closed' }, { c:getoption('nodelay') })
      s:close()
    end)
  end)

  it("raises on an unknown option, or a missing one", function()
    run(function()
      local s, port = helpers.server(function(c) c:read(1); c:close() end)
      local c = assert(asio.connect('127.0.0.1', port))
      assert.has_error(function() c:getoption('speed') end)
      assert.has_error(function() c:getoption() end)
      c:close()
      s:close()
    end)
  end)

  it("reports an error for nodelay on a Unix socket", function()
    run(function()
      local path = os.tmpname()
      os.remove(path)
      local s = assert(asio.unix_server(path, function(c) c:read(1); c:close() end))
      local c = assert(asio.unix_connect(path))
      local v, err = c:getoption('nodelay')
      assert.is_nil(v); assert.is_string(err)
      c:close()
      s:close()
    end)
  end)
end)
