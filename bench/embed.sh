#!/usr/bin/env bash
# Figures for hosts that embed the module (issue: embedding), beside luv and cqueues:
#  - the CPU cost of one poll with nothing ready at 0, 1,000 and 10,000 idle connections
#    (asio.poll, luv's uv.run('nowait'), cqueues' step(0); clients in another process);
#  - request latency to a script in the 60 Hz game-loop host, woken by the loop's descriptor,
#    against the same host polling once a frame;
#  - stripped module sizes, with and without TLS, beside Debian's luv and cqueues.
#   bash bench/embed.sh      (after ./build.sh test, which builds build/release and build/router)
# Server on core BENCH_SERVER_CPU (1), clients on BENCH_CLIENT_CPU (0). Writes bench/embed_results.md.
set -uo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
OUT="$BENCH_DIR/out"
SCPU=${BENCH_SERVER_CPU:-1}
CCPU=${BENCH_CLIENT_CPU:-0}
REPEAT=${BENCH_REPEAT:-3}
mkdir -p "$OUT"
RES="$BENCH_DIR/embed_results.md"
export LUA_PATH="$ROOT/lua/?.lua;$ROOT/lua/?/init.lua;;" LUA_CPATH="$ROOT/build/release/?.so;;"
[ -x "$ROOT/build/release/embed/game_loop" ] || { echo "build first: ./build.sh test (or cmake -DLASIO_BUILD_TESTS=ON)" >&2; exit 1; }
if [ ! -x "$OUT/loadgen" ] || [ "$BENCH_DIR/loadgen.cpp" -nt "$OUT/loadgen" ]; then
  g++ -O2 -std=c++17 -o "$OUT/loadgen" "$BENCH_DIR/loadgen.cpp" || exit 1
fi

# poll_figure IMPL CONNS: one line of poll_cost.lua, with CONNS idle clients held by loadgen.
poll_figure() {
  local impl=$1 n=$2 port line spid hold
  rm -f "$OUT/poll.port"
  taskset -c "$SCPU" luajit "$BENCH_DIR/poll_cost.lua" "$impl" "$n" 200000 > "$OUT/poll.port" 2>>"$OUT/embed.err" &
  spid=$!
  for _ in $(seq 100); do [ -s "$OUT/poll.port" ] && break; sleep 0.05; done
  port=$(head -1 "$OUT/poll.port")
  hold=""
  if [ "$n" -gt 0 ]; then
    # loadgen holds its connections until its stdin closes; killed below once the figure is in.
    taskset -c "$CCPU" "$OUT/loadgen" idle --port "$port" --conns "$n" --timeout 60 < <(sleep 150) \
      >/dev/null 2>>"$OUT/embed.err" &
    hold=$!
  fi
  timeout 150 tail --pid="$spid" -f /dev/null
  [ -n "$hold" ] && kill "$hold" 2>/dev/null
  wait "$spid" 2>/dev/null
  line=$(grep -o 'ns_per_poll=[0-9]*' "$OUT/poll.port" | cut -d= -f2)
  echo "${line:-fail}"
}

latency_figure() { # MODE: fd | frame-only
  local port line hpid
  rm -f "$OUT/game.port"
  taskset -c "$SCPU" "$ROOT/build/release/embed/game_loop" "$ROOT/examples/embed/game_server.lua" 100000 \
    "$([ "$1" = frame-only ] && echo frame-only || echo fd)" > "$OUT/game.port" 2>>"$OUT/embed.err" &
  hpid=$!
  for _ in $(seq 100); do [ -s "$OUT/game.port" ] && break; sleep 0.05; done
  port=$(head -1 "$OUT/game.port")
  line=$(taskset -c "$CCPU" luajit "$BENCH_DIR/game_latency.lua" "$port" 300 2>>"$OUT/embed.err")
  kill "$hpid" 2>/dev/null; wait "$hpid" 2>/dev/null
  echo "$line"
}

impls=${BENCH_POLL_IMPLS:-asio luv}
[ -n "${BENCH_POLL_IMPLS:-}" ] || ! luajit -e "require 'cqueues'" 2>/dev/null || impls="$impls cqueues"
{
  echo "# Embedding figures"
  echo
  echo "Produced by \`bash bench/embed.sh\` ($REPEAT runs; each cell: median, then min-max). Server on core $SCPU, clients on core $CCPU."
  echo
  echo "## One poll with nothing ready (ns), by idle connections"
  echo
  echo "| implementation | 0 | 1,000 | 10,000 |"
  echo "|---|---:|---:|---:|"
} > "$RES"
for impl in $impls; do
  row="| $impl"
  for n in 0 1000 10000; do
    vals=()
    for _ in $(seq "$REPEAT"); do vals+=("$(poll_figure "$impl" "$n")"); done
    row="$row | $(printf '%s\n' "${vals[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%s (%s-%s)", a[int((NR+1)/2)], a[1], a[NR]}')"
  done
  echo "$row |" >> "$RES"
  echo "$row |"
done
{
  echo
  echo "## Request round trip to a script in the 60 Hz game loop (µs)"
  echo
  echo "| host | p50 | p99 |"
  echo "|---|---:|---:|"
} >> "$RES"
for mode in fd frame-only; do
  p50=(); p99=()
  for _ in $(seq "$REPEAT"); do
    line=$(latency_figure "$mode")
    p50+=("$(echo "$line" | grep -o 'rtt_p50_us=[0-9]*' | cut -d= -f2)")
    p99+=("$(echo "$line" | grep -o 'rtt_p99_us=[0-9]*' | cut -d= -f2)")
  done
  med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "%s (%s-%s)", a[int((NR+1)/2)], a[1], a[NR]}'; }
  label=$([ "$mode" = fd ] && echo "woken by luaasio_fd and the next deadline" || echo "polled once a frame")
  echo "| $label | $(med "${p50[@]}") | $(med "${p99[@]}") |" | tee -a "$RES"
done
{
  echo
  echo "## Stripped sizes (bytes)"
  echo
  echo "| module | size |"
  echo "|---|---:|"
  size_of() { strip -s -o "$OUT/stripped.so" "$1" && wc -c < "$OUT/stripped.so"; }
  [ -f "$ROOT/build/router/asio/core.so" ] && echo "| asio/core.so, router size (no TLS) | $(wc -c < "$ROOT/build/router/asio/core.so") |"
  echo "| asio/core.so, release | $(size_of "$ROOT/build/release/asio/core.so") |"
  [ -f "$ROOT/build/release/asio/tls.so" ] && echo "| asio/tls.so, release | $(size_of "$ROOT/build/release/asio/tls.so") |"
  luv=$(readlink -f /usr/lib/x86_64-linux-gnu/lua/5.1/luv.so 2>/dev/null)
  uv=$(readlink -f /usr/lib/x86_64-linux-gnu/libuv.so.1 2>/dev/null)
  [ -n "$luv" ] && echo "| Debian luv.so | $(wc -c < "$luv") |"
  [ -n "$uv" ] && echo "| Debian libuv.so.1 | $(wc -c < "$uv") |"
  cq=$(find /usr/lib -name '_cqueues.so' 2>/dev/null | grep 5.1 | head -1)
  [ -n "$cq" ] && echo "| Debian _cqueues.so | $(wc -c < "$cq") |"
} >> "$RES"
cat "$RES"
