#!/usr/bin/env bash
# A/B of asio.ws's echo between two checkouts (each built with ./build.sh), with Beast's echo
# beside them, runs alternating so the machine's drift falls on both: server CPU per echo and
# echoes/s, medians and ranges. The load generator and Beast come from bench/ws/run.sh's build.
#   bash bench/ws/ab.sh BASE_DIR NEW_DIR [CONNS=100] [SIZE=64] [RUNS=5]
set -uo pipefail
base=$1 new=$2 conns=${3:-100} size=${4:-64} runs=${5:-5}
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/bench/ws/common.sh"
[ -x "$ws_bench_out/loadgen" ] && [ -x "$ws_bench_out/beast_echo" ] || { echo "run bash bench/ws/run.sh once first" >&2; exit 1; }
DUR=${DUR:-3}
for _ in $(seq "$runs"); do
  for v in base new beast; do
    d=$base; [ "$v" = new ] && d=$new
    server=asio; [ "$v" = beast ] && server=beast
    read -r rate cpu < <(ws_one "$server" "$conns" "$size" "$d") || continue
    echo "$v $cpu $rate"
  done
done | sort -k1,1 -k2,2n | awk '
  { k = $1; cpu[k, ++n[k]] = $2; rate[k, n[k]] = $3 }
  END {
    for (k in n) {
      m = int((n[k] + 1) / 2)
      printf "%s: cpu_us/echo median %s (%s - %s), echoes/s of that run %s\n", k, cpu[k, m], cpu[k, 1], cpu[k, n[k]], rate[k, m]
    }
  }'
