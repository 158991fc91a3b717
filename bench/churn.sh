#!/usr/bin/env bash
# Flat memory under connection churn. See bench/README.md ("Churn").
#
#   bash bench/churn.sh      (also: bash bench/run.sh churn)
#
# For each server, on a fresh process pinned to its core: R rounds of N connections opened (at
# most C connecting or echoing at once), each doing one verified echo, all held open, then all
# closed (loadgen churn); the server's VmRSS after each round, once it has closed its side. For
# the asio servers, asio._stats() after every round (a control connection) and once asio.run()
# has returned.
#
# Environment:
#   BENCH_CHURN_ROUNDS=100 BENCH_CHURN_CONNS=10000 BENCH_CHURN_INFLIGHT=256
#   BENCH_CHURN_SERVERS="asio asio_seed luv"   also: asio_gc, asio_seed_gc (a full collection
#                          in the server after each round: a diagnostic), asio_sysalloc and
#                          asio_seed_sysalloc (the same servers in a state made with the C
#                          library's allocator by bench/sysalloc_host.cpp), luv_coro, raw
#   BENCH_CHURN_CLOSE=rst  how the client closes; a list runs each: rst (SO_LINGER 0: a reset, no
#                          TIME_WAIT), fin (the server reads EOF and closes; the client's side sits
#                          in TIME_WAIT), mixed (every other connection)
#   BENCH_CHURN_SOURCES    client addresses 127.0.0.1..K (default 1 for rst, 16 for fin and mixed)
#   BENCH_CHURN_SETTLE=0.3 seconds between the server's last close and the RSS reading
#   BENCH_CHURN_REPEAT=1   runs per server (interleaved)
#   BENCH_SERVER_CPU=1 BENCH_CLIENT_CPU=0
#
# Writes bench/churn_results.md and bench/out/churn.log (every line the load generator printed).
set -u

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
OUT="$BENCH_DIR/out"
ROUNDS=${BENCH_CHURN_ROUNDS:-100}
CONNS=${BENCH_CHURN_CONNS:-10000}
INFLIGHT=${BENCH_CHURN_INFLIGHT:-256}
SERVERS=${BENCH_CHURN_SERVERS:-"asio asio_seed luv"}
CLOSE=${BENCH_CHURN_CLOSE:-rst}
SOURCES=${BENCH_CHURN_SOURCES:-1}   # fin and mixed: 16 unless set (see churn_run)
SETTLE=${BENCH_CHURN_SETTLE:-0.3}
REPEAT=${BENCH_CHURN_REPEAT:-1}
SCPU=${BENCH_SERVER_CPU:-1}
CCPU=${BENCH_CLIENT_CPU:-0}
ASIO_LUA_PATH="$ROOT/build/lua/?.lua;$ROOT/build/lua/?/init.lua;;"
ASIO_LUA_CPATH="$ROOT/build/?.so;;"
LOG="$OUT/churn.log"
LOADGEN="$OUT/loadgen"

mkdir -p "$OUT"
TMP=$(mktemp -d)
SPID=""
trap 'stop_server; rm -rf "$TMP"' EXIT

log() { echo "$*" >&2; }
kv() {   # kv "line" key -> value, or "fail"
  local v
  v=$(printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1)
  [ -n "$v" ] && echo "$v" || echo fail
}

# The same build rule as run.sh: compile when the binary is missing or older than its source.
build() {
  local src=$1 bin=$2; shift 2
  if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ]; then
    log "building $(basename "$bin")"
    g++ -O2 -std=c++17 -o "$bin" "$src" "$@" || { log "build of $src failed"; exit 1; }
  fi
}
build "$BENCH_DIR/loadgen.cpp" "$LOADGEN"
case " $SERVERS " in *" raw "*) build "$BENCH_DIR/echo_raw_asio.cpp" "$OUT/echo_raw_asio" -pthread ;; esac
case " $SERVERS " in *_sysalloc" "*)
  # shellcheck disable=SC2046 # pkg-config's words are separate arguments
  build "$BENCH_DIR/sysalloc_host.cpp" "$OUT/sysalloc_host" $(pkg-config --cflags --libs luajit) ;;
esac

# Each round holds CONNS connections open on both sides; the server gets the same limit.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((CONNS + 100)) ]; then
  log "ulimit -n is $(ulimit -n), too low for $CONNS connections"; exit 1
fi

server_cmd() {   # sets CMD to the command line of server $1
  local asio_env=(env "LUA_PATH=$ASIO_LUA_PATH" "LUA_CPATH=$ASIO_LUA_CPATH" luajit "$BENCH_DIR/echo_asio_churn.lua" 0)
  case $1 in
    asio|asio_gc) CMD=("${asio_env[@]}" direct) ;;
    asio_seed|asio_seed_gc) CMD=("${asio_env[@]}" seed) ;;
    asio_sysalloc|asio_seed_sysalloc) # the same server in a state on the C library's allocator
      CMD=(env "LUA_PATH=$ASIO_LUA_PATH" "LUA_CPATH=$ASIO_LUA_CPATH" "$OUT/sysalloc_host" "$BENCH_DIR/echo_asio_churn.lua" 0)
      if [ "$1" = asio_sysalloc ]; then CMD+=(direct); else CMD+=(seed); fi ;;
    luv) CMD=(luajit "$BENCH_DIR/echo_luv.lua") ;;
    luv_coro) CMD=(luajit "$BENCH_DIR/echo_luv_coro.lua") ;;
    raw) CMD=("$OUT/echo_raw_asio") ;;
    *) return 1 ;;
  esac
}

