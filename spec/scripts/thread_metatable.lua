-- The handle methods go on the metatable every coroutine shares: one set before asio is
-- loaded must be extended, not replaced, and one asio cannot extend must fail to load.
local mode = arg[1]
local probe = coroutine.create(function() end)
if mode == 'table' then
  debug.setmetatable(probe, { __index = { hello = function() return 'hello' end } })
  local asio = require 'asio'
  assert(probe:hello() == 'hello', 'the existing method is kept')
  local th = asio.spawn_light_thread(function() return 'joined' end)
  local got
  asio.spawn_light_thread(function() got = select(2, th:join()) end)
  asio.run()
  assert(got == 'joined', 'join works through the extended metatable')
  assert(th:hello() == 'hello')
elseif mode == 'function' then
  debug.setmetatable(probe, { __index = function() return nil end })
  local ok, err = pcall(require, 'asio')
  assert(not ok, 'loading must fail')
  assert(tostring(err):find('__index is not a table', 1, true), err)
else
  error('usage: thread_metatable.lua table|function')
end
print('ok')
