#!/usr/bin/env bash
# One command to build LuaAsio and run its demo or its tests:
#   ./build.sh          build the release module into build/
#   ./build.sh demo     build, then run the README ping-pong (examples/ping_pong.lua)
#   ./build.sh test     build release and sanitizer modules, run every spec on both, check install
#   ./build.sh bench    build, then run the benchmarks (bench/run.sh)
# On Debian/Ubuntu it installs what is missing (as root, or through sudo).
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)

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
  if [ "${1:-}" = test ]; then
    command -v busted >/dev/null || missing+=(lua-busted)
    command -v luarocks >/dev/null || missing+=(luarocks)
    # The router spec sets up a REDIRECT rule in a network namespace of its own.
    command -v iptables >/dev/null || missing+=(iptables)
    command -v ip >/dev/null || missing+=(iproute2)
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

# build_variant DIR CMAKE_ARGS...: configures and builds one variant into build/DIR.
build_variant() {
  local dir=$1
  shift
  cmake -S . -B "build/$dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
  cmake --build "build/$dir" -j "$jobs" 2>&1 | grep -Ev '^\[|^Consolidate|^Scanning|^Built target' || true
  [ -f "build/$dir/asio/core.so" ] || { echo "build of $dir failed" >&2; exit 1; }
}

# Staging: build/asio/core.so + build/lua -> lua/, so LUA_CPATH=build/?.so LUA_PATH=build/lua/?.lua.
stage() {
  mkdir -p build/asio
  cp "build/release/asio/core.so" build/asio/core.so
  ln -sfn ../lua build/lua
}

lua_env() {
  export LUA_PATH="$here/build/lua/?.lua;$here/build/lua/?/init.lua;$here/?.lua;;"
  export LUA_CPATH="$here/build/?.so;;"
}

cmd=${1:-build}
case "$cmd" in
  build)
    need_packages
    build_variant release
    stage
    ;;
  demo)
    need_packages
    build_variant release
    stage
    lua_env
    timeout 30 luajit examples/ping_pong.lua
    ;;
  test)
    need_packages test
    exec bash spec/run.sh
    ;;
  bench)
    need_packages
    build_variant release
    stage
    exec bash bench/run.sh
    ;;
  *)
    echo "usage: $0 [build|demo|test|bench]" >&2
    exit 2
    ;;
esac
