-- SPDX-License-Identifier: MIT
--- Channels: FIFO pipes of Lua values between light threads, Go style.
--
-- A channel is a userdata made with `newproxy(true)`, so that `#ch` works on LuaJIT without
-- 5.2 compatibility (plain tables ignore `__len` there); `ch:len()` is the same thing.
-- Its state sits in a small table of its own that the proxy's own metatable (`newproxy(true)`
-- gives each proxy one) names as `__index`, falling back to the methods: only the channel
-- reaches it, and `ch[STATE]` is a plain lookup the JIT compiles. A weak table proxy -> state would leak every channel whose state
-- reaches the proxy back (a queued waiter's stack, a buffered value that is the channel):
-- LuaJIT has no ephemerons, so such a value keeps its own key alive.
--
-- Invariants (counting only live waiters): receivers wait only while the buffer is empty,
-- senders only while it is full (always, for a rendezvous channel). A value goes straight from
-- a sender to the oldest waiting receiver, so receivers get values in the order they queued.
-- A receiver killed after being handed a value but before it resumed gives the value back (see
-- asio.sync.waitq): it goes to the next receiver or to the front of the buffer, which may then hold
-- more values than its capacity for a while. A value is therefore never lost and never
-- received twice; a send that returned true has delivered its value to the channel.
-- @module asio.sync.channel
local M = {}

local type, error, newproxy, getmetatable, setmetatable = type, error, newproxy, getmetatable,
  setmetatable
local math_floor, math_huge, math_max, math_min = math.floor, math.huge, math.max, math.min
local table_insert, table_remove = table.insert, table.remove

--- Adds `asio.channel` to one `asio` table.
-- @tparam table asio the module table
-- @tparam table W the helpers of asio.sync.waitq
-- @treturn table `{state = fn, try_recv = fn, try_send = fn}`, for asio.select
function M.install(asio, W)
  local STATE = {} -- the key of a channel's state, through its proxy's __index
  local Channel = {}
  local inherit = { __index = Channel }

  -- The state of channel `ch`, or nil when `ch` is not a channel.
  local function state_of(ch)
    if type(ch) ~= 'userdata' or getmetatable(ch) ~= 'asio.channel' then return nil end
    return ch[STATE]
  end

  local function state(self, fname)
    local st = state_of(self)
    if not st then
      error(("bad self to '%s' (channel expected, got %s)"):format(fname, type(self)), 3)
    end
    return st
  end

  -- The buffer is a ring in the state's array part, st[1..st.size], st.count values from
  -- st.first on. Indices that only ever grew would leave the array part for the hash part,
  -- and every few values LuaJIT would rehash the table (a third of the time of a buffered
  -- send and receive, under callgrind).
  local function buffered(st)
    return st.count
  end

  -- Doubles the ring, laying its values out from 1 again.
  local function grow(st)
    local size, first, count = st.size, st.first, st.count
    local values = {}
    for k = 0, count - 1 do
      local i = (first - 1 + k) % size + 1
      values[k + 1] = st[i]
      st[i] = nil
    end
    for k = 1, count do st[k] = values[k] end
    st.first, st.size = 1, size * 2
  end

  local function buf_push(st, v)
    local count = st.count
    if count == st.size then grow(st) end
    st[(st.first - 1 + count) % st.size + 1] = v
    st.count = count + 1
  end

  -- Puts v in front of everything buffered (a value given back is the oldest).
  local function buf_push_front(st, v)
    if st.count == st.size then grow(st) end
    local first = (st.first - 2) % st.size + 1
    st[first] = v
    st.first, st.count = first, st.count + 1
  end

  local function buf_pop(st)
    local first = st.first
    local v = st[first]
    st[first] = nil
    st.first, st.count = first % st.size + 1, st.count - 1
    local given_back = st.given_back
    if given_back[1] then table_remove(given_back, 1) end
    return v
  end

  -- Gives a killed receiver's value back: to the next receiver, else to the buffer. A value
  -- handed to a receiver was sent while the buffer was empty, so it is older than anything
  -- buffered since: it goes in front of those, but behind values given back before it that
  -- were sent earlier still (st.given_back: their send numbers, front to back).
  local function reclaim(st, w)
    local v, sent = w.value, w.seq
    local t = st.recvq:wake_next()
    if t then
      local r = t.w
      r.value, r.seq = v, sent
      W.handed(r, reclaim, st)
      return
    end
    local given_back = st.given_back
    local k = 1
    while given_back[k] and given_back[k] < sent do k = k + 1 end
    buf_push_front(st, v)
    local size, first = st.size, st.first
    for j = 0, k - 2 do -- move it back past the k-1 older ones
      local a = (first - 1 + j) % size + 1
      local b = a % size + 1
      st[a], st[b] = st[b], st[a]
    end
    table_insert(given_back, k, sent)
  end

  --- Completes a send at once if it can: to a waiting receiver, else into the buffer.
  -- @return true | nil, "closed" | false when it would have to wait
  local function try_send(st, v)
    if st.closed then return nil, 'closed' end
    local t = st.recvq:wake_next()
    if t then
      local r = t.w
      local sent = st.sent + 1
      st.sent = sent
      r.value, r.seq = v, sent
      W.handed(r, reclaim, st)
      return true
    end
    if st.count < st.cap then
      buf_push(st, v)
      return true
    end
    return false
  end

  --- Completes a receive at once if it can: from the buffer, else from a waiting sender.
  -- @return true, v | true, nil, "closed" | false when it would have to wait
  local function try_recv(st)
    if st.count > 0 then
      local v = buf_pop(st)
      -- A slot is free: the oldest waiting sender moves its value in, keeping FIFO order.
      local t = st.count < st.cap and st.sendq:wake_next()
      if t then
        buf_push(st, t.v)
        t.w.value = true
      end
      return true, v
    end
    local t = st.sendq:wake_next()
    if t then
      t.w.value = true
      return true, t.v
    end
    if st.closed then return true, nil, 'closed' end
    return false
  end

  --- Sends `v`, waiting while the channel is full (for a rendezvous channel: until a receiver
  -- takes it).
  -- @param v any value but nil
  -- @tparam[opt] number timeout seconds; nil waits forever, 0 never waits
  -- @return true
  -- @return nil, "closed" if the channel is (or gets) closed before `v` is taken
  -- @return nil, "timeout"
  function Channel.send(self, v, timeout)
    local st = state(self, 'send')
    if v == nil then W.argerror(1, 'send', 'value expected, got nil') end
    W.check_timeout(timeout, 2, 'send')
    local ok, err = try_send(st, v)
    if ok ~= false then return ok, err end
    if timeout == 0 then return nil, 'timeout' end
    local w = W.waiter(v)
    if not W.wait_in(st.sendq, w, W.me('send'), timeout) then return nil, 'timeout' end
    if w.err then return nil, w.err end
    return true
  end

  --- Receives the oldest value, waiting while there is none. After `close`, the values still
  -- buffered are received first.
  -- @tparam[opt] number timeout seconds; nil waits forever, 0 never waits
  -- @return the value
  -- @return nil, "closed" once the channel is closed and drained
  -- @return nil, "timeout"
  function Channel.recv(self, timeout)
    local st = state(self, 'recv')
    W.check_timeout(timeout, 1, 'recv')
    local ok, v, err = try_recv(st)
    if ok then return v, err end
    if timeout == 0 then return nil, 'timeout' end
    local w = W.waiter()
    if not W.wait_in(st.recvq, w, W.me('recv'), timeout) then return nil, 'timeout' end
    if w.err then return nil, w.err end
    return w.value
  end

  --- Closes the channel: waiting senders get nil, "closed" (their values are dropped), waiting
  -- receivers get nil, "closed"; buffered values can still be received. Closing twice is a no-op.
  -- @treturn boolean true if this call closed it, false if it was already closed
  function Channel.close(self)
    local st = state(self, 'close')
    if st.closed then return false end
    st.closed = true
    while true do
      local t = st.recvq:wake_next()
      if not t then break end
      t.w.err = 'closed'
    end
    while true do
      local t = st.sendq:wake_next()
      if not t then break end
      t.w.err = 'closed'
    end
    return true
  end

  --- Number of values buffered (what `#ch` returns too).
  function Channel.len(self)
    return buffered(state(self, 'len'))
  end

  --- Capacity given to `asio.channel` (0 for a rendezvous channel).
  function Channel.capacity(self)
    return state(self, 'capacity').cap
  end

  --- Whether `close` was called.
  function Channel.is_closed(self)
    return state(self, 'is_closed').closed
  end

  --- Iterator for `for v in ch:iter() do ... end`: receives until the channel is closed and
  -- drained. Must run in a light thread (it waits).
  function Channel.iter(self)
    state(self, 'iter')
    local recv = Channel.recv
    return function() return (recv(self)) end
  end

  local function len_mm(self) return buffered(self[STATE]) end
  local function tostring_mm(self)
    local st = self[STATE]
    return ('asio.channel(%s): %d buffered%s'):format(tostring(st.cap), buffered(st),
      st.closed and ', closed' or '')
  end

  --- Creates a channel.
  -- @tparam[opt=0] integer capacity values buffered; 0 is a rendezvous channel (a send completes
  -- when a receiver takes the value), `math.huge` is unbounded
  -- @return the channel
  local function new(capacity)
    if capacity == nil then capacity = 0 end
    if type(capacity) ~= 'number' or not (capacity >= 0)
      or (capacity ~= math_huge and capacity ~= math_floor(capacity)) then
      W.argerror(1, 'channel', 'capacity must be a non-negative integer, got '
        .. W.got(capacity))
    end
    local proxy = newproxy(true)
    local mt = getmetatable(proxy)
    mt.__index = setmetatable({
      [STATE] = {
        cap = capacity, first = 1, count = 0, size = math_max(1, math_min(capacity, 64)),
        sent = 0, given_back = {},
        closed = false,
        recvq = W.queue(), sendq = W.queue(),
      },
    }, inherit)
    mt.__len = len_mm
    mt.__tostring = tostring_mm
    mt.__metatable = 'asio.channel'
    return proxy
  end

  asio.channel = new
  return { state = state_of, try_send = try_send, try_recv = try_recv }
end

return M
