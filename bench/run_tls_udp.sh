#!/usr/bin/env bash
# TLS and UDP benchmarks: LuaAsio against a raw C++ Boost.Asio ssl echo server (TLS echo round
# trips, throughput and handshakes per second) and against luv (UDP datagram round trips).
#
#   bash bench/run_tls_udp.sh
#
# Environment: BENCH_SECONDS (3), BENCH_REPEAT (3: each cell is the median of that many
# interleaved runs), BENCH_SERVER_CPU (1), BENCH_CLIENT_CPU (0).
# Servers and the load generator are pinned to different cores; every ratio compares figures
# taken in the same run, one after the other. Prints a Markdown table; the raw lines go to
# bench/out/tls_udp.log.
set -u

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
OUT="$BENCH_DIR/out"
SECS=${BENCH_SECONDS:-3}
REPEAT=${BENCH_REPEAT:-3}
SCPU=${BENCH_SERVER_CPU:-1}
CCPU=${BENCH_CLIENT_CPU:-0}
LOG="$OUT/tls_udp.log"
mkdir -p "$OUT/tls"
: > "$LOG"

if [ -f "$ROOT/build/release/asio/core.so" ]; then CPATH_DIR="$ROOT/build/release"; else CPATH_DIR="$ROOT/build"; fi
export LUA_PATH="$ROOT/lua/?.lua;$ROOT/lua/?/init.lua;;"
export LUA_CPATH="$CPATH_DIR/?.so;;"
luajit -e "require 'asio'" 2>/dev/null || { echo "the asio module does not load from $CPATH_DIR (build it first)"; exit 1; }
HAVE_LUV=1
luajit -e "require 'luv'" 2>/dev/null || HAVE_LUV=0

build() {
  local src=$1 bin=$2
  if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ]; then
    echo "building $(basename "$bin")" >&2
    g++ -O2 -std=c++17 -o "$bin" "$src" -lssl -lcrypto -pthread || exit 1
  fi
}
build "$BENCH_DIR/loadgen_tls_udp.cpp" "$OUT/loadgen_tls_udp"
build "$BENCH_DIR/echo_raw_tls.cpp" "$OUT/echo_raw_tls"

# ECDSA P-256 certificates, made once.
T="$OUT/tls"
if [ ! -f "$T/server.crt" ]; then
  (cd "$T" &&
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key &&
    openssl req -x509 -new -key ca.key -subj "/CN=bench CA" -days 30 -out ca.crt \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" &&
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out server.key &&
    openssl req -new -key server.key -subj "/CN=localhost" -out server.csr &&
    printf "subjectAltName=DNS:localhost,IP:127.0.0.1\n" > server.ext &&
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
      -out server.crt -extfile server.ext) >/dev/null 2>&1 || { echo "certificate generation failed"; exit 1; }
fi

SPID=""
trap 'stop_server' EXIT
stop_server() { [ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null; SPID=""; }

start_server() {   # start_server CMD... ; sets SPID and SPORT
  local portfile i
  portfile=$(mktemp)
  taskset -c "$SCPU" "$@" > "$portfile" 2>> "$OUT/tls_udp.err" &
  SPID=$!
  for i in $(seq 100); do [ -s "$portfile" ] && break; sleep 0.05; done
  SPORT=$(head -1 "$portfile" | tr -dc 0-9)
  rm -f "$portfile"
  [ -n "$SPORT" ]
}

server_cmd() {
  case $1 in
    asio-tls) CMD=(luajit "$BENCH_DIR/tls_udp.lua" tls-server "$T/server.crt" "$T/server.key") ;;
    raw-tls) CMD=("$OUT/echo_raw_tls" "$T/server.crt" "$T/server.key") ;;
    asio-udp) CMD=(luajit "$BENCH_DIR/tls_udp.lua" udp-server) ;;
    luv-udp) CMD=(luajit "$BENCH_DIR/tls_udp.lua" luv-udp-server) ;;
  esac
}

