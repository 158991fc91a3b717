-- SPDX-License-Identifier: MIT
--- The client's keep-alive connections, per scheme/host/port: at most settings.size idle ones
-- each, none older than settings.idle seconds. Light threads take and return connections
-- without yielding in between, so many of them can share a pool.
local asio = require 'asio'

local now = asio.now

local M = {}

--- size: idle connections kept per scheme/host/port; idle: seconds one may wait unused.
M.settings = { size = 16, idle = 30 }

local pools = {}

--- An idle connection to key that has not waited too long, or nil.
function M.get(key)
  local list = pools[key]
  if not list then return nil end
  local oldest = now() - M.settings.idle
  while true do
    local n = #list
    if n == 0 then
      pools[key] = nil
      return nil
    end
    local e = list[n]
    list[n] = nil
    if e.at >= oldest then return e.conn end
    e.conn:close()
  end
end

--- Keeps conn for the next request to key, or closes it when the pool is full.
function M.put(key, conn)
  local list = pools[key]
  if not list then
    list = {}
    pools[key] = list
  end
  if #list >= M.settings.size then
    conn:close()
    return
  end
  list[#list + 1] = { conn = conn, at = now() }
end

--- Closes every idle connection.
function M.close_idle()
  for key, list in pairs(pools) do
    for _, e in ipairs(list) do e.conn:close() end
    pools[key] = nil
  end
end

return M
