-- SPDX-License-Identifier: MIT
--- Routes of asio.http's server: a tree of path segments. At each level a literal segment wins
-- over a `:name` parameter, which wins over a `*` tail, whatever the order routes were added in.
local M = {}
M.__index = M

local sub, find = string.sub, string.find

local function new_node() return { static = {}, handlers = nil } end

--- A new, empty router.
function M.new() return setmetatable({ root = new_node() }, M) end

local function segments(path)
  local t = {}
  for s in path:gmatch('[^/]+') do t[#t + 1] = s end
  return t
end

--- Adds fn for method (nil or '*': any method) on pattern ('/users/:id', '/static/*',
-- '/files/*rest'). A later route for the same method and pattern replaces the earlier one.
function M:add(method, pattern, fn)
  if type(pattern) ~= 'string' or sub(pattern, 1, 1) ~= '/' then
    error("route: pattern must be a string starting with '/'", 3)
  end
  if type(fn) ~= 'function' then error('route: handler must be a function', 3) end
  local node = self.root
  local segs = segments(pattern)
  for i, s in ipairs(segs) do
    local c = sub(s, 1, 1)
    if c == '*' then
      if i ~= #segs then error("route: '*' must be the last segment", 3) end
      node.tail = node.tail or { name = s == '*' and '*' or sub(s, 2), node = new_node() }
      node = node.tail.node
      break
    elseif c == ':' then
      local name = sub(s, 2)
      if name == '' then error('route: a parameter needs a name', 3) end
      if node.param and node.param.name ~= name then
        error(("route: parameter ':%s' conflicts with ':%s' at the same place"):format(name, node.param.name), 3)
      end
      node.param = node.param or { name = name, node = new_node() }
      node = node.param.node
    else
      node.static[s] = node.static[s] or new_node()
      node = node.static[s]
    end
  end
  node.handlers = node.handlers or {}
  node.handlers[method and method ~= '*' and method:upper() or '*'] = fn
end

local function match(node, segs, i, params)
  if i > #segs then
    if node.handlers then return node end
    -- '/static/*' also answers '/static/' with an empty tail.
    if node.tail and node.tail.node.handlers then
      params[node.tail.name] = ''
      return node.tail.node
    end
    return nil
  end
  local s = segs[i]
  local child = node.static[s]
  if child then
    local found = match(child, segs, i + 1, params)
    if found then return found end
  end
  if node.param then
    local found = match(node.param.node, segs, i + 1, params)
    if found then
      params[node.param.name] = s
      return found
    end
  end
  if node.tail and node.tail.node.handlers then
    params[node.tail.name] = table.concat(segs, '/', i)
    return node.tail.node
  end
  return nil
end

--- The handler for method and (decoded) path, and the parameters; or nil and the methods the
-- path answers to (an array, empty when the path matches no route at all).
function M:match(method, path)
  local params = {}
  local segs = find(path, '/', 2, true) and segments(path) or (path == '/' and {} or { sub(path, 2) })
  local node = match(self.root, segs, 1, params)
  if not node then return nil, {} end
  local fn = node.handlers[method] or node.handlers['*']
  if not fn and method == 'HEAD' then fn = node.handlers.GET end
  if fn then return fn, params end
  local allowed = {}
  for m in pairs(node.handlers) do allowed[#allowed + 1] = m end
  table.sort(allowed)
  return nil, allowed
end

return M