start_server() {   # sets SPID and SPORT; the server's stdout goes to $TMP/stdout
  local i
  server_cmd "$1" || { log "unknown server $1"; return 1; }
  : > "$TMP/stdout"
  taskset -c "$SCPU" "${CMD[@]}" > "$TMP/stdout" 2>> "$OUT/churn-$1.err" &
  SPID=$!
  for i in $(seq 100); do
    [ -s "$TMP/stdout" ] && break
    kill -0 "$SPID" 2>/dev/null || break
    sleep 0.05
  done
  SPORT=$(head -1 "$TMP/stdout" 2>/dev/null | tr -dc 0-9)
  [ -n "$SPORT" ] || { log "server $1 did not start (see $OUT/churn-$1.err)"; stop_server; return 1; }
}

stop_server() {
  if [ -n "$SPID" ]; then
    kill "$SPID" 2>/dev/null
    wait "$SPID" 2>/dev/null
    SPID=""
  fi
}

# Waits up to 10 s for the server to exit on its own (after churn-stop).
await_exit() {
  local i
  for i in $(seq 200); do
    kill -0 "$SPID" 2>/dev/null || { wait "$SPID" 2>/dev/null; SPID=""; return 0; }
    sleep 0.05
  done
  return 1
}

if ! LUA_PATH="$ASIO_LUA_PATH" LUA_CPATH="$ASIO_LUA_CPATH" luajit -e "require 'asio'" 2>/dev/null; then
  log "note: the asio module does not load (build it with ./build.sh); its rows are skipped"
  HAVE_ASIO=0
else
  HAVE_ASIO=1
fi

STATS_OK="threads=1 sockets=1 servers=1 timers=0 pending=1"   # taken inside the control connection
STATS_ZERO="threads=0 sockets=0 servers=0 timers=0 pending=0"
counts() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n 's/^[a-z]*=//p' | paste -sd/; }

# One run: server $2 on a fresh process, close mode $3; appends a row to $TMP/rows.
churn_run() {
  local rep=$1 s=$2 close=$3 extra=() sources=$SOURCES rc line stats bad live final shape heap halves r v
  case $s in asio*) extra=(--probe --stop) ;; esac
  case $s in *_gc) extra+=(--gc) ;; esac
  # fin leaves the client's side in TIME_WAIT: spread it over 16 source addresses unless told.
  [ "$close" != rst ] && [ -z "${BENCH_CHURN_SOURCES:-}" ] && sources=16
  start_server "$s" || { echo "$s|$close|$rep|fail|server did not start" >> "$TMP/rows"; return; }
  log "churn: run $rep/$REPEAT, $s, close $close: $ROUNDS rounds of $CONNS connections"
  echo "# run $rep server $s close $close" >> "$LOG"
  # A round takes about a second here; 20 s each is ample, and a hung run still ends.
  timeout $((ROUNDS * 20 + 60)) taskset -c "$CCPU" "$LOADGEN" churn --port "$SPORT" --server-pid "$SPID" \
    --rounds "$ROUNDS" --conns "$CONNS" --inflight "$INFLIGHT" --close "$close" --sources "$sources" \
    --settle "$SETTLE" --timeout 60 "${extra[@]}" < /dev/null > "$TMP/lg" 2>> "$OUT/loadgen.err"
  rc=$?
  cat "$TMP/lg" >> "$LOG"
  line=$(grep '^mode=churn' "$TMP/lg")
  stats="n/a"
  case $s in
    asio*)
      # Every round's probe and the stop request must see only the control connection itself,
      # the listener and its accept; once run() returned, nothing at all.
      bad=$(grep '^round=' "$TMP/lg" | grep -vc "probe_threads=1 probe_sockets=1 probe_servers=1 probe_timers=0 probe_pending=1")
      live=$(printf '%s\n' "$line" | grep -o 'live_threads=.*' | sed 's/live_//g')
      if await_exit; then
        final=$(grep '^stats ' "$TMP/stdout" | sed 's/^stats lua_kb=[0-9]* //')
      else
        final="server did not exit"
        stop_server
      fi
      stats="$(counts "${live:-none}") then $(counts "${final:-none}"), probes off in $bad rounds"
      if [ "$live" = "$STATS_OK" ] && [ "$final" = "$STATS_ZERO" ] && [ "$bad" = 0 ]; then
        stats="ok: $stats"
      else
        stats="FAIL: $stats"
      fi
      ;;
    *) stop_server ;;
  esac
  if [ $rc != 0 ] || [ -z "$line" ] || [ "$(kv "$line" errors)" != 0 ]; then
    log "  $s: FAILED (exit $rc): ${line:-no output}"
    echo "$s|$close|$rep|fail|$(kv "$line" error) rounds_done=$(kv "$line" rounds_done)" >> "$TMP/rows"
    return
  fi
  # RSS after rounds 1, 2, 10, 50 and the last, for the shape.
  shape=""
  for r in 1 2 10 50 "$ROUNDS"; do
    [ "$r" -le "$ROUNDS" ] || continue
    v=$(grep "^round=$r " "$TMP/lg" | tr ' ' '\n' | sed -n 's/^rss_kb=//p')
    shape="$shape${shape:+ / }${v:-?}"
  done
  heap=$(grep '^round=' "$TMP/lg" | sed -n '1p;$p' | tr ' ' '\n' | sed -n 's/^heap_kb=//p' | paste -sd/ | sed 's|/| / |')
  # Growth within the run once it has warmed up: the highest RSS of the second half of the
  # rounds over the highest of the first half (a plateau gives 1.00, a leak keeps climbing).
  halves=$(grep '^round=' "$TMP/lg" | tr ' ' '\n' | sed -n 's/^rss_kb=//p' | awk -v n="$ROUNDS" '
    { if (NR <= n / 2) { if ($1 > a) a = $1 } else { if ($1 > b) b = $1 } }
    END { if (a > 0 && b > 0) printf "%.4f", b / a; else print "n/a" }')
  echo "$s|$close|$rep|ok|$(kv "$line" rounds_done)|$(kv "$line" conns)|$(kv "$line" rss_first_kb)|$(kv "$line" rss_last_kb)|$(kv "$line" rss_max_kb)|$(kv "$line" last_over_first)|$(kv "$line" max_over_first)|$halves|$shape|$(kv "$line" open_rss_first_kb) / $(kv "$line" open_rss_max_kb)|$heap|$stats" >> "$TMP/rows"
  log "  $s: RSS first $(kv "$line" rss_first_kb) kB, last $(kv "$line" rss_last_kb) kB, max $(kv "$line" rss_max_kb) kB; $stats"
}

