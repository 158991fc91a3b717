#!/usr/bin/env bash
# Instructions per spawn+finish of a light thread, counted by callgrind: a figure that does not
# move with the machine's load, unlike the timings of run.sh, for comparing spawn paths whose
# difference is within the timing noise. Runs the spawn loop of threads.lua twice per
# implementation (2,000 and 202,000 threads) and divides the difference by 200,000, so that
# start-up (loading the modules) cancels out.
#
#   bash bench/spawn_instructions.sh        (needs valgrind; ./build.sh first)
#
# asio: asio.spawn_light_thread (Lua on one FFI call); asio-core: the core's C spawn (used when
# LuaJIT has no FFI); luv: luv + coroutines (luvco.lua).
set -eu
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }

count() { # count IMPL THREADS -> instructions of the whole process
  BENCH_SPAWN_ROUNDS=1 BENCH_SPAWN_THREADS=$2 LUA_PATH="$ROOT/build/lua/?.lua;$ROOT/build/lua/?/init.lua;;" \
    LUA_CPATH="$ROOT/build/?.so;;" valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    luajit "$BENCH_DIR/threads.lua" "$1" spawn 2>&1 >/dev/null |
    sed -n 's/.*refs: *//p' | tr -d ,
}

declare -A per
for impl in asio asio-core luv; do
  small=$(count "$impl" 2000)
  large=$(count "$impl" 202000)
  per[$impl]=$(( (large - small) / 200000 ))
  echo "$impl: ${per[$impl]} instructions per spawn+finish"
done
awk -v a="${per[asio]}" -v c="${per[asio-core]}" -v l="${per[luv]}" 'BEGIN {
  printf "asio / luv+coro: %.3f   asio-core / luv+coro: %.3f   (below 1: fewer instructions than luv+coro)\n", a / l, c / l }'