# figure SERVER LOADGEN-ARGS... -> prints "ops_per_s server_cpu_us_per_op" (or "fail fail")
figure() {
  local server=$1 line rate cpu
  shift
  server_cmd "$server"
  if ! start_server "${CMD[@]}"; then stop_server; echo "fail fail"; return; fi
  line=$(timeout $((${SECS%.*} + 30)) taskset -c "$CCPU" "$OUT/loadgen_tls_udp" "$@" --port "$SPORT" \
           --ca "$T/ca.crt" --seconds "$SECS" --server-pid "$SPID" 2>> "$OUT/tls_udp.err")
  stop_server
  echo "$server $* :: $line" >> "$LOG"
  rate=$(printf '%s\n' "$line" | tr ' ' '\n' | sed -n 's/^ops_per_s=//p')
  cpu=$(printf '%s\n' "$line" | tr ' ' '\n' | sed -n 's/^server_cpu_us_per_op=//p')
  if [ -z "$rate" ] || ! printf '%s' "$line" | grep -q 'errors=0 mismatches=0'; then rate=fail; fi
  echo "${rate:-fail} ${cpu:-n/a}"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a+0 > 0 && b+0 > 0) printf "%.2f", a / b; else print "n/a" }'; }

median() { tr ' ' '\n' | grep -E '^[0-9.]+$' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "fail"; else print v[int((NR + 1) / 2)] }'; }

row() {   # row LABEL UNIT SERVER_A SERVER_B LOADGEN-ARGS...  (median of BENCH_REPEAT interleaved runs)
  local label=$1 unit=$2 a=$3 b=$4 i r c ras="" cas="" rbs="" cbs=""
  shift 4
  for i in $(seq "$REPEAT"); do
    read -r r c <<< "$(figure "$a" "$@")"; ras="$ras $r"; cas="$cas $c"
    read -r r c <<< "$(figure "$b" "$@")"; rbs="$rbs $r"; cbs="$cbs $c"
  done
  local ra rb ca cb
  ra=$(echo $ras | median); rb=$(echo $rbs | median); ca=$(echo $cas | median); cb=$(echo $cbs | median)
  printf '| %s | %s | %s (%s us) | %s (%s us) | %s |\n' "$label" "$unit" "$ra" "$ca" "$rb" "$cb" "$(ratio "$ra" "$rb")"
}

echo "TLS: LuaAsio vs raw C++ Boost.Asio ssl (server pinned to CPU $SCPU, load on CPU $CCPU, ${SECS}s per figure, median of $REPEAT)"
echo
echo "| figure | unit | asio (server CPU per op) | raw C++ (server CPU per op) | asio / raw |"
echo "| --- | --- | --- | --- | --- |"
row "echo 64 B, 1 connection" "round trips/s" asio-tls raw-tls tls-pingpong --conns 1 --size 64
row "echo 64 B, 100 connections" "round trips/s" asio-tls raw-tls tls-pingpong --conns 100 --size 64
row "echo 16 KiB, 10 connections" "round trips/s" asio-tls raw-tls tls-pingpong --conns 10 --size 16384
row "full handshakes, 16 in flight" "handshakes/s" asio-tls raw-tls tls-handshakes --inflight 16
echo
if [ "$HAVE_LUV" = 1 ]; then
  echo "UDP: LuaAsio vs luv (datagram echo round trips)"
  echo
  echo "| figure | unit | asio (server CPU per op) | luv (server CPU per op) | asio / luv |"
  echo "| --- | --- | --- | --- | --- |"
  row "64 B, 1 flow" "round trips/s" asio-udp luv-udp udp-pingpong --flows 1 --size 64
  row "64 B, 64 flows" "round trips/s" asio-udp luv-udp udp-pingpong --flows 64 --size 64
  row "1200 B, 64 flows" "round trips/s" asio-udp luv-udp udp-pingpong --flows 64 --size 1200
else
  echo "UDP: luv is not installed (Debian package lua-luv); the comparison is skipped"
fi
