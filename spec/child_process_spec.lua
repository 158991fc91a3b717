-- Child processes as light-thread waits: asio.spawn_process, its pipes as connections, p:wait,
-- p:kill, asio.run_command; reaping without zombies and without leaking descriptors.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'
local ffi = require 'ffi'
local run = helpers.run_async
if helpers.skip_without_daemon('asio.spawn_process', 'spawn_process', function() asio.spawn_process { 'true' } end) then return end

pcall(ffi.cdef, [[
int getpid(void);
typedef struct lasio_dir lasio_dir;
struct lasio_dirent { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[256]; };
lasio_dir *opendir(const char *name);
struct lasio_dirent *readdir(lasio_dir *d);
int closedir(lasio_dir *d);
int dirfd(lasio_dir *d);
long readlink(const char *path, char *buf, size_t size);
]])

-- The descriptors this process has open, as "fd -> target" (the listing's own one aside), read
-- in-process: a listing by a child would add descriptors of its own.
local function open_fds()
  local d = ffi.C.opendir('/proc/self/fd')
  assert(d ~= nil)
  local own, set, buf = ffi.C.dirfd(d), {}, ffi.new('char[512]')
  while true do
    local e = ffi.C.readdir(d)
    if e == nil then break end
    local fd = tonumber(ffi.string(e.name))
    if fd and fd ~= own then
      local n = ffi.C.readlink('/proc/self/fd/' .. fd, buf, 512)
      set[fd] = n > 0 and ffi.string(buf, n) or '?'
    end
  end
  ffi.C.closedir(d)
  return set
end

-- Whether pid is a zombie child of this process (its stat: "pid (comm) state ppid ...").
local function zombie_child(pid)
  local f = io.open('/proc/' .. pid .. '/stat')
  if not f then return false end
  local stat = f:read('*l') or ''
  f:close()
  local state, ppid = stat:match('%) (%a) (%d+)')
  return state == 'Z' and tonumber(ppid) == ffi.C.getpid()
end

-- A child whose handle the collector took is reaped all the same (with a pidfd or by polling):
-- run_async drains the loop, and the reaping wait is work.
local function reaps_collected_child()
  local pid
  run(function()
    pid = assert(asio.spawn_process { 'sh', '-c', 'exit 0' }):pid()
    collectgarbage(); collectgarbage()
  end)
  assert.is_false(zombie_child(pid))
end

-- open_fds once what earlier tests dropped is closed and released.
local function settled_fds()
  collectgarbage(); collectgarbage()
  run(function() asio.sleep(0) end)
  return open_fds()
end

-- The descriptors past 0, 1 and 2 that a listing of /proc/self/fd shows to be sockets or
-- anonymous inodes (epoll, eventfd, pidfd): kinds the module makes.
local function module_kinds(listing)
  local found = {}
  for fd, target in listing:gmatch(' (%d+) %-> (%S+)') do
    if tonumber(fd) > 2 and (target:find('^socket:') or target:find('^anon_inode:')) then
      found[#found + 1] = fd .. ' -> ' .. target
    end
  end
  return found
end

local function read_all(conn)
  local parts = {}
  while true do
    local s = conn:read_some()
    if not s then break end
    parts[#parts + 1] = s
  end
  return table.concat(parts)
end

describe("asio.spawn_process", function()
  it("echoes 16 MiB through cat both ways at once without deadlock", function()
    run(function()
      local p = assert(asio.spawn_process { 'cat', stdin = 'pipe', stdout = 'pipe' })
      local chunk = ('0123456789abcdef'):rep(4096) -- 64 KiB
      local writer = asio.spawn_light_thread(function()
        for _ = 1, 256 do assert(p.stdin:write(chunk)) end
        p.stdin:close() -- cat sees the end of its input
      end)
      local got, ok = 0, true
      while true do
        local s = p.stdout:read(65536)
        if not s then break end
        got = got + #s
        ok = ok and s == chunk
      end
      assert.is_true(writer:join(10))
      assert.equal(16 * 1024 * 1024, got)
      assert.is_true(ok)
      assert.same({ true, 'exit', 0 }, { p:wait(5) })
      p.stdout:close()
    end, { timeout = 30 })
  end)

  it("reports an exit code as os.execute does", function()
    run(function()
      assert.same({ false, 'exit', 3 }, { assert(asio.spawn_process { 'sh', '-c', 'exit 3' }):wait(5) })
      assert.same({ true, 'exit', 0 }, { assert(asio.spawn_process { 'true' }):wait(5) })
    end)
  end)

  it("reports a child killed by a signal, by p:kill or by itself", function()
    run(function()
      local p = assert(asio.spawn_process { 'sleep', '10' })
      assert.is_number(p:pid())
      assert.is_true(p:kill('KILL'))
      assert.same({ false, 'signal', 9 }, { p:wait(5) })
      assert.same({ nil, 'exited' }, { p:kill() }) -- its pid may be another process's by now
      local q = assert(asio.spawn_process { 'sh', '-c', 'kill -TERM $$' })
      assert.same({ false, 'signal', 15 }, { q:wait(5) })
    end)
  end)

  it("returns nil, 'timeout' from a wait that passes its timeout, and the child runs on", function()
    run(function()
      local p = assert(asio.spawn_process { 'sleep', '10' })
      assert.same({ nil, 'timeout' }, { p:wait(0.2) })
      assert.is_true(p:kill())
      assert.same({ false, 'signal', 15 }, { p:wait(5) })
    end)
  end)

  it("returns nil, 'not found' / 'permission denied' / 'invalid cwd' when the program cannot start", function()
    run(function()
      assert.same({ nil, 'not found' }, { asio.spawn_process { 'lasio-no-such-command' } })
      assert.same({ nil, 'not found' }, { asio.spawn_process { '/nonexistent/dir/cmd' } })
      local plain = os.tmpname() -- mode 0600: no execute bit
      assert.same({ nil, 'permission denied' }, { asio.spawn_process { plain } })
      os.remove(plain)
      assert.same({ nil, 'invalid cwd' }, { asio.spawn_process { 'true', cwd = '/nonexistent/dir' } })
    end)
  end)

  it("passes arguments as given (no shell), env and cwd", function()
    run(function()
      local p = assert(asio.spawn_process { 'printf', '%s|', 'a b', '$HOME', '*', stdout = 'pipe' })
      assert.equal('a b|$HOME|*|', read_all(p.stdout))
      assert.is_true((p:wait(5)))
      local q = assert(asio.spawn_process { 'sh', '-c', 'echo "$FOO/$BAR"; pwd', stdout = 'pipe',
        env = { FOO = 'foo', 'BAR=bar' }, cwd = '/tmp' })
      assert.equal('foo/bar\n/tmp\n', read_all(q.stdout))
      assert.is_true((q:wait(5)))
      p.stdout:close(); q.stdout:close()
    end)
  end)

  it("connects stdio as asked: pipe, null, inherit, and stderr to stdout", function()
    run(function()
      local p = assert(asio.spawn_process { 'sh', '-c', 'cat; echo out; echo err >&2',
        stdin = 'null', stdout = 'pipe', stderr = 'stdout' })
      assert.is_nil(p.stdin)
      assert.is_nil(p.stderr)
      assert.equal('out\nerr\n', read_all(p.stdout))
      assert.is_true((p:wait(5)))
      p.stdout:close()
    end)
  end)

  it("leaks no descriptor into the child (close-on-exec everywhere)", function()
    run(function()
      -- Descriptors of every kind the module makes, open while the child starts: a listener,
      -- a connection, another child's pipes and pidfd, a watch's duplicate, the signal pipe.
      local s, port = helpers.server(function(c) c:read_line(); c:close() end)
      local c = assert(asio.connect('127.0.0.1', port))
      local other = assert(asio.spawn_process { 'cat', stdin = 'pipe', stdout = 'pipe' })
      local w = assert(asio.watch(0, 'r'))
      local sig = asio.signal('USR1')
      -- ls itself, not a shell: what it lists beyond its own directory was inherited.
      local out = assert(asio.run_command { 'ls', '-l', '/proc/self/fd' })
      assert.same({}, module_kinds(out))
      assert.truthy(out:find(' 1 %-> socket:'), out) -- the listing did see our pipes as sockets
      -- A child someone else starts (io.popen here) inherits every descriptor without
      -- close-on-exec: none of ours. (The test runner may hand down a pipe or /dev/null.)
      local popen = io.popen('ls -l /proc/self/fd')
      local listing = popen:read('*a')
      popen:close()
      assert.same({}, module_kinds(listing))
      other.stdin:close()
      assert.is_true((other:wait(5)))
      other.stdout:close(); w:close(); sig:close(); c:close(); s:close()
    end)
  end)

  it("runs 200 short commands in parallel, reaps them all, and leaks no descriptor", function()
    local before = settled_fds()
    local pids = {}
    run(function()
      local threads = {}
      for i = 1, 200 do
        threads[i] = asio.spawn_light_thread(function()
          local p = assert(asio.spawn_process { 'sh', '-c', 'echo ' .. i, stdout = 'pipe' })
          pids[#pids + 1] = p:pid()
          local line = p.stdout:read_line()
          p.stdout:close()
          return line, p:wait(10)
        end)
      end
      for i = 1, 200 do
        assert.same({ true, tostring(i), true, 'exit', 0 }, { threads[i]:join(20) })
      end
    end, { timeout = 30 })
    assert.equal(200, #pids)
    for _, pid in ipairs(pids) do assert.is_false(zombie_child(pid)) end
    -- Nothing open now that was not before (an earlier test's leftover may have closed since).
    local new = {}
    for fd, target in pairs(settled_fds()) do
      if before[fd] ~= target then new[#new + 1] = fd .. ' -> ' .. target end
    end
    assert.same({}, new)
  end)

  it("kills and reaps a child whose light thread was killed while it started", function()
    run(function()
      local th = asio.spawn_light_thread(function() asio.spawn_process { 'sleep', '10.4242' } end)
      asio.sleep(0) -- th parks while the spawner thread starts the child
      th:kill()
    end) -- run_async drains the loop: the start's result is work until it arrives
    -- Looked for in /proc, in-process (pgrep hangs under the sanitizer build's LD_PRELOAD).
    local found = {}
    local d = ffi.C.opendir('/proc')
    assert(d ~= nil)
    while true do
      local e = ffi.C.readdir(d)
      if e == nil then break end
      local pid = tonumber(ffi.string(e.name))
      local f = pid and io.open('/proc/' .. pid .. '/cmdline')
      if f then
        local cmdline = (f:read('*a') or ''):gsub('%z', ' ')
        f:close()
        if cmdline:find('^sleep 10%.4242') or zombie_child(pid) then found[#found + 1] = pid end
      end
    end
    ffi.C.closedir(d)
    assert.same({}, found)
  end)

  it("starts a child outside a light thread too (the loop waits while it execs)", function()
    local p = assert(asio.spawn_process { 'sh', '-c', 'exit 7' })
    run(function() assert.same({ false, 'exit', 7 }, { p:wait(5) }) end)
  end)

  it("reaps the child of a handle the collector took (no zombie)", reaps_collected_child)

  it("lets a light thread read a child's output while others serve TCP", function()
    run(function()
      local s, port = helpers.server(function(c)
        while true do
          local line = c:read_line()
          if not line then break end
          c:write(line .. '\n')
        end
        c:close()
      end)
      local lines, pings_during = {}, nil
      local pings = 0
      local reader = asio.spawn_light_thread(function()
        local p = assert(asio.spawn_process { 'sh', '-c', 'for i in 1 2 3 4 5; do echo $i; sleep 0.05; done',
          stdout = 'pipe' })
        local first
        while true do
          local line = p.stdout:read_line()
          if not line then break end
          first = first or pings
          lines[#lines + 1] = line
        end
        pings_during = pings - first
        p.stdout:close()
        return p:wait(5)
      end)
      local c = assert(asio.connect('127.0.0.1', port))
      while reader:status() ~= 'dead' do
        c:write('ping\n')
        assert.equal('ping', c:read_line())
        pings = pings + 1
      end
      assert.is_true((reader:join(5)))
      assert.same({ '1', '2', '3', '4', '5' }, lines)
      assert.is_true(pings_during > 0)
      c:close(); s:close()
    end, { timeout = 10 })
  end)

  it("raises on bad arguments", function()
    assert.has_error(function() asio.spawn_process() end)
    assert.has_error(function() asio.spawn_process {} end,
      "bad argument #1 to 'spawn_process' (the command (item 1) is missing)")
    assert.has_error(function() asio.spawn_process { 'true', {} } end,
      "bad argument #1 to 'spawn_process' (item 2 must be a string)")
    assert.has_error(function() asio.spawn_process { 'true', stdout = 'file' } end,
      "bad argument #1 to 'spawn_process' (option 'stdout' must be 'pipe', 'null' or 'inherit')")
    assert.has_error(function() asio.spawn_process { 'true', env = { A = {} } } end)
    assert.has_error(function() asio.spawn_process { 'a\0b' } end,
      "bad argument #1 to 'spawn_process' (an argument contains a zero byte)")
    run(function()
      local p = assert(asio.spawn_process { 'true' })
      assert.has_error(function() p:kill('NOPE') end, "bad argument #1 to 'kill' (unknown signal 'NOPE')")
      assert.is_true((p:wait(5)))
    end)
  end)
end)

describe("asio.run_command", function()
  it("returns stdout, stderr, the exit code and how it ended", function()
    run(function()
      assert.same({ 'out\n', 'err\n', 3, 'exit' },
        { asio.run_command { 'sh', '-c', 'echo out; echo err >&2; exit 3' } })
    end)
  end)

  it("feeds input and captures large outputs on both streams without deadlock", function()
    run(function()
      local input = ('x'):rep(63) .. '\n'
      input = input:rep(4 * 1024 * 1024 / #input)
      -- Writes each line to both streams as it reads it (luajit is at hand wherever the specs run).
      local echo_both = "for l in io.lines() do io.stdout:write(l, '\\n') io.stderr:write(l, '\\n') end"
      local out, err, code = asio.run_command({ 'luajit', '-e', echo_both }, { input = input })
      assert.equal(#input, #out)
      assert.equal(#input, #err)
      assert.is_true(out == input and err == input)
      assert.equal(0, code)
    end, { timeout = 20 })
  end)

  it("kills the child when the timeout passes: nil, 'timeout'", function()
    run(function()
      assert.same({ nil, 'timeout' }, { asio.run_command({ 'sleep', '10' }, { timeout = 0.2 }) })
      -- a grandchild that keeps the pipes open does not hold it up either
      assert.same({ nil, 'timeout' }, { asio.run_command({ 'sh', '-c', 'sleep 10 & sleep 10' }, { timeout = 0.2 }) })
    end)
  end)

  it("kills the child beyond max_output: nil, 'too long'", function()
    run(function()
      assert.same({ nil, 'too long' }, { asio.run_command({ 'yes' }, { max_output = 100000 }) })
    end)
  end)

  it("returns nil, 'not found' for a missing command", function()
    run(function()
      assert.same({ nil, 'not found' }, { asio.run_command { 'lasio-no-such-command' } })
    end)
  end)

  it("raises on bad arguments and outside a light thread", function()
    assert.has_error(function() asio.run_command('true') end,
      "bad argument #1 to 'run_command' (table expected, got string)")
    assert.has_error(function() asio.run_command({ 'true' }, { timeout = -1 }) end,
      "bad argument #2 to 'run_command' (option 'timeout' must be a non-negative number)")
    assert.has_error(function() asio.run_command { 'true' } end, 'run_command: not called from a light thread')
  end)
end)

describe("asio.spawn_process on a kernel without pidfd_open (reaped by polling waitpid)", function()
  before_each(function() asio._reap_without_pidfd(true) end)
  after_each(function() asio._reap_without_pidfd(false) end)

  local function pidfds()
    local n = 0
    for _, target in pairs(open_fds()) do if target:find('pidfd', 1, true) then n = n + 1 end end
    return n
  end

  it("reports exit codes and signals, times out a wait, and kills", function()
    run(function()
      assert.same({ false, 'exit', 3 }, { assert(asio.spawn_process { 'sh', '-c', 'exit 3' }):wait(5) })
      local before = pidfds()
      local p = assert(asio.spawn_process { 'sleep', '10' })
      assert.equal(before, pidfds()) -- this child has no pidfd: the polling path is the one tested
      assert.same({ nil, 'timeout' }, { p:wait(0.1) })
      assert.is_true(p:kill('KILL'))
      assert.same({ false, 'signal', 9 }, { p:wait(5) })
      assert.same({ nil, 'exited' }, { p:kill() })
    end)
  end)

  it("reaps 50 short commands run at once, leaving no zombie", function()
    local pids = {}
    run(function()
      local threads = {}
      for i = 1, 50 do
        threads[i] = asio.spawn_light_thread(function()
          local out, err, code = asio.run_command { 'sh', '-c', 'echo ' .. i }
          return out, code
        end)
      end
      for i = 1, 50 do assert.same({ true, i .. '\n', 0 }, { threads[i]:join(20) }) end
      local p = assert(asio.spawn_process { 'true' })
      pids[1] = p:pid()
      assert.same({ true, 'exit', 0 }, { p:wait(5) })
    end, { timeout = 30 })
    assert.is_false(zombie_child(pids[1]))
  end)

  it("reaps the child of a handle the collector took", reaps_collected_child)

  it("raises on a bad argument", function()
    assert.has_error(function() asio._reap_without_pidfd('yes') end)
  end)
end)

describe("lua_close with children running", function()
  it("kills and reaps them, releases their handles, and exits cleanly #subprocess", function()
    local here = debug.getinfo(1, 'S').source:match('^@(.*)spec/child_process_spec%.lua$') or './'
    local env = os.getenv('ASIO_SANITIZE') and 'ASAN_OPTIONS=detect_leaks=1 ' or ''
    local out = assert(io.popen(env .. 'luajit ' .. here .. 'spec/scripts/close_with_children.lua 2>&1; echo "status $?"'))
    local text = out:read('*a')
    out:close()
    assert.truthy(text:find('status 0'), text)
    local pid = assert(tonumber(text:match('pid (%d+)')), text)
    -- sleep 30 would still run had it been left
    assert.is_nil(io.open('/proc/' .. pid .. '/stat'))
  end)
end)
