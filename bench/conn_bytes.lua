-- SPDX-License-Identifier: MIT
-- The echo server of bench/conn_bytes.sh, which reports where the bytes of its idle connections
-- are once it holds N of them: the Lua heap (before and after a full collection), the malloc
-- blocks by size (bench/malloc_census.c, preloaded), and the resident memory by mapping.
--   luajit bench/conn_bytes.lua direct|seed N     (prints its port, then the report on stderr)
-- direct: the accept handler reads in its own light thread (bench/echo_asio.lua);
-- seed: it spawns a second light thread for that and returns (bench/echo_asio_seed.lua).
local asio = require 'asio'
local ffi = require 'ffi'
ffi.cdef [[
void census_mark(void);
long census_live(int usable);
long census_large(void);
]]
local style, n = arg[1] or 'direct', tonumber(arg[2]) or 10000
local census = pcall(function() return ffi.C.census_mark end) and ffi.C or nil

local function echo(conn)
  while true do
    local d = conn:read_some()
    if not d then break end
    conn:write(d)
  end
  conn:close()
end
local handler = echo
if style == 'seed' then handler = function(conn) asio.spawn_light_thread(echo, conn) end end

-- RSS in kB of each mapping: [heap] (malloc), anon (LuaJIT's heap, large mallocs), libraries.
local function rss_by_mapping()
  local t, name = {}, nil
  for line in io.lines('/proc/self/smaps') do
    local path = line:match('^%x+%-%x+ %S+ %x+ %S+ %d+%s*(.*)$')
    if path then
      name = path == '' and 'anon' or path:match('[^/]*$')
    else
      local kb = line:match('^Rss:%s+(%d+)')
      if kb then t[name] = (t[name] or 0) + tonumber(kb) end
    end
  end
  return t
end

local server = assert(asio.server('127.0.0.1', 0, handler))
collectgarbage()
collectgarbage()
local heap0 = collectgarbage('count')
local maps0 = rss_by_mapping()
if census then census.census_mark() end
local _, port = server:local_address()
io.stdout:write(port, '\n')
io.stdout:flush()

local function report()
  for _ = 1, 6000 do -- up to a minute
    if asio._stats().sockets >= n then break end
    asio.sleep(0.01)
  end
  local conns = asio._stats().sockets
  asio.sleep(2) -- after the load generator's own look at the RSS (its settle is 1 s)
  local out = {}
  local function say(fmt, ...) out[#out + 1] = fmt:format(...) end
  say('style=%s connections=%d', style, conns)
  local before = (collectgarbage('count') - heap0) * 1024 / conns
  collectgarbage()
  collectgarbage()
  local after = (collectgarbage('count') - heap0) * 1024 / conns
  say('lua heap per connection: %.0f before a full collection, %.0f after (garbage: %.0f)',
    before, after, before - after)
  if census then
    local total = 0
    say('malloc blocks per connection (chunk = usable + 8 bytes of header):')
    for usable = 0, 4095 do
      local k = tonumber(census.census_live(usable)) / conns
      if k >= 0.05 or k <= -0.05 then
        say('  %4d-byte chunk x %.2f = %.0f', usable + 8, k, k * (usable + 8))
        total = total + k * (usable + 8)
      end
    end
    say('  small blocks: %.0f; large blocks (vectors), allocated: %.0f', total,
      tonumber(census.census_large()) / conns)
  end
  local maps1, parts = rss_by_mapping(), {}
  for name, kb in pairs(maps1) do
    local d = (kb - (maps0[name] or 0)) * 1024 / conns
    if d >= 1 or d <= -1 then parts[#parts + 1] = ('%s %.0f'):format(name, d) end
  end
  table.sort(parts)
  say('resident bytes per connection by mapping: %s', table.concat(parts, ', '))
  io.stderr:write(table.concat(out, '\n'), '\n')
end

asio.spawn_light_thread(function()
  local ok, err = pcall(report)
  if not ok then io.stderr:write('conn_bytes: ', tostring(err), '\n') end
  os.exit(ok and 0 or 1) -- the script waits for this process to end
end)
asio.run()
