#!/usr/bin/env bash
# A/B of two builds on the figures a change of the core must not lower: light-thread switches
# and spawns, bytes per sleeping light thread, 100-connection ping-pong and the connect rate
# (with server CPU per round trip and per connection), in alternating runs so that both see the
# same machine. Each directory is a checkout with a release build (build/release, staged into
# build/ by ./build.sh build or tools/common.sh's stage_release).
#
#   bash bench/ab_core.sh OLD_DIR NEW_DIR [ROUNDS]      (default 3 rounds)
#
# Prints one line per figure and build with its values over the rounds, in run order.
set -eu
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OLD=$(cd "$1" && pwd)
NEW=$(cd "$2" && pwd)
ROUNDS=${3:-3}
OUT="$BENCH_DIR/out"
mkdir -p "$OUT"
if [ ! -x "$OUT/loadgen" ] || [ "$BENCH_DIR/loadgen.cpp" -nt "$OUT/loadgen" ]; then
  g++ -O2 -std=c++17 -o "$OUT/loadgen" "$BENCH_DIR/loadgen.cpp"
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

threads() { # DIR TEST: one line of bench/threads.lua, the build's own copy of the script
  LUA_PATH="$1/lua/?.lua;$1/lua/?/init.lua;;" LUA_CPATH="$1/build/release/?.so;;" \
    taskset -c 1 luajit "$1/bench/threads.lua" asio "$2" 2
}
net() { # DIR SCRIPT MODE ARGS...: a loadgen run against the build's echo server
  local dir=$1 script=$2 mode=$3 spid port
  shift 3
  LUA_PATH="$dir/lua/?.lua;$dir/lua/?/init.lua;;" LUA_CPATH="$dir/build/release/?.so;;" \
    taskset -c 1 luajit "$dir/bench/$script" 0 > "$TMP/port" 2>/dev/null &
  spid=$!
  for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
  port=$(head -1 "$TMP/port" | tr -dc 0-9)
  taskset -c 0 "$OUT/loadgen" "$mode" --port "$port" --seconds 3 --server-pid "$spid" "$@" || true
  kill "$spid" 2>/dev/null || true
  wait "$spid" 2>/dev/null || true
  : > "$TMP/port"
}
pick() { # KEY...: the values of those keys in a key=value line on stdin
  local line
  line=$(cat)
  for key in "$@"; do printf '%s=%s ' "$key" "$(echo "$line" | grep -o "\b$key=[^ ]*" | cut -d= -f2)"; done
}

for round in $(seq "$ROUNDS"); do
  for dir in "$OLD" "$NEW"; do
    name=$([ "$dir" = "$OLD" ] && echo old || echo new)
    echo "$name switch $(threads "$dir" switch | pick switches_per_s)" >> "$TMP/lines"
    echo "$name spawn $(threads "$dir" spawn | pick spawns_per_s)" >> "$TMP/lines"
    echo "$name sleepmem $(threads "$dir" sleepmem | pick gc_bytes_per_thread rss_bytes_per_thread)" >> "$TMP/lines"
    echo "$name pingpong100 $(net "$dir" echo_asio.lua pingpong --conns 100 --size 64 | pick rtt_per_s server_cpu_us_per_rt)" >> "$TMP/lines"
    echo "$name accept $(net "$dir" echo_asio.lua accept --inflight 32 | pick conns_per_s server_cpu_us_per_conn)" >> "$TMP/lines"
    echo "$name accept_seed $(net "$dir" echo_asio_seed.lua accept --inflight 32 | pick conns_per_s server_cpu_us_per_conn)" >> "$TMP/lines"
  done
done
# One line per build, figure and key, its values in run order.
awk '{ for (i = 3; i <= NF; i++) { split($i, kv, "="); k = $2 " " kv[1] " (" $1 ")"; v[k] = v[k] " " kv[2] } }
     END { for (k in v) print k ":" v[k] }' "$TMP/lines" | sort
