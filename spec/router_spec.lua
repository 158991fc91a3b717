-- Router niche (Linux): conn:original_dst() behind a REDIRECT rule, and the socket options of
-- servers and clients: reuseaddr, reuseport, bind, bindtodevice, mark, transparent.
-- What needs privileges or kernel support the host lacks is skipped with a printed reason.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'
local run = helpers.run_async

local function skip(what, why) print(('\nskipped %s: %s'):format(what, tostring(why))) end

local function shell(cmd)
  local p = io.popen(cmd .. ' 2>&1; echo "rc=$?"')
  local out = p:read('*a'); p:close()
  local rc = tonumber(out:match('rc=(%d+)%s*$'))
  return rc, out:gsub('rc=%d+%s*$', '')
end

describe("conn:original_dst", function()
  it("returns nil, 'not available' without NAT, and nil, 'closed' once closed", function()
    run(function()
      local s, port = helpers.server(function(c)
        local ip, p = c:original_dst()
        -- Without a NAT rule there is either no conntrack entry, or the entry names us.
        if ip then assert.equal('127.0.0.1', ip); assert.equal(port, p) else assert.equal('not available', p) end
        c:close()
      end)
      local c = assert(asio.connect('127.0.0.1', port))
      c:settimeout(2)
      assert.same({ nil, 'closed' }, { c:read(1) })
      c:close()
      assert.same({ nil, 'closed' }, { c:original_dst() })
      s:close()
    end)
  end)

  it("reports the destination a REDIRECT rule rewrote (own network namespace, iptables)", function()
    local rc, out = shell('command -v iptables && command -v unshare && command -v ip')
    if rc ~= 0 then return skip('original_dst behind REDIRECT', 'iptables, unshare or ip is not installed') end
    local script = os.tmpname()
    local f = assert(io.open(script, 'w'))
    f:write [[
local asio = require 'asio'
local result = { nil, 'no connection' }
asio.spawn_light_thread(function()
  local s = assert(asio.server('127.0.0.1', 15001, function(c) result = { c:original_dst() }; c:close() end))
  local c = assert(asio.connect('127.0.0.1', 9, { timeout = 2 }))
  c:settimeout(2); c:read(1); c:close(); s:close()
end)
asio.run()
print('original_dst=' .. tostring(result[1]) .. ' ' .. tostring(result[2]))
]]
    f:close()
    rc, out = shell("timeout 20 unshare -n sh -c 'ip link set lo up && " ..
      "iptables -t nat -A OUTPUT -p tcp -d 127.0.0.1 --dport 9 -j REDIRECT --to-ports 15001 && " ..
      "luajit " .. script .. "'")
    os.remove(script)
    if rc ~= 0 or not out:find('original_dst=', 1, true) then
      return skip('original_dst behind REDIRECT', 'could not set up the namespace and rule: ' .. out:gsub('%s+$', ''))
    end
    assert.truthy(out:find('original_dst=127.0.0.1 9', 1, true), out)
  end)
end)

