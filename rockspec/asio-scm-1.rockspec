-- LuaAsio: build with `luarocks make rockspec/asio-scm-1.rockspec` from the repository root.
rockspec_format = "3.0"
package = "asio"
version = "scm-1"
source = {
  url = "git+file://./",
}
description = {
  summary = "Synchronous-looking, non-blocking network I/O for LuaJIT light threads, on Boost.Asio",
  detailed = [[
    Every connection runs in a light thread (a coroutine) that yields while it waits on an Asio
    operation: TCP, UDP, Unix sockets, TLS, DNS, timers, timeouts, channels and locks.
  ]],
  license = "MIT",
  labels = { "network", "async", "coroutine", "luajit" },
}
dependencies = {
  "lua >= 5.1",
}
build = {
  type = "cmake",
  variables = {
    CMAKE_BUILD_TYPE = "Release",
    LUADIR = "$(LUADIR)",
    LIBDIR = "$(LIBDIR)",
    -- The rock is the Lua module; hosts that link the library build it with CMake themselves.
    LASIO_STATIC_LIBRARY = "OFF",
  },
}
