# SPDX-License-Identifier: MIT
# Cross-building asio/core.so for a Linux router CPU with Debian's cross compilers
# (LASIO_TRIPLET: mipsel-linux-gnu, aarch64-linux-gnu). LASIO_SYSROOT is the tree tools/ports.sh
# unpacked from the target's Debian packages (LuaJIT, OpenSSL); Boost is header-only and the same
# for every CPU, so a directory with only its headers is added (never the host's /usr/include).
set(CMAKE_SYSTEM_NAME Linux)
string(REGEX REPLACE "-.*" "" CMAKE_SYSTEM_PROCESSOR "${LASIO_TRIPLET}")
set(CMAKE_C_COMPILER ${LASIO_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${LASIO_TRIPLET}-g++)
set(CMAKE_FIND_ROOT_PATH ${LASIO_SYSROOT} /usr/${LASIO_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_LIBRARY_ARCHITECTURE ${LASIO_TRIPLET})
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES LASIO_TRIPLET LASIO_SYSROOT)
# The host's pkg-config would answer with the host's LuaJIT.
set(PKG_CONFIG_EXECUTABLE /bin/false CACHE FILEPATH "no pkg-config when cross-building")
set(LUA_INCDIR ${LASIO_SYSROOT}/usr/include/luajit-2.1 CACHE PATH "LuaJIT headers")
set(Boost_INCLUDE_DIR ${LASIO_SYSROOT}/lasio-boost-include CACHE PATH "Boost headers")
set(OPENSSL_ROOT_DIR ${LASIO_SYSROOT}/usr CACHE PATH "the target's OpenSSL")
# OpenSSL's configuration header sits in the multiarch directory; its libraries need each other
# at link time.
set(CMAKE_C_FLAGS_INIT "-isystem ${LASIO_SYSROOT}/usr/include/${LASIO_TRIPLET}")
set(CMAKE_CXX_FLAGS_INIT "-isystem ${LASIO_SYSROOT}/usr/include/${LASIO_TRIPLET}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-Wl,-rpath-link,${LASIO_SYSROOT}/usr/lib/${LASIO_TRIPLET}")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "${CMAKE_SHARED_LINKER_FLAGS_INIT}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${CMAKE_SHARED_LINKER_FLAGS_INIT}")
