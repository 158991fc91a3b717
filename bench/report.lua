-- Turns the raw results written by bench/run.sh into Markdown tables.
--
--   luajit bench/report.lua RAWFILE [SECTION...]
--
-- RAWFILE lines: "section rep column row value" (value: a number, or a word
-- such as fail / n/a). For every (section, row, column) the median of the
-- numeric values over the repeats is shown.
local rawfile = assert(arg[1], 'usage: luajit report.lua RAWFILE [SECTION...]')

-- Row: key, label, dir (+1 higher is better, -1 lower is better).
local SECTIONS = {
  net = {
    title = 'Echo servers (loopback, server on core 1, load generator on core 0)',
    columns = { { 'asio', 'asio' }, { 'asio_seed', 'asio (seed style)' }, { 'raw', 'raw C++ asio' }, { 'luv', 'luv' },
                { 'luv_coro', 'luv+coro' }, { 'cqueues', 'cqueues' }, { 'copas', 'copas' } },
    peers = { 'luv', 'luv_coro', 'cqueues', 'copas' },
    raw = 'raw',
    rows = {
      { 'pp1_rate', 'pingpong 1 conn: round trips/s', 1 },
      { 'pp1_p50', 'pingpong 1 conn: p50 latency µs', -1 },
      { 'pp1_p99', 'pingpong 1 conn: p99 latency µs', -1 },
      { 'pp1_cpu', 'pingpong 1 conn: server CPU µs / round trip', -1 },
      { 'pp100_rate', 'pingpong 100 conns: round trips/s', 1 },
      { 'pp100_p99', 'pingpong 100 conns: p99 latency µs', -1 },
      { 'pp100_cpu', 'pingpong 100 conns: server CPU µs / round trip', -1 },
      { 'pp1000_rate', 'pingpong 1000 conns: round trips/s', 1 },
      { 'pp1000_p99', 'pingpong 1000 conns: p99 latency µs', -1 },
      { 'pp1000_cpu', 'pingpong 1000 conns: server CPU µs / round trip', -1 },
      { 'bulk_rate', 'bulk 64 KiB blocks: MB/s echoed', 1 },
      { 'bulk_cpu', 'bulk: server CPU µs / MB', -1 },
      { 'accept_rate', 'accept (32 in flight): connections/s', 1 },
      { 'accept_cpu', 'accept: server CPU µs / connection', -1 },
      { 'idle1k', 'idle: server RSS bytes / conn (1,000 conns)', -1 },
      { 'idle10k', 'idle: server RSS bytes / conn (10,000 conns)', -1 },
      { 'rss_start', 'process RSS after start, one listening server, kB', -1 },
    },
  },
  threads = {
    title = 'Light threads (one luajit process per figure, pinned to core 1)',
    columns = { { 'asio', 'asio' }, { 'luv', 'luv+coro' }, { 'cqueues', 'cqueues' } },
    peers = { 'luv', 'cqueues' },
    rows = {
      { 'switch_rate', 'switches/s (2 threads yielding)', 1 },
      { 'switch_cpu', 'CPU ns / switch', -1 },
      { 'spawn_rate', 'spawn+finish light threads/s (1M)', 1 },
      { 'mem_gc', 'bytes / sleeping thread, Lua heap (100k)', -1 },
      { 'mem_rss', 'bytes / sleeping thread, RSS (100k)', -1 },
      { 'timer_cpu', 'CPU µs / timed sleep (100k deadlines pending)', -1 },
    },
  },
  channel = {
    title = 'Channel: one producer, one consumer (pinned to core 1)',
    columns = { { 'asio', 'asio.channel' }, { 'luv', 'luv+coro cond vars' },
                { 'cqueues', 'cqueues condition' } },
    peers = { 'luv', 'cqueues' },
    rows = {
      { 'cap0', 'messages/s, capacity 0 (rendezvous)', 1 },
      { 'cap1', 'messages/s, capacity 1', 1 },
      { 'cap64', 'messages/s, capacity 64', 1 },
      { 'cap0_cpu', 'CPU ns / message, capacity 0', -1 },
      { 'cap64_cpu', 'CPU ns / message, capacity 64', -1 },
    },
  },
}
local ORDER = { 'net', 'threads', 'channel' }