: > "$LOG"
: > "$TMP/rows"
START=$(date +%s)
LOAD_START=$(cut -d" " -f1 /proc/loadavg)
for rep in $(seq "$REPEAT"); do
  for close in $CLOSE; do
    for s in $SERVERS; do
      case $s in asio*) [ $HAVE_ASIO = 1 ] || continue ;; esac
      churn_run "$rep" "$s" "$close"
    done
  done
done
ELAPSED=$(( $(date +%s) - START ))

{
  echo "# Churn: memory after rounds of connections opened, used and closed"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores, Linux $(uname -r), $(luajit -v | cut -d' ' -f1-2)."
  echo "Produced by \`BENCH_CHURN_ROUNDS=$ROUNDS BENCH_CHURN_CONNS=$CONNS BENCH_CHURN_SERVERS=\"$SERVERS\" BENCH_CHURN_CLOSE=\"$CLOSE\" BENCH_CHURN_REPEAT=$REPEAT bash bench/churn.sh\`"
  echo "(at most $INFLIGHT connections connecting or echoing at once; 64-byte echo each; settle ${SETTLE} s); server on core $SCPU, load generator on core $CCPU; run took ${ELAPSED} s, 1-min load average before it $LOAD_START. Every round: bench/out/churn.log."
  echo
  echo "RSS is the server's VmRSS once it has closed its side of every connection of the round; the target is last/first and max/first at most 1.05. \"open\" is VmRSS with the round's connections all open. heap is the part of RSS in the main malloc arena (C++ objects, Asio state; LuaJIT allocates its own heap with mmap), after round 1 / after the last."
  echo "asio._stats() is threads/sockets/servers/timers/pending, first as the churn-stop request saw it after the last round (expected 1/1/1/0/1: the control connection's own light thread and socket, the listener and its accept in flight), then after asio.run() returned (expected 0/0/0/0/0); the churn-probe after every round must also see 1/1/1/0/1. _gc rows: the server ran two full collections after each round, before the RSS reading (a diagnostic, not the figure)."
  echo
  echo "| server | close | run | rounds | conns/round | RSS first / last / max (kB) | last/first | max/first | max 2nd half / max 1st half | RSS after rounds 1 / 2 / 10 / 50 / last (kB) | open RSS first / max (kB) | heap first / last (kB) | asio._stats() |"
  echo "|---|---|---:|---:|---:|---|---:|---:|---:|---|---|---|---|"
  while IFS='|' read -r s close rep st rounds conns first last max lf mf halves shape open heap stats; do
    if [ "$st" != ok ]; then
      echo "| $s | $close | $rep | fail: $rounds | | | | | | | | | |"
    else
      echo "| $s | $close | $rep | $rounds | $conns | $first / $last / $max | $lf | $mf | $halves | $shape | $open | $heap | $stats |"
    fi
  done < "$TMP/rows"
} > "$TMP/churn.md"
cp "$TMP/churn.md" "$BENCH_DIR/churn_results.md"
cat "$TMP/churn.md"
