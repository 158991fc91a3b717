-- Objects with a __gc created before require 'asio' are finalized after the runtime at
-- lua_close: asio calls they make, and requiring asio again, must raise a clear error, not
-- reach a freed runtime.
local probe
local p = newproxy(true)
getmetatable(p).__gc = function()
  local ok, err = pcall(probe.status, probe)
  local ok2, err2 = pcall(function() return require('asio').spawn_light_thread(print) end)
  local ok3, err3 = pcall(function() return require('asio').now() end)
  package.loaded['asio'], package.loaded['asio.core'] = nil, nil
  local ok4, err4 = pcall(require, 'asio')
  io.stdout:write(tostring(ok), ' ', tostring(err), '\n', tostring(ok2), ' ', tostring(err2), '\n',
    tostring(ok3), ' ', tostring(err3), '\n', tostring(ok4), ' ', tostring(err4), '\n')
end
local asio = require 'asio'
probe = asio.spawn_light_thread(function() return 1 end)
_G.keep = p
