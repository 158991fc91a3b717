-- SPDX-License-Identifier: MIT
--- asio.run_command: a command's whole run in one call, on asio.spawn_process.
-- Plain Lua over the core's process handle and connections: one light thread drains each
-- output pipe and one feeds the input, so a child that fills one pipe while we write the other
-- never deadlocks, however large either side is.
-- @module asio.process

local function argerror(n, msg)
  error(("bad argument #%d to 'run_command' (%s)"):format(n, msg), 3)
end

--- Adds run_command to `asio`.
-- @tparam table asio the module table
return function(asio)
  local spawn, spawn_process, sleep, current = asio.spawn_light_thread, asio.spawn_process, asio.sleep, asio.current
  local concat = table.concat

  --- Runs a command to its end and returns what it wrote.
  -- @tparam table argv the command and its arguments, as for spawn_process (no shell)
  -- @tparam[opt] table opts `input` (string written to its stdin, which is /dev/null
  --   otherwise), `timeout` (seconds; the child is killed when it passes), `max_output` (bytes
  --   of stdout and stderr together; the child is killed beyond), `env`, `cwd`
  -- @return stdout, stderr, code, how ("exit" or "signal": code is then the signal's number)
  -- @return nil, err ("not found", "permission denied", "timeout", "too long", ...)
  function asio.run_command(argv, opts)
    if type(argv) ~= 'table' then argerror(1, 'table expected, got ' .. type(argv)) end
    if opts ~= nil and type(opts) ~= 'table' then argerror(2, 'table expected, got ' .. type(opts)) end
    opts = opts or {}
    local input, timeout, max_output = opts.input, opts.timeout, opts.max_output
    if input ~= nil and type(input) ~= 'string' then argerror(2, "option 'input' must be a string") end
    if timeout ~= nil and (type(timeout) ~= 'number' or not (timeout >= 0)) then
      argerror(2, "option 'timeout' must be a non-negative number")
    end
    if max_output ~= nil and (type(max_output) ~= 'number' or not (max_output >= 0)) then
      argerror(2, "option 'max_output' must be a non-negative number")
    end
    -- Checked before the child starts: nothing to clean up after a programmer error.
    if not current() then error('run_command: not called from a light thread', 2) end
    local spec = { stdin = input and 'pipe' or 'null', stdout = 'pipe', stderr = 'pipe', env = opts.env, cwd = opts.cwd }
    for i = 1, #argv do spec[i] = argv[i] end
    local p, err = spawn_process(spec)
    if not p then return nil, err end

    local failure, total = nil, 0
    local function stop(why)
      failure = failure or why
      p:kill('KILL')
      -- A grandchild may hold the pipes open after the child died: close our ends so the
      -- readers end now, not when it does.
      p.stdout:close(); p.stderr:close()
      if p.stdin then p.stdin:close() end
    end
    local function drain(conn, parts)
      while true do
        local s = conn:read_some(65536)
        if not s then return end
        total = total + #s
        if max_output and total > max_output then return stop('too long') end
        parts[#parts + 1] = s
      end
    end
    local out, errs = {}, {}
    local helpers = { spawn(drain, p.stdout, out), spawn(drain, p.stderr, errs) }
    if input then
      helpers[3] = spawn(function()
        p.stdin:write(input) -- fails (broken pipe, closed) when the child does not read it all
        p.stdin:close()
      end)
    end
    local dog = timeout and spawn(function() sleep(timeout); stop('timeout') end)
    for _, th in ipairs(helpers) do th:join() end
    local ok, how, code = p:wait()
    if dog then dog:kill() end
    p.stdout:close(); p.stderr:close()
    if failure then return nil, failure end
    if ok == nil then return nil, how end -- reaped elsewhere: no status
    return concat(out), concat(errs), code, how
  end
  return asio
end
