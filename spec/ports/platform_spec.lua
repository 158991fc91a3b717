-- SPDX-License-Identifier: MIT
-- What differs between the platforms tools/ports.sh runs on: the same short error strings for
-- Winsock's codes, listener ports that cannot be taken over, and options with no equivalent on
-- Windows returning a documented error instead of doing nothing.
local asio = require 'asio'
local ffi = require 'ffi'
local helpers = require 'spec.support.helpers'
local run = helpers.run_async
local windows = jit.os == 'Windows'

describe("platform", function()
  it("says where it runs (for the log)", function()
    print(('# %s %s, %d-bit, %s-endian'):format(jit.os, jit.arch, ffi.abi('64bit') and 64 or 32,
      ffi.abi('le') and 'little' or 'big'))
  end)

  it("a listening port cannot be taken by a second listener, even with reuseaddr", function()
    run(function()
      local s, port = helpers.server(function() end)
      for _, opts in ipairs { {}, { reuseaddr = true }, { reuseaddr = false } } do
        local s2, err = asio.server('127.0.0.1', port, function() end, opts)
        assert.is_nil(s2); assert.equal('address in use', err)
      end
      s:close()
    end)
  end)

  it("connect to a closed port gives 'connection refused', as on Linux", function()
    run(function()
      local s, port = helpers.server(function() end)
      s:close()
      local c, err = asio.connect('127.0.0.1', port)
      assert.is_nil(c); assert.equal('connection refused', err)
    end)
  end)

  if windows then
    it("options with no Windows equivalent return nil, 'operation not supported'", function()
      run(function()
        for _, opts in ipairs { { mark = 1 }, { transparent = true }, { bindtodevice = 'lo' }, { reuseport = true } } do
          local s, err = asio.server('127.0.0.1', 0, function() end, opts)
          assert.is_nil(s); assert.equal('operation not supported', err)
          local u, uerr = asio.udp('127.0.0.1', 0, opts)
          assert.is_nil(u); assert.equal('operation not supported', uerr)
        end
        local s, port = helpers.server(function(c) c:read(1) end)
        local c, err = asio.connect('127.0.0.1', port, { mark = 7 })
        assert.is_nil(c); assert.equal('operation not supported', err)
        c = assert(asio.connect('127.0.0.1', port))
        local ip, why = c:original_dst()
        assert.is_nil(ip); assert.equal('not available', why)
        c:close(); s:close()
      end)
    end)
  end
end)
