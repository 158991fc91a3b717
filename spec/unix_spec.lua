-- Unix domain stream sockets: asio.unix_server / asio.unix_connect, the full connection API, and
-- the stale socket file rule (removed only when nobody listens on it).
local asio = require 'asio'
local helpers = require 'spec.support.helpers'
local ffi = require 'ffi'
local run = helpers.run_async

ffi.cdef [[
int socket(int domain, int type, int protocol);
int bind(int fd, const void *addr, unsigned len);
int close(int fd);
int listen(int fd, int backlog);
struct lasio_sockaddr_un { uint16_t family; char path[108]; };
]]

local dir = assert(io.popen('mktemp -d /tmp/lasio-unix-XXXXXX')):read('*l')
local n = 0
local function fresh_path()
  n = n + 1
  return dir .. '/s' .. n .. '.sock'
end

local function exists(path)
  local f = io.open(path, 'r')
  if f then f:close(); return true end
  -- a socket file cannot be opened for reading; ask the shell
  return os.execute('test -e ' .. path) == 0 or os.execute('test -e ' .. path) == true
end

-- Leaves a socket file behind that nobody listens on, as a crashed server would.
local function stale_socket(path)
  local fd = ffi.C.socket(1, 1, 0)
  assert(fd >= 0)
  local sa = ffi.new('struct lasio_sockaddr_un')
  sa.family = 1
  ffi.copy(sa.path, path)
  assert(ffi.C.bind(fd, sa, ffi.sizeof(sa)) == 0)
  ffi.C.close(fd)
  assert(exists(path))
end

teardown(function() os.execute('rm -rf ' .. dir) end)

describe("unix sockets", function()
  it("echo lines with the connection API and report the path as the address", function()
    run(function()
      local path = fresh_path()
      local peer
      local s = assert(asio.unix_server(path, function(c)
        peer = c:remote_address()
        while true do
          local line, err = c:read_line()
          if not line then break end
          assert(c:write(line:upper() .. '\n'))
        end
        c:close()
      end))
      assert.equal(path, s:local_address())
      local c = assert(asio.unix_connect(path))
      c:settimeout(2)
      assert(c:write { 'hello', '\n', 'unix\n' })
      assert.equal('HELLO', c:read_line())
      assert.equal('UNIX', c:read_line())
      assert.equal(path, c:remote_address())
      assert.equal('', peer) -- the client has no path of its own
      c:close()
      s:close()
    end)
  end)

  it("reads of every kind and writes of a large payload work as over TCP", function()
    run(function()
      local path = fresh_path()
      local payload = string.rep('0123456789', 100000) -- 1 MB, more than the socket buffers
      local s = assert(asio.unix_server(path, function(c)
        assert(c:write(payload))
        c:read(1); c:close()
      end))
      local c = assert(asio.unix_connect(path))
      assert.equal('0123', c:read(4))
      assert.equal('456789', c:read_until('0'):sub(1, 6))
      local rest = {}
      local got = 11
      while got < #payload do
        local d = assert(c:read_some(65536))
        rest[#rest + 1] = d; got = got + #d
      end
      assert.equal(#payload, got)
      c:write('x'); c:close(); s:close()
    end)
  end)

  it("removes a stale socket file nobody listens on", function()
    run(function()
      local path = fresh_path()
      stale_socket(path)
      local v, err = asio.unix_connect(path)
      assert.is_nil(v); assert.equal('connection refused', err)
      local s = assert(asio.unix_server(path, function(c) c:write('ok'); c:close() end))
      local c = assert(asio.unix_connect(path))
      assert.equal('ok', c:read(2))
      c:close(); s:close()
    end)
  end)

  it("refuses a path someone listens on, and leaves their server working", function()
    run(function()
      local path = fresh_path()
      local s = assert(asio.unix_server(path, function(c) c:write('first'); c:close() end))
      local s2, err = asio.unix_server(path, function() end)
      assert.is_nil(s2); assert.equal('address in use', err)
      local c = assert(asio.unix_connect(path))
      assert.equal('first', c:read(5))
      c:close(); s:close()
    end)
  end)

  it("never removes a file that is not a socket", function()
    run(function()
      local path = fresh_path()
      local f = assert(io.open(path, 'w')); f:write('keep me'); f:close()
      local s, err = asio.unix_server(path, function() end)
      assert.is_nil(s); assert.equal('address in use', err)
      f = assert(io.open(path, 'r')); assert.equal('keep me', f:read('*a')); f:close()
      os.remove(path)
    end)
  end)

  it("removes its socket file on close and when collected", function()
    run(function()
      local path = fresh_path()
      local s = assert(asio.unix_server(path, function() end))
      assert.is_true(exists(path))
      s:close()
      assert.is_false(exists(path))
      local path2 = fresh_path()
      assert(asio.unix_server(path2, function() end))
      assert.is_true(exists(path2))
      collectgarbage(); collectgarbage()
      assert.is_false(exists(path2))
    end)
  end)

  it("fails cleanly on a missing path, an empty path and a path too long", function()
    run(function()
      local v, err = asio.unix_connect(dir .. '/missing.sock')
      assert.is_nil(v); assert.equal('no such file or directory', err)
      v, err = asio.unix_connect('')
      assert.is_nil(v); assert.equal('invalid path', err)
      v, err = asio.unix_server(dir .. '/' .. string.rep('x', 200), function() end)
      assert.is_nil(v); assert.equal('invalid path', err)
    end)
  end)

  it("a read timeout and close from another light thread behave as over TCP", function()
    run(function()
      local path = fresh_path()
      local s = assert(asio.unix_server(path, function(c) c:read(1); c:close() end))
      local c = assert(asio.unix_connect(path))
      c:settimeout(0.05)
      local v, err = c:read(1)
      assert.is_nil(v); assert.equal('timeout', err)
      c:settimeout(nil)
      local reader = asio.spawn_light_thread(function() return c:read(1) end)
      asio.sleep(0.01)
      c:close()
      local ok, r1, r2 = reader:join()
      assert.is_true(ok); assert.is_nil(r1); assert.equal('closed', r2)
      s:close()
    end)
  end)

  it("connecting to a listener whose backlog is full fails, never hands out a dead connection", function()
    run(function()
      -- A listener that never accepts, with the smallest backlog.
      local path = fresh_path()
      local fd = ffi.C.socket(1, 1, 0)
      local sa = ffi.new('struct lasio_sockaddr_un')
      sa.family = 1
      ffi.copy(sa.path, path)
      assert(ffi.C.bind(fd, sa, ffi.sizeof(sa)) == 0)
      assert(ffi.C.listen(fd, 0) == 0)
      local conns, failed = {}, nil
      for _ = 1, 8 do
        local c, err = asio.unix_connect(path, { timeout = 1 })
        if not c then failed = err; break end
        assert.equal(path, (c:remote_address())) -- a connection handed out is connected
        conns[#conns + 1] = c
      end
      assert.equal('resource temporarily unavailable', failed)
      for _, c in ipairs(conns) do c:close() end
      ffi.C.close(fd)
      os.remove(path)
    end)
  end)

  it("raises for bad arguments and outside a light thread", function()
    assert.has_error(function() asio.unix_server() end)
    assert.has_error(function() asio.unix_server(fresh_path()) end)
    assert.has_error(function() asio.unix_connect(fresh_path()) end, "unix_connect: not called from a light thread")
  end)
end)
