-- asio's spawn_light_thread is Lua on the FFI (asio/spawn.lua); without the FFI, or without
-- that file (a host that ships the core alone), the core's C spawn is used and must behave the
-- same.
local mode = arg[1]
if mode == 'noffi' then
  package.loaded.ffi = nil
  package.preload.ffi = function() error('this LuaJIT has no FFI') end
elseif mode == 'nofile' then
  package.preload['asio.spawn'] = function() error('not shipped') end
elseif mode ~= 'ffi' then
  error('usage: spawn_paths.lua ffi|noffi|nofile')
end
local asio = require 'asio'
local c_spawn = require('asio.core')._spawn_light_thread_c
assert((asio.spawn_light_thread == c_spawn) == (mode ~= 'ffi'), 'the expected spawn is used')

local order = {}
local th = asio.spawn_light_thread(function(a, b, ...)
  order[#order + 1] = 'first'
  return a + b, select('#', ...)
end, 40, 2, nil, nil)
local killed = asio.spawn_light_thread(function() order[#order + 1] = 'killed ran' end)
killed:kill()
local joined
asio.spawn_light_thread(function()
  assert(th:status() == 'waiting' or th:status() == 'dead')
  joined = { th:join() }
  order[#order + 1] = 'joiner'
end)
asio.run()
assert(joined[1] == true and joined[2] == 42 and joined[3] == 2, 'results of the thread')
assert(order[1] == 'first' and order[2] == 'joiner' and #order == 2, table.concat(order, ','))
assert(select(2, killed:join()) == 'killed')
local ok, err = pcall(function() asio.spawn_light_thread() end)
assert(not ok and err:find("bad argument #1 to 'spawn_light_thread' (function expected, got no value)", 1, true), err)
print('ok')
