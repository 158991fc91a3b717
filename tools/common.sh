#!/usr/bin/env bash
# Shared by build.sh and spec/run.sh (sourced): installing what a Debian machine lacks, and
# building one variant of the module with CMake.

jobs=$(nproc 2>/dev/null || echo 2)

# need_packages [test|fuzz]: installs what is missing (as root, or through sudo) on Debian/Ubuntu.
need_packages() {
  local missing=()
  command -v luajit >/dev/null || missing+=(luajit)
  [ -f /usr/include/luajit-2.1/luajit.h ] || missing+=(libluajit-5.1-dev)
  [ -f /usr/include/boost/asio.hpp ] || missing+=(libboost1.81-dev)
  [ -f /usr/include/openssl/ssl.h ] || missing+=(libssl-dev)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v cmake >/dev/null || missing+=(cmake)
  command -v g++ >/dev/null || missing+=(g++)
  command -v pkg-config >/dev/null || missing+=(pkg-config)
  command -v ccache >/dev/null || missing+=(ccache)
  if [ "${1:-}" = test ]; then
    command -v busted >/dev/null || missing+=(lua-busted)
    command -v luarocks >/dev/null || missing+=(luarocks)
    # The router spec sets up a REDIRECT rule in a network namespace of its own.
    command -v iptables >/dev/null || missing+=(iptables)
    command -v ip >/dev/null || missing+=(iproute2)
    # asio.http's specs: curl against the server, the client against nginx.
    command -v curl >/dev/null || missing+=(curl)
    command -v nginx >/dev/null || missing+=(nginx)
    # asio.ws's specs: Python's websockets as client and server, Node's ws (from npm) as a client.
    /usr/bin/python3 -c 'import websockets' 2>/dev/null || missing+=(python3-websockets)
    command -v node >/dev/null || missing+=(nodejs)
    command -v npm >/dev/null || missing+=(npm)
    # The compile-only check that src/ still builds for Windows.
    command -v x86_64-w64-mingw32-g++-posix >/dev/null || missing+=(g++-mingw-w64-x86-64)
  fi
  if [ "${1:-}" = bench ]; then
    # asio.http's benchmark: wrk, lua-http (under LuaJIT), nginx (+ its Lua module, unpacked
    # privately by bench/http/run.sh).
    command -v wrk >/dev/null || missing+=(wrk)
    command -v nginx >/dev/null || missing+=(nginx)
    [ -f /usr/share/lua/5.1/http/server.lua ] || missing+=(lua-http)
  fi
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null; then
    echo "missing: ${missing[*]} (install them with your package manager)" >&2
    exit 1
  fi
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# build_variant DIR CMAKE_ARGS...: configures and builds one variant into build/DIR; fails
# unless build/DIR/asio/core.so came out.
build_variant() {
  local dir=$1
  shift
  cmake -S . -B "build/$dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null &&
    cmake --build "build/$dir" -j "$jobs" 2>&1 | grep -Ev '^\[|^Consolidate|^Scanning|^Built target'
  [ -f "build/$dir/asio/core.so" ]
}

# stage_release: build/asio/*.so + build/lua -> lua/, the layout that LUA_CPATH=build/?.so and
# LUA_PATH=build/lua/?.lua find (the README's quick start and the benchmarks use it).
stage_release() {
  mkdir -p build/asio
  cp build/release/asio/core.so build/asio/core.so
  local part
  for part in tls http_parser websocket; do
    rm -f "build/asio/$part.so"
    [ ! -f "build/release/asio/$part.so" ] || cp "build/release/asio/$part.so" "build/asio/$part.so"
  done
  ln -sfn ../lua build/lua
}
