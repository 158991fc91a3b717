-- Watches on descriptors another library owns (asio.watch): readiness as a light-thread wait,
-- and the descriptor never read, written, closed, or changed by the module.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'
local ffi = require 'ffi'
local run = helpers.run_async
if helpers.skip_without_daemon('asio.watch', 'watch', function() asio.watch(0) end) then return end

pcall(ffi.cdef, [[
int pipe(int fds[2]);
int close(int fd);
long read(int fd, void *buf, size_t n);
long write(int fd, const void *buf, size_t n);
int fcntl(int fd, int cmd, ...);
]])
local F_GETFD, F_GETFL = 1, 3

-- A pipe of our own, made with plain system calls: the "foreign" descriptors.
local function make_pipe()
  local fds = ffi.new('int[2]')
  assert(ffi.C.pipe(fds) == 0)
  return fds[0], fds[1]
end

local function fd_write(fd, s) return tonumber(ffi.C.write(fd, s, #s)) end
local function fd_read(fd, n)
  local buf = ffi.new('char[?]', n)
  local got = tonumber(ffi.C.read(fd, buf, n))
  return got > 0 and ffi.string(buf, got) or nil
end

describe("asio.watch", function()
  it("parks a light thread until another one writes to the pipe; the bytes stay for their owner", function()
    local r, w = make_pipe()
    run(function()
      local watch = assert(asio.watch(r, 'r'))
      asio.spawn_light_thread(function() assert.equal(5, fd_write(w, 'hello')) end)
      assert.equal('r', watch:wait(5))
      watch:close()
    end)
    assert.equal('hello', fd_read(r, 16)) -- the module read nothing
    ffi.C.close(r); ffi.C.close(w)
  end)

  it("returns at once for readiness that came before the wait (even outside a light thread)", function()
    local r, w = make_pipe()
    local watch = assert(asio.watch(r, 'r'))
    fd_write(w, 'a')
    assert.equal('r', watch:wait()) -- nothing to wait for: works anywhere
    run(function()
      assert.equal('r', watch:wait(5))
      assert.equal('a', fd_read(r, 1))
      -- ready, consumed, ready again while nobody waited: no edge is missed
      local th = asio.spawn_light_thread(function() return watch:wait(5) end)
      asio.sleep(0)
      fd_write(w, 'b')
      assert.same({ true, 'r' }, { th:join(5) })
      assert.equal('b', fd_read(r, 1))
      fd_write(w, 'c')
      asio.sleep(0.01)
      assert.equal('r', watch:wait(5))
      watch:close()
    end)
    ffi.C.close(r); ffi.C.close(w)
  end)

  it("returns nil, 'timeout' when the descriptor stays idle, and can wait again", function()
    local r, w = make_pipe()
    run(function()
      local watch = assert(asio.watch(r))
      assert.same({ nil, 'timeout' }, { watch:wait(0.05) })
      fd_write(w, 'x')
      assert.equal('r', watch:wait(5))
      watch:close()
    end)
    ffi.C.close(r); ffi.C.close(w)
  end)

  it("leaves the descriptor open and untouched after close and after collection", function()
    local r, w = make_pipe()
    local fd_flags, fl_flags = ffi.C.fcntl(r, F_GETFD), ffi.C.fcntl(r, F_GETFL)
    run(function()
      local watch = assert(asio.watch(r, 'r'))
      assert.same({ nil, 'timeout' }, { watch:wait(0.01) })
      watch:close()
      asio.watch(r, 'rw') -- dropped: collected below
      collectgarbage(); collectgarbage()
    end)
    assert.equal(fd_flags, ffi.C.fcntl(r, F_GETFD))
    assert.equal(fl_flags, ffi.C.fcntl(r, F_GETFL)) -- still blocking: no O_NONBLOCK set on it
    assert.equal(3, fd_write(w, 'abc'))
    assert.equal('abc', fd_read(r, 16))
    assert.equal(0, ffi.C.close(r))
    assert.equal(0, ffi.C.close(w))
  end)

  it("reports writability ('w'), and whichever comes first for 'rw'", function()
    local r, w = make_pipe()
    run(function()
      local ww = assert(asio.watch(w, 'w'))
      assert.equal('w', ww:wait(5))
      local both = assert(asio.watch(w, 'rw'))
      assert.equal('w', both:wait(5))
      ww:close(); both:close()
    end)
    ffi.C.close(r); ffi.C.close(w)
  end)

  it("lets two watches (and two states of mind) look at one descriptor", function()
    local r, w = make_pipe()
    run(function()
      local a, b = assert(asio.watch(r)), assert(asio.watch(r))
      local th = asio.spawn_light_thread(function() return a:wait(5) end)
      fd_write(w, 'x')
      assert.equal('r', b:wait(5))
      assert.same({ true, 'r' }, { th:join(5) })
      a:close(); b:close()
    end)
    ffi.C.close(r); ffi.C.close(w)
  end)

  it("wakes the waiter with nil, 'closed' when another light thread closes the watch", function()
    local r, w = make_pipe()
    run(function()
      local watch = assert(asio.watch(r))
      asio.spawn_light_thread(function() watch:close() end)
      assert.same({ nil, 'closed' }, { watch:wait(5) })
      assert.same({ nil, 'closed' }, { watch:wait() })
    end)
    ffi.C.close(r); ffi.C.close(w)
  end)

  it("returns nil, 'bad descriptor' for a descriptor that is not open", function()
    local r, w = make_pipe()
    ffi.C.close(r); ffi.C.close(w)
    assert.same({ nil, 'bad descriptor' }, { asio.watch(r) })
  end)

  it("raises on bad arguments, outside a light thread, and for a second waiter", function()
    assert.has_error(function() asio.watch('x') end)
    assert.has_error(function() asio.watch(-1) end)
    assert.has_error(function() asio.watch(0, 'x') end, "bad argument #2 to 'watch' (invalid option 'x')")
    local r, w = make_pipe()
    local watch = assert(asio.watch(r))
    assert.has_error(function() watch:wait() end, "wait: not called from a light thread")
    run(function()
      local th = asio.spawn_light_thread(function() return watch:wait(5) end)
      asio.sleep(0)
      assert.has_error(function() watch:wait() end, "wait: another light thread is waiting on this watch")
      watch:close()
      assert.same({ true, nil, 'closed' }, { th:join(5) })
    end)
    ffi.C.close(r); ffi.C.close(w)
  end)
end)
