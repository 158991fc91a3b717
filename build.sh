#!/usr/bin/env bash
# One command to build LuaAsio and run its demo or its tests:
#   ./build.sh          build the release module into build/
#   ./build.sh demo     build, then run the README ping-pong (examples/ping_pong.lua)
#   ./build.sh test     build release and sanitizer modules, run every spec on both, check install
#   ./build.sh bench    build, then run the benchmarks (bench/run.sh)
#   ./build.sh fuzz [S] build the sanitizer module, run new fuzz seeds for S seconds (default 600)
#   ./build.sh ports [T...]  cross-build for Windows, mipsel and aarch64 (or the targets T), run the
#                       examples and a spec set under Wine and qemu-user (tools/ports.sh)
# On Debian/Ubuntu it installs what is missing (as root, or through sudo).
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)
# shellcheck source=tools/common.sh
. tools/common.sh

lua_env() {
  export LUA_PATH="$here/build/lua/?.lua;$here/build/lua/?/init.lua;$here/?.lua;;"
  export LUA_CPATH="$here/build/?.so;;"
}

cmd=${1:-build}
case "$cmd" in
  build)
    need_packages
    build_variant release || { echo "build of release failed" >&2; exit 1; }
    stage_release
    ;;
  demo)
    need_packages
    build_variant release || { echo "build of release failed" >&2; exit 1; }
    stage_release
    lua_env
    timeout 30 luajit examples/ping_pong.lua
    ;;
  test)
    need_packages test
    exec bash spec/run.sh
    ;;
  fuzz)
    need_packages
    build_variant sanitize -DLASIO_SANITIZE=ON || { echo "build of sanitize failed" >&2; exit 1; }
    # New seeds each time (the test run covers 1..90); failures join the regression seeds.
    exec bash spec/fuzz/run.sh build/sanitize --first $((1000 + RANDOM * 32 + RANDOM % 32)) \
      --seconds "${2:-600}" --record
    ;;
  bench)
    need_packages bench
    build_variant release || { echo "build of release failed" >&2; exit 1; }
    stage_release
    exec bash bench/run.sh
    ;;
  ports)
    shift
    exec bash tools/ports.sh "$@"
    ;;
  *)
    echo "usage: $0 [build|demo|test|bench|fuzz [seconds]|ports [windows|mipsel|aarch64]...]" >&2
    exit 2
    ;;
esac
