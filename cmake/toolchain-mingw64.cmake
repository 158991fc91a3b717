# SPDX-License-Identifier: MIT
# Cross-building asio/core.dll for 64-bit Windows with Debian's mingw-w64 (the posix thread model:
# the module uses std::thread and std::mutex). LASIO_PREFIX is where tools/ports.sh put LuaJIT
# for Windows (include/, lib/libluajit-5.1.dll.a, bin/lua51.dll) and a directory holding only
# Boost's headers, so the host's /usr/include never joins the search path.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER x86_64-w64-mingw32-gcc-posix)
set(CMAKE_CXX_COMPILER x86_64-w64-mingw32-g++-posix)
set(CMAKE_RC_COMPILER x86_64-w64-mingw32-windres)
set(CMAKE_FIND_ROOT_PATH /usr/x86_64-w64-mingw32 ${LASIO_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# Tried by the compiler checks before the cache is written: pass the prefix on to them.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES LASIO_PREFIX)
# libstdc++, libgcc and winpthread linked in: the .dll then needs only lua51.dll and Windows'.
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static-libgcc -static-libstdc++ -Wl,-Bstatic,--whole-archive -lwinpthread -Wl,--no-whole-archive,-Bdynamic")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "${CMAKE_SHARED_LINKER_FLAGS_INIT}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static-libgcc -static-libstdc++ -static")
set(LUA_INCDIR ${LASIO_PREFIX}/include CACHE PATH "LuaJIT headers")
set(LUA_LIBDIR ${LASIO_PREFIX}/lib CACHE PATH "LuaJIT import library")
set(Boost_INCLUDE_DIR ${LASIO_PREFIX}/lasio-boost-include CACHE PATH "Boost headers")
