-- TLS is a part of its own (asio/tls.so): a script that never uses it maps no OpenSSL, the first
-- TLS call loads it, and without it TLS calls raise a clear error while the rest works.
-- Usage: luajit tls_on_demand.lua lazy|missing; exits 0 when every check holds.
local mode = arg[1]

local function openssl_mapped()
  for line in io.lines('/proc/self/maps') do
    if line:find('libssl', 1, true) or line:find('libcrypto', 1, true) then return true end
  end
  return false
end

if mode == 'missing' then
  -- A C path where only the core is found, as on an install without the TLS part.
  local core = assert(package.searchpath('asio.core', package.cpath))
  local dir = assert(io.popen('mktemp -d /tmp/lasio-notls-XXXXXX')):read('*l')
  assert(os.execute('mkdir -p ' .. dir .. '/asio && ln -s ' .. core .. ' ' .. dir .. '/asio/core.so'))
  package.cpath = dir .. '/?.so'
  local asio = require 'asio'
  os.execute('rm -rf ' .. dir)
  local ok, err = pcall(asio.tls_context, { mode = 'client' })
  assert(not ok and err:find('tls_context: TLS is not available', 1, true), tostring(err))
  assert(err:find("module 'asio.tls' not found", 1, true), err)
  -- Everything else works, and TLS-only calls on a plain connection answer as before.
  local done, failed = false, nil
  local srv = asio.server('127.0.0.1', 0, function(c) c:write(c:read(5)); c:close() end)
  local _, port = srv:local_address()
  asio.on_error(function(e) failed = e; asio.stop() end)
  asio.spawn_light_thread(function()
    local c = assert(asio.connect('127.0.0.1', port))
    assert(c:tls_info() == nil)
    local bad = select(2, pcall(c.tls_handshake, c, {}))
    assert(bad:find('asio.tls_context expected', 1, true), bad)
    assert(c:write('hello'))
    assert(c:read(5) == 'hello')
    c:close()
    srv:close()
    done = true
  end)
  asio.run_once(10)
  assert(done and not failed, tostring(failed))
  assert(not openssl_mapped())
elseif mode == 'lazy' then
  local asio = require 'asio'
  local srv = asio.server('127.0.0.1', 0, function(c) c:close() end)
  assert(not openssl_mapped(), 'OpenSSL mapped before any TLS call')
  assert(package.loaded['asio.tls'] == nil)
  assert(asio.tls_context({ mode = 'client', verify = false }))
  assert(openssl_mapped() and package.loaded['asio.tls'] ~= nil)
  srv:close()
else
  error('usage: tls_on_demand.lua lazy|missing')
end
print('ok')
