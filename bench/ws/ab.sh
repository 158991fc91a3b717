#!/usr/bin/env bash
# A/B of asio.ws's echo between two checkouts (each built with ./build.sh), with Beast's echo
# beside them, runs alternating so the machine's drift falls on both: server CPU per echo and
# echoes/s, medians and ranges. The load generator and Beast come from bench/ws/run.sh's build.
#   bash bench/ws/ab.sh BASE_DIR NEW_DIR [CONNS=100] [SIZE=64] [RUNS=5]
set -uo pipefail
base=$1 new=$2 conns=${3:-100} size=${4:-64} runs=${5:-5}
here=$(cd "$(dirname "$0")/../.." && pwd)
out=$here/build/bench-ws
[ -x "$out/loadgen" ] && [ -x "$out/beast_echo" ] || { echo "run bash bench/ws/run.sh once first" >&2; exit 1; }
ticks=$(getconf CLK_TCK)
. "$here/bench/ws/common.sh"
DUR=${DUR:-3}
for _ in $(seq "$runs"); do
  for v in base new beast; do
    port=$((20000 + RANDOM % 20000))
    d=$base; [ "$v" = new ] && d=$new
    server=asio; [ "$v" = beast ] && server=beast
    ws_start_server "$server" "$port" "$d" || continue
    c0=$(ws_cpu_ticks "$pid")
    n=$(taskset -c 0 "$out/loadgen" "$port" "$conns" "$size" "$DUR")
    c1=$(ws_cpu_ticks "$pid")
    kill "$pid"
    wait "$pid" 2>/dev/null
    awk -v v="$v" -v n="$n" -v c=$((c1 - c0)) -v t="$ticks" -v d="$DUR" 'BEGIN { printf "%s %.2f %.0f\n", v, c / t / n * 1e6, n / d }'
  done
done | sort -k1,1 -k2,2n | awk '
  { k = $1; cpu[k, ++n[k]] = $2; rate[k, n[k]] = $3 }
  END {
    for (k in n) {
      m = int((n[k] + 1) / 2)
      printf "%s: cpu_us/echo median %s (%s - %s), echoes/s of that run %s\n", k, cpu[k, m], cpu[k, 1], cpu[k, n[k]], rate[k, m]
    }
  }'
