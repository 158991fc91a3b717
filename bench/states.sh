#!/usr/bin/env bash
# Several states on OS threads (bench/states.lua), each figure BENCH_REPEAT times (default 5),
# LuaAsio beside luv's queue_work / new_thread and cqueues' thread where they have one; writes
# bench/states_results.md (median and range of each, and the ratio to the best peer).
#   bash bench/states.sh            (after ./build.sh; BENCH_SECONDS per figure, default 2)
# The two states of a figure are two threads of one process: not pinned, both cores are theirs.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPEAT=${BENCH_REPEAT:-5}
OUT=$ROOT/bench/states_results.md
export LUA_PATH="$ROOT/lua/?.lua;$ROOT/bench/?.lua;;" LUA_CPATH="$ROOT/build/release/?.so;;"
declare -A vals

# run KEY FIELD IMPL TEST [ARGS...]: appends FIELD of one run to vals[KEY]
run() {
  local key=$1 field=$2
  shift 2
  local line
  line=$(timeout 120 luajit "$ROOT/bench/states.lua" "$@" 2>&1 | tail -1)
  local v
  v=$(echo "$line" | grep -oE "$field=[0-9.]+" | cut -d= -f2)
  [ -n "$v" ] && vals[$key]="${vals[$key]:-} $v"
  echo "$key: ${v:-?}   ($line)" >&2
}

for rep in $(seq "$REPEAT"); do
  echo "== run $rep/$REPEAT (load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  run rt_asio round_trips_per_s asio roundtrip
  run rt_luv round_trips_per_s luv roundtrip
  run rt_cqueues round_trips_per_s cqueues roundtrip
  for cap in 0 1 256; do
    run "ow_${cap}_str16" messages_per_s asio oneway "$cap" str16
    run "ow_${cap}_table" messages_per_s asio oneway "$cap" table
  done
  run off_asio round_trips_per_s asio offload
  run off_luv round_trips_per_s luv offload
  run scale_1 jobs_per_s asio scaling 1
  run scale_2 jobs_per_s asio scaling 2
  run sj_asio spawn_joins_per_s asio spawnjoin
  run sj_luv spawn_joins_per_s luv spawnjoin
done

# stats KEY -> "median min max"
stats() { printf '%s\n' ${vals[$1]:-0} | sort -g | awk '{a[NR]=$1} END {printf "%s %s %s", a[int((NR+1)/2)], a[1], a[NR]}'; }
fmt() { read -r m lo hi <<< "$(stats "$1")"; printf '%.0f (%.0f-%.0f)' "$m" "$lo" "$hi"; }
med() { stats "$1" | cut -d' ' -f1; }
ratio() { awk "BEGIN { if ($2 > 0) printf \"%.2f\", $1 / $2; else print \"-\" }"; }

best_rt=$(printf '%s\n' "$(med rt_luv)" "$(med rt_cqueues)" | sort -g | tail -1)
{
  echo "# Several states on OS threads"
  echo
  echo "\`bash bench/states.sh\` on $(date -u +%Y-%m-%d), $REPEAT runs per figure, median (min-max);"
  echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores."
  echo
  echo "| figure | LuaAsio | luv | cqueues | LuaAsio / best peer |"
  echo "|---|---:|---:|---:|---:|"
  echo "| cross-state round trips/s (small value there and back) | $(fmt rt_asio) | $(fmt rt_luv) | $(fmt rt_cqueues) | $(ratio "$(med rt_asio)" "$best_rt") |"
  echo "| offload round trips/s (empty function; luv: queue_work) | $(fmt off_asio) | $(fmt off_luv) | - | $(ratio "$(med off_asio)" "$(med off_luv)") |"
  echo "| thread spawn + join per second | $(fmt sj_asio) | $(fmt sj_luv) | - | $(ratio "$(med sj_asio)" "$(med sj_luv)") |"
  echo
  echo "| shared channel, one producer state, one consumer | 16-byte strings, msgs/s | small tables, msgs/s |"
  echo "|---|---:|---:|"
  for cap in 0 1 256; do
    echo "| capacity $cap | $(fmt "ow_${cap}_str16") | $(fmt "ow_${cap}_table") |"
  done
  echo
  echo "CPU-bound offload jobs (200 jobs of ~400k iterations): 1 worker $(fmt scale_1) jobs/s, 2 workers $(fmt scale_2) jobs/s, scaling $(ratio "$(med scale_2)" "$(med scale_1)")x."
} > "$OUT"
cat "$OUT"
