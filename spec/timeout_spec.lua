-- Timeouts on every blocking operation: read, write, connect; the connection stays usable.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'
local ffi = require 'ffi'
local run = helpers.run_async

ffi.cdef [[
int socket(int domain, int type, int protocol);
int bind(int fd, const void *addr, unsigned len);
int listen(int fd, int backlog);
int getsockname(int fd, void *addr, unsigned *len);
int close(int fd);
struct lasio_sockaddr_in { uint16_t family; uint16_t port; uint8_t addr[4]; uint8_t zero[8]; };
]]

-- A listening socket that never accepts, with the smallest backlog: connects beyond it hang.
local function silent_listener()
  local fd = ffi.C.socket(2, 1, 0)
  assert(fd >= 0)
  local sa = ffi.new('struct lasio_sockaddr_in')
  sa.family = 2
  sa.addr[0], sa.addr[1], sa.addr[2], sa.addr[3] = 127, 0, 0, 1
  assert(ffi.C.bind(fd, sa, ffi.sizeof(sa)) == 0)
  assert(ffi.C.listen(fd, 0) == 0)
  local len = ffi.new('unsigned[1]', ffi.sizeof(sa))
  assert(ffi.C.getsockname(fd, sa, len) == 0)
  local port = bit.bor(bit.lshift(bit.band(sa.port, 0xff), 8), bit.rshift(sa.port, 8))
  return fd, port
end

describe("read timeouts", function()
  it("return nil, 'timeout' and the next read gets the bytes that arrive later", function()
    run(function()
      local s, port = helpers.server(function(c) asio.sleep(0.15); c:write('late'); c:read(1); c:close() end)
      local c = assert(asio.connect('127.0.0.1', port))
      c:settimeout(0.05)
      local t0 = asio.now()
      local v, err = c:read(4)
      assert.is_nil(v); assert.equal('timeout', err)
      assert.is_true(asio.now() - t0 >= 0.05)
      c:settimeout(nil)
      assert.equal('late', c:read(4))
      c:write('x'); c:close(); s:close()
    end)
  end)

  it("hand back the partial data, and nothing is lost or duplicated afterwards", function()
    run(function()
      local s, port = helpers.server(function(c)
        c:write('ab'); asio.sleep(0.15); c:write('cd\nrest'); c:read(1); c:close()
      end)
      local c = assert(asio.connect('127.0.0.1', port))
      c:settimeouts(nil, nil, 0.05)
      local v, err, partial = c:read(4)
      assert.is_nil(v); assert.equal('timeout', err); assert.equal('ab', partial)
      c:settimeout(1)
      assert.equal('cd', c:read_line())
      assert.equal('rest', c:read(4))
      c:write('x'); c:close(); s:close()
    end)
  end)

  it("leave a waiting read's count or maximum whole when it passes 32 bits", function()
    run(function()
      local s, port = helpers.server(function(c)
        asio.sleep(0.05); c:write('hello'); asio.sleep(0.05); c:write('abc'); c:close()
      end)
      local c = assert(asio.connect('127.0.0.1', port))
      c:settimeout(2)
      -- Both wait (nothing has arrived yet), so the request is kept while they do.
      assert.equal('hello', c:read_some(math.huge))
      local v, err, partial = c:read(2 ^ 32 + 3) -- 3 if the count lost its high bits
      assert.is_nil(v); assert.equal('closed', err); assert.equal('abc', partial)
      c:close(); s:close()
    end)
  end)

  it("apply to read_some, read_until and read_line", function()
    run(function()
      local s, port = helpers.server(function(c) c:write('no newline yet'); c:read(1); c:close() end)
      local c = assert(asio.connect('127.0.0.1', port))
      c:settimeout(0.03)
      local v, err, partial = c:read_line()
      assert.is_nil(v); assert.equal('timeout', err); assert.equal('no newline yet', partial)
      v, err = c:read_some()
      assert.is_nil(v); assert.equal('timeout', err)
      v, err = c:read_until('|')
      assert.is_nil(v); assert.equal('timeout', err)
      c:write('x'); c:close(); s:close()
    end)
  end)
end)

