-- SPDX-License-Identifier: MIT
--- spawn_light_thread, written in Lua so that spawning crosses into C++ only through one FFI
-- call, which the JIT compiles into the caller's trace. The same work through the Lua C API
-- (create the coroutine, anchor it, move the function over, return it) takes about 7% more
-- instructions per short thread (callgrind, the spawn loop of bench/threads.lua): as many as
-- luv + plain coroutines, the baseline users compare with, where this path takes fewer.
--
-- Division of work: Lua creates the coroutine and stores it in the anchor slot the core hands
-- out; the core queues the slot for its first resume and reads the coroutine from the slot
-- when it needs it. Without the FFI (LuaJIT built without it) the core's own spawn is used.
-- @module asio.spawn
return function(core)
  local c_spawn = core.spawn_light_thread
  local ok, ffi = pcall(require, 'ffi')
  if not ok then return c_spawn end
  local anchors, take_slot_ptr, runtime = core._spawn_support()
  if not anchors then return c_spawn end -- handed out already: asio.core was loaded twice
  local take_slot = ffi.cast('int (*)(void *)', take_slot_ptr)
  local rt = ffi.cast('void *', runtime)
  local give_args = core._give_args
  local cocreate, select, type = coroutine.create, select, type

  return function(...)
    local fn = ...
    if type(fn) ~= 'function' then
      error("bad argument #1 to 'spawn_light_thread' (function expected, got "
        .. (select('#', ...) == 0 and 'no value' or type(fn)) .. ')', 2)
    end
    local co = cocreate(fn)
    if select('#', ...) > 1 then give_args(co, select(2, ...)) end
    local slot = take_slot(rt)
    if slot == 0 then error('not enough memory', 2) end
    anchors[slot] = co
    return co
  end
end