local data = {} -- data[section][row][column] = { values... }
local reps = {}
for line in io.lines(rawfile) do
  local sec, rep, col, row, val = line:match('^(%S+)%s+(%S+)%s+(%S+)%s+(%S+)%s+(%S+)')
  if sec then
    data[sec] = data[sec] or {}
    data[sec][row] = data[sec][row] or {}
    local cell = data[sec][row][col] or {}
    data[sec][row][col] = cell
    cell[#cell + 1] = tonumber(val) or val
    reps[rep] = true
  end
end

local function median(cell)
  if not cell then return nil end
  local nums = {}
  for _, v in ipairs(cell) do
    if type(v) == 'number' then nums[#nums + 1] = v end
  end
  if #nums == 0 then return cell[1] end -- a word such as fail or n/a
  table.sort(nums)
  local n = #nums
  if n % 2 == 1 then return nums[(n + 1) / 2] end
  return (nums[n / 2] + nums[n / 2 + 1]) / 2
end

local function commas(i)
  local s = tostring(i)
  local r
  repeat
    s, r = s:gsub('^(%d+)(%d%d%d)', '%1,%2')
  until r == 0
  return s
end

local function fmt(v)
  if v == nil then return '' end
  if type(v) ~= 'number' then return tostring(v) end
  local a = math.abs(v)
  if a >= 100 then return commas(string.format('%.0f', v)) end
  if a >= 10 then return string.format('%.1f', v) end
  return string.format('%.2f', v)
end

local function ratio(a, b)
  if type(a) ~= 'number' or type(b) ~= 'number' or b == 0 then return '' end
  return string.format('%.2f', a / b)
end

local nreps = 0
for _ in pairs(reps) do nreps = nreps + 1 end

local want = {}
for i = 2, #arg do want[arg[i]] = true end

local out = {}
local function p(s) out[#out + 1] = s end

for _, key in ipairs(ORDER) do
  local S = SECTIONS[key]
  if data[key] and (next(want) == nil or want[key]) then
    p('### ' .. S.title)
    p('')
    -- Only the columns that were run (asio stays, as n/a, when the module is missing).
    local cols, present = {}, {}
    for _, r in ipairs(S.rows) do
      for col in pairs(data[key][r[1]] or {}) do present[col] = true end
    end
    for _, c in ipairs(S.columns) do
      if present[c[1]] then cols[#cols + 1] = c end
    end
    local hdr = { 'figure' }
    for _, c in ipairs(cols) do hdr[#hdr + 1] = c[2] end
    hdr[#hdr + 1] = 'asio / best Lua peer'
    local with_raw = S.raw and present[S.raw]
    if with_raw then hdr[#hdr + 1] = 'asio / raw C++' end
    p('| ' .. table.concat(hdr, ' | ') .. ' |')
    local sep = { '---' }
    for i = 2, #hdr do sep[i] = '---:' end
    p('|' .. table.concat(sep, '|') .. '|')
    for _, r in ipairs(S.rows) do
      local rowdata = data[key][r[1]]
      if rowdata then
        local cells = { r[2] .. (r[3] > 0 and ' ↑' or ' ↓') }
        local med = {}
        for _, c in ipairs(cols) do
          med[c[1]] = median(rowdata[c[1]])
          cells[#cells + 1] = fmt(med[c[1]])
        end
        local best, bestname
        for _, peer in ipairs(S.peers) do
          local v = med[peer]
          if type(v) == 'number' and (not best or v * r[3] > best * r[3]) then
            best, bestname = v, peer
          end
        end
        local rr = ratio(med.asio, best)
        if rr ~= '' then
          for _, c in ipairs(cols) do
            if c[1] == bestname then rr = rr .. ' (' .. c[2] .. ')' end
          end
        end
        cells[#cells + 1] = rr
        if with_raw then cells[#cells + 1] = ratio(med.asio, med[S.raw]) end
        p('| ' .. table.concat(cells, ' | ') .. ' |')
      end
    end
    p('')
  end
end
p(('↑ higher is better, ↓ lower is better; each cell is the median of %d run(s). ' ..
   'Ratios are asio divided by the other column (for ↓ rows, below 1 means asio is better).')
  :format(nreps))
io.write(table.concat(out, '\n'), '\n')
