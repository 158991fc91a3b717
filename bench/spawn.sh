#!/usr/bin/env bash
# Child processes: spawns per second (asio.run_command / spawn_process beside luv's uv.spawn and
# io.popen) and a TCP ping-pong's round trip while 50 commands run (asio and luv). Each figure
# is measured BENCH_REPEAT times (default 5, interleaved), BENCH_SECONDS each (default 3); the
# table gives the median and the range, and is written to bench/spawn_results.md.
#   bash bench/spawn.sh            (after ./build.sh or a build in build/release)
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPEAT=${BENCH_REPEAT:-5}
SECONDS_EACH=${BENCH_SECONDS:-3}
MODES=${BENCH_MODES:-"asio_run luv_run popen asio_wait luv_wait asio_run16 luv_run16 latency0 luv_latency0 latency50 luv_latency50 latency50sleep luv_latency50sleep"}
OUT=$ROOT/bench/out
mkdir -p "$OUT"
raw=$OUT/spawn_raw.txt
: >"$raw"
for r in $(seq "$REPEAT"); do
  for m in $MODES; do
    LUA_PATH="$ROOT/lua/?.lua;;" LUA_CPATH="$ROOT/build/release/?.so;;" \
      timeout 120 luajit "$ROOT/bench/spawn.lua" "$m" "$SECONDS_EACH" 2>>"$OUT/spawn.err" | tee -a "$raw"
  done
done
{
  echo "# Child processes ($(date -u +%Y-%m-%d), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end)"
  echo
  echo "\`bash bench/spawn.sh\`: $REPEAT runs of $SECONDS_EACH s per figure, interleaved; median (min-max)."
  echo
  echo "| figure | median | range | unit |"
  echo "| --- | --- | --- | --- |"
  BENCH_MODES="$MODES" luajit "$ROOT/bench/spawn.lua" summarize "$raw"
} >"$ROOT/bench/spawn_results.md"
cat "$ROOT/bench/spawn_results.md"
