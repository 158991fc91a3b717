-- A TLS echo service with ALPN, and a client that verifies it, over loopback.
-- The certificate is made on the spot with the openssl command (self-signed, one day).
local asio = require 'asio'

local dir = assert(io.popen('mktemp -d')):read('*l')
local ok = os.execute(('openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes ' ..
  '-keyout %s/key.pem -out %s/cert.pem -subj /CN=localhost -addext subjectAltName=DNS:localhost ' ..
  '-days 1 >/dev/null 2>&1'):format(dir, dir))
if ok ~= 0 and ok ~= true then
  print('the openssl command is needed to make a certificate; skipping')
  os.exit(0)
end

local server_ctx = assert(asio.tls_context {
  mode = 'server', cert = dir .. '/cert.pem', key = dir .. '/key.pem', alpn = { 'echo/1' },
})
-- Clients verify the certificate and the host name by default; this one trusts our own cert.
local client_ctx = assert(asio.tls_context { ca = dir .. '/cert.pem', alpn = { 'echo/1' } })

local server = assert(asio.server('127.0.0.1', 0, function(conn)
  -- The handler runs only after a successful handshake.
  while true do
    local line = conn:read_line()
    if not line then break end
    conn:write(line .. '\n')
  end
  conn:close()
end, { tls = server_ctx }))
local _, port = server:local_address()

asio.spawn_light_thread(function()
  local conn = assert(asio.connect('localhost', port, { tls = client_ctx, timeout = 5 }))
  local info = conn:tls_info()
  print(('connected with %s, %s, alpn %s'):format(info.version, info.cipher, tostring(info.alpn)))
  conn:write('hello over tls\n')
  print(assert(conn:read_line()))
  conn:close()
  -- A name the certificate does not carry is refused.
  local c, err, detail = asio.connect('127.0.0.1', port, { tls = client_ctx, server_name = 'example.org' })
  print('wrong name:', c, err, detail)
  server:close()
end)

asio.run()
os.execute('rm -rf ' .. dir)
