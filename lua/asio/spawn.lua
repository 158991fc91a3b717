-- SPDX-License-Identifier: MIT
--- spawn_light_thread, written in Lua so that spawning crosses into C++ only through FFI calls,
-- which the JIT compiles into the caller's trace. The same work through the Lua C API (create
-- the coroutine, anchor it, move the function over, return it) takes about 4% more
-- instructions per short thread (bash bench/spawn_instructions.sh): about as many as luv +
-- plain coroutines, the baseline users compare with, where this path takes 5% fewer.
--
-- Division of work: Lua creates the coroutine and stores it in an anchor slot the core reserves;
-- committing the slot queues the first resume, and the core reads the coroutine from the slot
-- when it needs it. The core calls this factory when it loads (asio.core's spawn_light_thread
-- is the function it returns) with what only the core may hold: the anchor table, the two FFI
-- entry points, the runtime's userdata, the C function that puts arguments on a new coroutine,
-- and its own C spawn, returned instead when LuaJIT has no FFI.
-- @module asio.spawn
return function(anchors, reserve_ptr, commit_ptr, runtime, give_args, c_spawn)
  local ok, ffi = pcall(require, 'ffi')
  if not ok or type(anchors) ~= 'table' then return c_spawn end
  local reserve = ffi.cast('int (*)(void *)', reserve_ptr)
  local commit = ffi.cast('int (*)(void *, int)', commit_ptr)
  local rt = ffi.cast('void *', runtime)
  local cocreate, select, type = coroutine.create, select, type
  local failures = {
    [0] = 'spawn_light_thread: the slot was taken back (asio._close_all in between)',
    [-1] = 'not enough memory',
    [-2] = 'asio: the runtime is closed (the Lua state is being closed)',
  }

  return function(...)
    local fn = ...
    if type(fn) ~= 'function' then
      error("bad argument #1 to 'spawn_light_thread' (function expected, got "
        .. (select('#', ...) == 0 and 'no value' or type(fn)) .. ')', 2)
    end
    local co = cocreate(fn)
    if select('#', ...) > 1 then give_args(co, select(2, ...)) end
    local slot = reserve(rt)
    if slot <= 0 then error(failures[slot == 0 and -1 or slot], 2) end
    anchors[slot] = co
    local committed = commit(rt, slot)
    if committed ~= 1 then error(failures[committed], 2) end
    return co
  end
end
