-- asio.stdin(): standard input as a connection, whether it is a pipe, a file or a socket.
local asio = require 'asio'
local helpers = require 'spec.support.helpers'
local run = helpers.run_async
if helpers.skip_without_daemon('asio.stdin', 'stdin', function() asio.stdin() end) then return end

local here = debug.getinfo(1, 'S').source:match('^@(.*)spec/stdin_spec%.lua$') or './'
local script = here .. 'spec/scripts/stdin_echo.lua'
local expected = 'A\nB C\nend closed d\nnonblock=false\n'

describe("asio.stdin", function()
  it("reads a pipe (through the pump) with read_line, and leaves it blocking", function()
    run(function()
      local out, err = asio.run_command({ 'sh', '-c', "printf 'a\\nb c\\nd' | luajit " .. script }, { timeout = 20 })
      assert.equal(expected, out, err)
    end, { timeout = 25 })
  end)

  it("reads a regular file", function()
    local path = os.tmpname()
    local f = assert(io.open(path, 'w')); f:write('a\nb c\nd'); f:close()
    run(function()
      local out, err = asio.run_command({ 'sh', '-c', 'luajit ' .. script .. ' < ' .. path }, { timeout = 20 })
      assert.equal(expected, out, err)
    end, { timeout = 25 })
    os.remove(path)
  end)

  it("takes a stream socket as it is (a child's stdin pipe from spawn_process)", function()
    run(function()
      local out, err = asio.run_command({ 'luajit', script }, { input = 'a\nb c\nd', timeout = 20 })
      -- Used directly, like any connection's socket: non-blocking (it is the process's own).
      assert.equal(expected:gsub('false', 'true'), out, err)
    end, { timeout = 25 })
  end)
end)