describe("write timeouts", function()
  it("fire when the peer never reads and the send buffers fill", function()
    run(function()
      local release = false
      local s, port = helpers.server(function(c)
        while not release do asio.sleep(0.01) end
        c:close()
      end)
      local c = assert(asio.connect('127.0.0.1', port))
      c:setoption('sndbuf', 16384)
      c:settimeouts(nil, 0.1, nil)
      local chunk = string.rep('w', 65536)
      local ok, err, sent
      for _ = 1, 1000 do
        ok, err, sent = c:write(chunk)
        if not ok then break end
      end
      assert.is_nil(ok); assert.equal('timeout', err)
      assert.is_number(sent); assert.is_true(sent >= 0 and sent <= #chunk)
      release = true
      c:close(); s:close()
    end)
  end)
end)

describe("timeouts in one direction leave the other alone", function()
  it("read timeouts while a write waits on full send buffers: the write completes intact", function()
    run(function()
      local size = 4 * 1024 * 1024
      local start_reading = false
      local received = {}
      local s, port = helpers.server(function(c)
        while not start_reading do asio.sleep(0.01) end
        local got = 0
        while got < size do
          local d = assert(c:read_some())
          got = got + #d
          received[#received + 1] = d
        end
        c:write('done')
        c:close()
      end)
      local c = assert(asio.connect('127.0.0.1', port))
      local block = {}
      for i = 1, size do block[i] = string.char(i % 256) end
      block = table.concat(block)
      local writer = asio.spawn_light_thread(function() return c:write(block) end)
      c:settimeouts(nil, nil, 0.02)
      for _ = 1, 5 do -- each read times out and cancels; the pending write must not notice
        local v, err = c:read(4)
        assert.is_nil(v); assert.equal('timeout', err)
      end
      start_reading = true
      assert.same({ true, true }, { writer:join(10) })
      c:settimeout(5)
      assert.equal('done', c:read(4))
      assert.equal(block, table.concat(received))
      c:close(); s:close()
    end, { timeout = 20 })
  end)

  it("a write timeout while a reader waits: the reader still gets what arrives later", function()
    run(function()
      local release = false
      local s, port = helpers.server(function(c)
        while not release do asio.sleep(0.01) end
        c:write('later')
        asio.sleep(0.05)
        c:close()
      end)
      local c = assert(asio.connect('127.0.0.1', port))
      c:setoption('sndbuf', 16384)
      local reader = asio.spawn_light_thread(function() return c:read(5) end)
      c:settimeouts(nil, 0.05, nil)
      local chunk = string.rep('w', 65536)
      local ok, err
      for _ = 1, 1000 do
        ok, err = c:write(chunk)
        if not ok then break end
      end
      assert.equal('timeout', err)
      release = true
      assert.same({ true, 'later' }, { reader:join(5) })
      c:close(); s:close()
    end)
  end)
end)

describe("connect timeouts", function()
  it("per call: asio.connect(host, port, { timeout = s }) to a full backlog", function()
    local fd, port = silent_listener()
    run(function()
      local held, timed_out = {}, false
      for _ = 1, 20 do
        local t0 = asio.now()
        local c, err = asio.connect('127.0.0.1', port, { timeout = 0.1 })
        if not c then
          assert.equal('timeout', err)
          assert.is_true(asio.now() - t0 >= 0.1)
          timed_out = true
          break
        end
        held[#held + 1] = c
      end
      assert.is_true(timed_out)
      for _, c in ipairs(held) do c:close() end
    end)
    ffi.C.close(fd)
  end)

  it("kill during a connect cancels it", function()
    local fd, port = silent_listener()
    run(function()
      local held = {}
      local th = asio.spawn_light_thread(function()
        for _ = 1, 20 do held[#held + 1] = asio.connect('127.0.0.1', port) end
      end)
      asio.sleep(0.1)
      assert.equal('waiting', th:status())
      th:kill()
      for _, c in ipairs(held) do c:close() end
    end)
    ffi.C.close(fd)
  end)

  it("rejects a negative timeout", function()
    assert.has_error(function() asio.connect('127.0.0.1', 1, { timeout = -1 }) end)
    assert.has_error(function() asio.park(-1) end)
  end)
end)
