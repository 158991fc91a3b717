-- SPDX-License-Identifier: MIT
--- `asio.offload`: blocking or CPU-heavy work run in a pool of worker states, while the light
-- thread that asked stays parked and its loop serves on.
--
-- The pool is plain Lua on two core pieces: its workers are `asio.thread`s, and they take jobs
-- from one shared channel. A job is a table (the function's bytecode, its upvalues copied by
-- value, the arguments, and a reply channel of capacity 1), copied into the worker like any
-- value sent on a shared channel. The channel's capacity is the queue's: a caller whose job
-- does not fit parks in `send`, with its timeout. A caller that times out closes its reply
-- channel: a worker skips a job whose reply is closed, and a result sent there is dropped.
-- @module asio.offload
local M = {}

local type, select, error, pcall, xpcall, tostring = type, select, error, pcall, xpcall, tostring
local unpack = unpack or table.unpack

local function pack(...) return { n = select('#', ...), ... } end

--- Adds `offload` and `offload_pool` to one `asio` table.
function M.install(asio)
  local config = { size = nil, queue = nil }
  local pool -- { jobs = shared channel, threads = handles, guard = proxy }

  --- Sets the pool's size (workers, default one per core) and queue (jobs waiting for a
  -- worker, default four per worker) before the pool starts, at the first `asio.offload`.
  function asio.offload_pool(opts)
    if type(opts) ~= 'table' then
      error("bad argument #1 to 'offload_pool' (table expected, got " .. type(opts) .. ')', 2)
    end
    for _, key in ipairs { 'size', 'queue' } do
      local v = opts[key]
      if v ~= nil and (type(v) ~= 'number' or v ~= math.floor(v) or v < 1 or v > 4096) then
        error(("bad argument #1 to 'offload_pool' (option '%s' must be an integer from 1 to 4096)")
          :format(key), 2)
      end
    end
    if pool then error('offload_pool: the pool is already running (set it before the first offload)', 2) end
    config.size, config.queue = opts.size, opts.queue
  end

  local function start_pool()
    local size = config.size or asio.cpu_count()
    local jobs = asio.shared_channel(config.queue or size * 4)
    local threads = {}
    for i = 1, size do threads[i] = asio.thread('asio.offload.worker', jobs) end
    -- Closing this state closes the queue: the workers finish the job they run and end. The
    -- workers hold the queue too, so it would not close itself.
    jobs:_close_with_state()
    pool = { jobs = jobs, threads = threads }
  end

  -- The name package.loaded knows v by, if any: such an upvalue is required again over there.
  local function module_name(v)
    if type(v) ~= 'table' and type(v) ~= 'function' then return nil end
    for name, m in pairs(package.loaded) do
      if rawequal(m, v) and type(name) == 'string' then return name end
    end
  end

  -- Bytecode by function (weak keys): a function offloaded again is not dumped again.
  local dumped = setmetatable({}, { __mode = 'k' })

  -- The job's description of fn: its bytecode and upvalues, or a 'module.name'.
  local function describe(fn)
    if type(fn) == 'string' then
      if fn == '' then error("bad argument #1 to 'offload' (empty module name)", 3) end
      return { name = fn }
    end
    if type(fn) ~= 'function' then
      error("bad argument #1 to 'offload' (function or 'module.name' expected, got " .. type(fn) .. ')', 3)
    end
    local code = dumped[fn]
    local ok = code ~= nil
    if not ok then
      ok, code = pcall(string.dump, fn)
      if ok then dumped[fn] = code end
    end
    if not ok then
      error("bad argument #1 to 'offload' (a C function cannot cross to another state (pass its 'module.name'))", 3)
    end
    local upvalues, modules, names = {}, {}, {}
    for i = 1, 255 do
      local name, v = debug.getupvalue(fn, i)
      if name == nil then break end
      names[i] = name
      local m = module_name(v)
      if m then modules[i] = m else upvalues[i] = v end
    end
    return { code = code, upvalues = upvalues, modules = modules, names = names, nup = #names }
  end

  -- A send's error, in the caller's words: "send: value.args[2].cb: ..." -> "offload: args[2].cb: ...".
  local function reword(err, job)
    err = tostring(err)
    local idx, rest = err:match('^send: value%.upvalues%[(%d+)%](.*)$')
    if idx then
      return ('offload: upvalue %s%s'):format(job.names[tonumber(idx)] or idx, rest)
    end
    return (err:gsub('^send: value%.', 'offload: '))
  end

  --- Runs fn(...) in a worker and returns its results, parking the calling light thread.
  -- `asio.offload(opts, fn, ...)` takes options first: `timeout` (seconds, for the queue and
  -- the run together).
  -- @return true, results... | false, err (with the worker's traceback) | nil, "timeout"
  function asio.offload(...)
    local opts, fn, first = nil, ..., 2
    if type(fn) == 'table' then
      opts, fn, first = fn, select(2, ...), 3
    end
    local timeout = opts and opts.timeout
    if timeout ~= nil and (type(timeout) ~= 'number' or not (timeout >= 0)) then
      error("bad argument #1 to 'offload' (option 'timeout' must be a non-negative number)", 2)
    end
    local job = describe(fn)
    job.args = pack(select(first, ...))
    if not asio.current() then error('offload: not called from a light thread', 2) end
    if not pool then start_pool() end
    local reply = asio.shared_channel(1)
    job.reply = reply
    local deadline = timeout and asio.now() + timeout
    local ok, sent, err = pcall(pool.jobs.send, pool.jobs, job, timeout)
    if not ok then error(reword(sent, job), 2) end
    if not sent then
      reply:close()
      return nil, err
    end
    local res, rerr = reply:recv(deadline and math.max(0, deadline - asio.now()))
    if res == nil then
      reply:close() -- the worker skips the job, or drops its result
      return nil, rerr
    end
    return unpack(res, 1, res.n)
  end
end

-- The worker side --------------------------------------------------------------------------

local function traceback(e)
  if type(e) ~= 'string' then e = tostring(e) end
  return debug.traceback(e, 2)
end

--- The body of each worker state: takes jobs until the queue is closed.
function M.worker(jobs)
  local loaded = {} -- bytecode -> function: loading is most of an empty job's cost
  local baseline = collectgarbage('count')
  for job in jobs:iter() do
    if not job.reply:is_closed() then
      local res
      local fn, why
      if job.name then
        local mod, name = job.name:match('^(.*)%.([^.]+)$')
        local ok, v = pcall(function()
          if not mod then return require(job.name) end
          return require(mod)[name]
        end)
        fn = ok and type(v) == 'function' and v or nil
        why = ok and ("offload: '" .. job.name .. "' is not a function") or tostring(v)
      else
        fn = loaded[job.code]
        if not fn then
          fn, why = loadstring(job.code, '=offload')
          if fn and #job.code < 65536 then loaded[job.code] = fn end
        end
        for i = 1, fn and job.nup or 0 do
          local m = job.modules[i]
          debug.setupvalue(fn, i, m and require(m) or job.upvalues[i])
        end
      end
      if fn then
        res = pack(xpcall(fn, traceback, unpack(job.args, 1, job.args.n)))
      else
        res = { false, why, n = 2 }
      end
      local ok, err = pcall(job.reply.send, job.reply, res)
      if not ok then
        local k, rest = tostring(err):match('^send: value%[(%d+)%](.*)$')
        local path = k and ('results[%d]%s'):format(tonumber(k) - 1, rest) or tostring(err)
        job.reply:send({ false, 'offload: ' .. path, n = 2 })
      end
    end
    job = nil -- luacheck: ignore
    -- Memory stays bounded between jobs: a step each time, a full collection past 4 MB of growth.
    if collectgarbage('count') > baseline + 4096 then
      collectgarbage()
      baseline = math.min(collectgarbage('count'), baseline * 2 + 1024)
    else
      collectgarbage('step', 0)
    end
  end
  return true
end

return M
