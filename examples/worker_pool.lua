-- SPDX-License-Identifier: MIT
-- A pool of workers fetching jobs from a local server, coordinated with asio.sync:
--   * a "fetch" server on 127.0.0.1 (free port) answers "job <n>" with "result <n*n>" after a
--     short pretend delay;
--   * WORKERS light threads take job numbers from a channel (JOBS of them);
--   * a semaphore keeps at most MAX_CONNS connections open at once, however many workers;
--   * a waitgroup tells when every worker is done; then the server is closed and asio.run()
--     returns on its own.
-- Usage: luajit examples/worker_pool.lua [workers] [jobs] [max_conns]
local asio = require 'asio'

local WORKERS = tonumber(arg and arg[1]) or 8
local JOBS = tonumber(arg and arg[2]) or 200
local MAX_CONNS = tonumber(arg and arg[3]) or 3

-- The server runs each connection's handler in its own light thread.
local server = assert(asio.server('127.0.0.1', 0, function(con)
  while true do
    local line = con:read_line()
    if not line then break end
    local n = tonumber(line:match('^job (%d+)'))
    asio.sleep(0.001) -- pretend the answer takes a while to produce
    if not con:write(n and ('result %d\n'):format(n * n) or 'error bad request\n') then break end
  end
  con:close()
end))
local _, port = server:local_address()

local jobs = asio.channel(16)          -- buffered: the feeder runs a little ahead of the workers
local conns = asio.semaphore(MAX_CONNS)
local done = asio.waitgroup()
local results, per_worker, failures = {}, {}, 0
local open_now, open_peak = 0, 0

-- One request on its own connection, holding a permit for as long as the connection is open.
local function fetch(n)
  assert(conns:acquire())
  open_now = open_now + 1
  if open_now > open_peak then open_peak = open_now end
  local con, err = asio.connect('127.0.0.1', port)
  local answer
  if con then
    if con:write(('job %d\n'):format(n)) then answer, err = con:read_line() end
    con:close()
  end
  open_now = open_now - 1
  conns:release()
  return answer, err
end

local function worker(id)
  per_worker[id] = 0
  for n in jobs:iter() do
    local answer, err = fetch(n)
    local value = answer and tonumber(answer:match('^result (%d+)'))
    if value then
      results[n] = value
      per_worker[id] = per_worker[id] + 1
    else
      failures = failures + 1
      io.stderr:write(('job %d failed: %s\n'):format(n, tostring(err)))
    end
  end
  done:done()
end

local started = asio.now()

asio.spawn_light_thread(function()
  for id = 1, WORKERS do
    done:add(1)
    asio.spawn_light_thread(worker, id)
  end
  for n = 1, JOBS do assert(jobs:send(n)) end
  jobs:close() -- workers drain what is left, then their iter() ends
  assert(done:wait())
  server:close() -- nothing left to serve: asio.run() returns

  local ok = 0
  for n = 1, JOBS do
    if results[n] == n * n then ok = ok + 1 end
  end
  local spread = {}
  for id = 1, WORKERS do spread[id] = per_worker[id] end
  print(('%d/%d jobs ok, %d failed, %d workers, at most %d connections open (limit %d), %.2f s')
    :format(ok, JOBS, failures, WORKERS, open_peak, MAX_CONNS, asio.now() - started))
  print('jobs per worker: ' .. table.concat(spread, ' '))
end)

asio.run()