describe("socket options of servers and clients", function()
  it("reuseport lets two servers listen on one port; without it the second is refused", function()
    run(function()
      local served = {}
      local a, port = helpers.server(function(c) served.a = true; c:write('a'); c:close() end, { reuseport = true })
      local b = asio.server('127.0.0.1', port, function(c) served.b = true; c:write('b'); c:close() end, { reuseport = true })
      if not b then a:close(); return skip('reuseport', 'second bind failed') end
      local v, err = asio.server('127.0.0.1', port, function() end)
      assert.is_nil(v); assert.equal('address in use', err)
      -- The kernel spreads connections by hash; many connections reach both with near certainty.
      for _ = 1, 64 do
        local c = assert(asio.connect('127.0.0.1', port))
        c:settimeout(2)
        assert.truthy(({ a = true, b = true })[c:read(1)])
        c:close()
        if served.a and served.b then break end
      end
      assert.is_true(served.a or served.b)
      a:close(); b:close()
    end)
  end)

  it("bind sets the client's local address (127.0.0.2 is loopback too)", function()
    run(function()
      local peer
      local s, port = helpers.server(function(c) peer = c:remote_address(); c:write('x'); c:close() end,
        { reuseaddr = true })
      local c, err = asio.connect('127.0.0.1', port, { bind = '127.0.0.2' })
      if not c then s:close(); return skip('bind to 127.0.0.2', err) end
      c:settimeout(2)
      assert.equal('127.0.0.2', (c:local_address()))
      assert.equal('x', c:read(1))
      assert.equal('127.0.0.2', peer)
      c:close()
      local v
      v, err = asio.connect('127.0.0.1', port, { bind = '::1' })
      assert.is_nil(v); assert.equal('address family not supported', err)
      v, err = asio.connect('127.0.0.1', port, { bind = '192.0.2.1' }) -- not an address of this host
      assert.is_nil(v); assert.equal('address not available', err)
      s:close()
    end)
  end)

  it("bindtodevice binds servers and clients to an interface", function()
    run(function()
      local s, err = asio.server('127.0.0.1', 0, function(c) c:write('lo'); c:close() end, { bindtodevice = 'lo' })
      if not s then return skip('bindtodevice', err) end
      local _, port = s:local_address()
      local c = assert(asio.connect('127.0.0.1', port, { bindtodevice = 'lo' }))
      c:settimeout(2)
      assert.equal('lo', c:read(2))
      c:close(); s:close()
      local v
      v, err = asio.connect('127.0.0.1', port, { bindtodevice = 'no-such-dev0' })
      assert.is_nil(v); assert.is_string(err)
    end)
  end)

  it("mark (SO_MARK) is set on clients and servers when the process may (CAP_NET_ADMIN)", function()
    run(function()
      local s, err = asio.server('127.0.0.1', 0, function(c) c:write('m'); c:close() end, { mark = 42 })
      if not s then return skip('mark', err) end
      local _, port = s:local_address()
      local c
      c, err = asio.connect('127.0.0.1', port, { mark = 42 })
      if not c then s:close(); return skip('mark on a client', err) end
      c:settimeout(2)
      assert.equal('m', c:read(1))
      c:close(); s:close()
    end)
  end)

  it("transparent (IP_TRANSPARENT) is accepted on servers and clients when the process may", function()
    run(function()
      local s, err = asio.server('127.0.0.1', 0, function(c) c:write('t'); c:close() end, { transparent = true })
      if not s then return skip('transparent', err) end
      local _, port = s:local_address()
      local c
      c, err = asio.connect('127.0.0.1', port, { transparent = true })
      if not c then s:close(); return skip('transparent on a client', err) end
      c:settimeout(2)
      assert.equal('t', c:read(1))
      c:close(); s:close()
    end)
  end)

  it("reuseport also works for UDP sockets", function()
    run(function()
      local a = assert(asio.udp('127.0.0.1', 0, { reuseport = true }))
      local _, port = a:local_address()
      local b, err = asio.udp('127.0.0.1', port, { reuseport = true })
      if not b then a:close(); return skip('udp reuseport', err) end
      local v
      v, err = asio.udp('127.0.0.1', port)
      assert.is_nil(v); assert.equal('address in use', err)
      a:close(); b:close()
    end)
  end)

  it("rejects option values of the wrong type", function()
    assert.has_error(function() asio.server('127.0.0.1', 0, function() end, { reuseport = 1 }) end,
      "bad argument #4 to 'server' (option 'reuseport' must be a boolean)")
    assert.has_error(function() asio.server('127.0.0.1', 0, function() end, { mark = 'x' }) end,
      "bad argument #4 to 'server' (option 'mark' must be an integer from 0 to 4294967295)")
    assert.has_error(function() asio.server('127.0.0.1', 0, function() end, { mark = -1 }) end,
      "bad argument #4 to 'server' (option 'mark' must be an integer from 0 to 4294967295)")
    assert.has_error(function() asio.server('127.0.0.1', 0, function() end, { backlog = 'x' }) end,
      "bad argument #4 to 'server' (option 'backlog' must be an integer from 1 to 2147483647)")
    assert.has_error(function() asio.unix_server('/tmp/x.sock', function() end, { backlog = -5 }) end,
      "bad argument #3 to 'unix_server' (option 'backlog' must be an integer from 1 to 2147483647)")
    assert.has_error(function() asio.udp('127.0.0.1', 0, { bindtodevice = 1 }) end)
    local u = assert(asio.udp('127.0.0.1', 0))
    assert.has_error(function() u:setoption('multicast_ttl', 1000) end,
      "bad argument #2 to 'setoption' (integer from 0 to 255 expected, got 1000)")
    assert.has_error(function() u:setoption('broadcast', 'yes') end,
      "bad argument #2 to 'setoption' (boolean expected, got string)")
    assert.has_error(function() u:setoption('rcvbuf', -1) end)
    u:close()
    run(function()
      local srv, port = helpers.server(function(conn) conn:close() end)
      local c = assert(asio.connect('127.0.0.1', port))
      assert.has_error(function() c:setoption('nodelay', 'x') end,
        "bad argument #2 to 'setoption' (boolean expected, got string)")
      assert.has_error(function() c:setoption('rcvbuf', -1) end,
        "bad argument #2 to 'setoption' (integer from 1 to 2147483647 expected, got -1)")
      assert.has_error(function() c:setoption('linger', 'x') end)
      assert.is_true(c:setoption('linger', false))
      assert.is_true(c:setoption('linger', 1))
      c:close(); srv:close()
    end)
  end)
end)
