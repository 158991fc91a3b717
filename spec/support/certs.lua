-- SPDX-License-Identifier: MIT
-- A self-signed certificate for localhost and 127.0.0.1, made once per process with the openssl
-- command in a temporary directory (removed at exit).
local M = {}

local dir

local function make()
  dir = assert(io.popen('mktemp -d /tmp/lasio-cert-XXXXXX')):read('*l')
  local cmd = ('cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes ' ..
    '-keyout key.pem -out cert.pem -days 2 -subj "/CN=localhost" ' ..
    '-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >/dev/null 2>&1'):format(dir)
  local ok = os.execute(cmd)
  assert(ok == 0 or ok == true, 'openssl could not make a test certificate')
  -- Removed when the process exits (a userdata finalized at lua_close).
  M._cleanup = newproxy(true)
  getmetatable(M._cleanup).__gc = function() os.execute('rm -rf ' .. dir) end
end

--- Paths of the certificate and its key: cert, key.
function M.paths()
  if not dir then make() end
  return dir .. '/cert.pem', dir .. '/key.pem'
end

--- A server context with this certificate and a client context that does not verify (for
-- specs about what happens on a TLS connection, not about verification): sctx, cctx.
function M.contexts()
  local asio = require 'asio'
  local cert, key = M.paths()
  local sctx = assert(asio.tls_context { mode = 'server', cert = cert, key = key })
  local cctx = assert(asio.tls_context { mode = 'client', verify = false })
  return sctx, cctx
end

return M
