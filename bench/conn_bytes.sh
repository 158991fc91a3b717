#!/usr/bin/env bash
# What each byte of an idle connection is: N idle connections (default 10,000) on the echo
# server of bench/conn_bytes.lua, in the direct style (the accept handler reads) or the seed's
# (it spawns a light thread for that and returns). Prints the server's RSS growth per
# connection as bench/run.sh measures it, then the server's own report: Lua heap per connection
# before and after a full collection, live malloc blocks per connection by size (counted by
# bench/malloc_census.c, preloaded), and resident bytes per connection by mapping.
#
#   bash bench/conn_bytes.sh [direct|seed] [N] [BUILD_DIR [LUA_DIR]]   (default build/ and lua/)
set -eu
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
STYLE=${1:-direct}
N=${2:-10000}
BUILD=${3:-$ROOT/build}
LUA_DIR=${4:-$ROOT/lua}
OUT="$BENCH_DIR/out"
mkdir -p "$OUT"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -gt $((N + 100)) ] ||
  { echo "ulimit -n is $(ulimit -n): too low for $N connections" >&2; exit 1; }
if [ ! -x "$OUT/loadgen" ] || [ "$BENCH_DIR/loadgen.cpp" -nt "$OUT/loadgen" ]; then
  g++ -O2 -std=c++17 -o "$OUT/loadgen" "$BENCH_DIR/loadgen.cpp"
fi
if [ ! -f "$OUT/malloc_census.so" ] || [ "$BENCH_DIR/malloc_census.c" -nt "$OUT/malloc_census.so" ]; then
  gcc -O2 -shared -fPIC -o "$OUT/malloc_census.so" "$BENCH_DIR/malloc_census.c"
fi

TMP=$(mktemp -d)
SPID="" LPID=""
cleanup() {
  exec 3>&- 2>/dev/null || true
  [ -n "$LPID" ] && kill "$LPID" 2>/dev/null
  [ -n "$SPID" ] && kill "$SPID" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

LUA_PATH="$LUA_DIR/?.lua;$LUA_DIR/?/init.lua;;" LUA_CPATH="$BUILD/?.so;;" LD_PRELOAD="$OUT/malloc_census.so" \
  taskset -c 1 luajit "$BENCH_DIR/conn_bytes.lua" "$STYLE" "$N" > "$TMP/port" 2> "$TMP/report" &
SPID=$!
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
PORT=$(head -1 "$TMP/port" | tr -dc 0-9)
[ -n "$PORT" ] || { echo "the server did not start:" >&2; cat "$TMP/report" >&2; exit 1; }
mkfifo "$TMP/hold"
taskset -c 0 "$OUT/loadgen" idle --conns "$N" --port "$PORT" --server-pid "$SPID" --timeout 60 \
  < "$TMP/hold" > "$TMP/loadgen" &
LPID=$!
exec 3> "$TMP/hold" # the load generator holds its connections until this closes
wait "$SPID" || true
SPID=""
exec 3>&-
wait "$LPID" || true
LPID=""
echo "rss per connection (as bench/run.sh): $(sed -n 's/.*bytes_per_conn=\([0-9]*\).*/\1/p' "$TMP/loadgen")"
cat "$TMP/report"
