-- The churn figure's pattern without the module: what LuaJIT's own allocator does with rounds of
-- N coroutines (each holding a string, as an idle connection's light thread holds its last read)
-- made, all alive at once, then all dropped and collected. Prints RSS with the round's
-- coroutines alive ("open") and after two full collections ("after"), and after / round 1's.
--   luajit bench/churn_luajit.lua [rounds=12] [N=10000]      (also: luajit -joff ...)
local rounds, n = tonumber(arg[1]) or 12, tonumber(arg[2]) or 10000

local function rss_kb()
  for line in io.lines('/proc/self/status') do
    local kb = line:match('^VmRSS:%s+(%d+)')
    if kb then return tonumber(kb) end
  end
end

local function hold(s)
  coroutine.yield()
  return s
end

local first
for r = 1, rounds do
  local cos = {}
  for i = 1, n do
    local co = coroutine.create(hold)
    coroutine.resume(co, ('%060d'):format(r * n + i))
    cos[i] = co
  end
  local open = rss_kb()
  for i = 1, n do
    coroutine.resume(cos[i])
    cos[i] = nil
  end
  cos = nil
  collectgarbage()
  collectgarbage()
  local after = rss_kb()
  first = first or after
  print(('round=%d open_rss_kb=%d rss_kb=%d last_over_first=%.3f lua_kb=%d'):format(
    r, open, after, after / first, collectgarbage('count')))
end
