-- SPDX-License-Identifier: MIT
-- Spec helpers for asio.http: whether it is built, curl run from another OS thread (the server
-- under test lives in this process's loop, which must keep running), raw requests, an nginx on a
-- loopback port with a configuration the spec writes.
local asio = require 'asio'

local M = {}

local loads
--- Whether asio.http can be used here (asio/http_parser.so built).
function M.available()
  if loads == nil then loads = pcall(require, 'asio.http') end
  return loads
end

--- Whether a command is on PATH.
function M.have(cmd)
  local ok = os.execute('command -v ' .. cmd .. ' >/dev/null 2>&1')
  return ok == 0 or ok == true
end

-- Runs cmd in a shell on another OS thread; its stdout, and the exit status.
local function shell(cmd)
  local f = io.popen(cmd .. '; echo "=rc=$?"')
  local out = f:read('*a')
  f:close()
  local body, rc = out:match('^(.*)=rc=(%d+)%s*$')
  return body, tonumber(rc)
end

--- Runs a shell command without holding this loop (from a light thread): stdout, status.
function M.sh(cmd, timeout)
  -- Without the sanitizer build's LD_PRELOAD: curl and nginx are not under test.
  local th = assert(asio.thread(shell, 'env -u LD_PRELOAD timeout ' .. (timeout or 20) .. ' ' .. cmd))
  local ok, out, rc = th:join((timeout or 20) + 5)
  assert(ok, 'shell command did not finish: ' .. cmd)
  return out, rc
end

--- curl with args (a string, already quoted), silent, 10 s at most: stdout, exit status.
function M.curl(args)
  return M.sh('curl -sS --max-time 10 ' .. args .. ' 2>&1', 15)
end

--- Sends raw bytes on a new connection to port and reads until the server closes (at most
-- 2 s): what came back.
function M.raw(port, bytes, opts)
  local c = assert(asio.connect('127.0.0.1', port))
  c:settimeout(2)
  assert(c:write(bytes))
  if opts and opts.shutdown then c:shutdown('send') end
  local got = {}
  for _ = 1, 1000 do
    local d = c:read_some()
    if not d then break end
    got[#got + 1] = d
  end
  c:close()
  return table.concat(got)
end

--- The status code of the first response in text.
function M.status_of(text)
  return tonumber(text:match('^HTTP/1%.%d (%d%d%d)'))
end

--- A free loopback port (bound, read back, released: for programs that need a port number).
function M.free_port()
  local s = assert(asio.server('127.0.0.1', 0, function(c) c:close() end))
  local _, port = s:local_address()
  s:close()
  return port
end

--- Starts nginx with the server blocks in `servers` (a string where PORT and DIR are replaced)
-- in a temporary prefix; returns the prefix and a stop function. Blocking: call before the loop
-- is needed by anybody (nginx forks into the background).
function M.nginx(servers, files)
  local dir = assert(io.popen('mktemp -d /tmp/lasio-nginx-XXXXXX')):read('*l')
  -- nginx's worker may run as another user (nobody, when the tests run as root).
  os.execute('mkdir -p ' .. dir .. '/www ' .. dir .. '/tmp && chmod 755 ' .. dir)
  for name, content in pairs(files or {}) do
    local f = assert(io.open(dir .. '/www/' .. name, 'wb'))
    f:write(content)
    f:close()
  end
  local conf = ([[
worker_processes 1;
daemon on;
pid DIR/nginx.pid;
error_log DIR/error.log;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path DIR/tmp; proxy_temp_path DIR/tmp; fastcgi_temp_path DIR/tmp;
  uwsgi_temp_path DIR/tmp; scgi_temp_path DIR/tmp;
  keepalive_requests 10000;
  default_type application/octet-stream;
]] .. servers .. '\n}\n'):gsub('DIR', dir)
  local f = assert(io.open(dir .. '/nginx.conf', 'w'))
  f:write(conf)
  f:close()
  local ok = os.execute('env -u LD_PRELOAD nginx -p ' .. dir .. ' -c ' .. dir .. '/nginx.conf -e ' .. dir .. '/error.log >/dev/null 2>&1')
  assert(ok == 0 or ok == true, 'nginx did not start: ' .. (io.open(dir .. '/error.log') or io.open('/dev/null')):read('*a'))
  local function stop()
    os.execute('kill $(cat ' .. dir .. '/nginx.pid) 2>/dev/null; sleep 0.2; rm -rf ' .. dir)
  end
  return dir, stop
end

return M
