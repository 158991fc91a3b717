#!/usr/bin/env bash
# asio.ws echo against a Node ws server and a C++ server written directly on Boost.Beast: the same
# C++ Beast load generator (bench/ws/loadgen.cpp, one thread) drives each, pinned to core 0, the
# server to core 1. For 64-byte and 64 KiB binary messages over 1 and 100 connections: echoes per
# second and the server's CPU time per echo (user+system from /proc), REPEAT runs of DUR seconds,
# medians. Node's ws comes from npm (under ~/.cache/lasio-node, as the specs install it).
#   bash bench/ws/run.sh                 (DUR=5 REPEAT=3 by default)
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${DUR:-5}
REPEAT=${REPEAT:-3}
. bench/ws/common.sh
out=$ws_bench_out
mkdir -p "$out"
[ -f "$ws_node_modules/ws/package.json" ] || npm install --no-audit --no-fund --prefix "${ws_node_modules%/node_modules}" ws >/dev/null
for prog in beast_echo loadgen; do
  if [ ! -x "$out/$prog" ] || [ "bench/ws/$prog.cpp" -nt "$out/$prog" ]; then
    g++ -O2 -DNDEBUG -std=c++17 "bench/ws/$prog.cpp" -o "$out/$prog" -lpthread
  fi
done

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

printf '%-6s %6s %6s %12s %12s\n' server size conns echoes/s cpu_us/echo
for size in 64 65536; do
  for conns in 1 100; do
    for name in asio node beast; do
      rates=() cpus=()
      for _ in $(seq "$REPEAT"); do
        read -r r c < <(ws_one "$name" "$conns" "$size")
        rates+=("$r") cpus+=("$c")
      done
      printf '%-6s %6s %6s %12s %12s\n' "$name" "$size" "$conns" \
        "$(printf '%s\n' "${rates[@]}" | median)" "$(printf '%s\n' "${cpus[@]}" | median)"
    done
  done
done
