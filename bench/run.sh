#!/usr/bin/env bash
# LuaAsio benchmark suite. See bench/README.md.
#
#   bash bench/run.sh [net] [threads] [channel]      (default: all three)
#
# Environment:
#   BENCH_SECONDS=3        measured seconds per figure (after a 0.5 s warm-up)
#   BENCH_REPEAT=1         repeat every figure N times, report the median
#   BENCH_SERVERS="asio raw luv luv_coro cqueues copas"   echo servers to run
#   BENCH_IMPLS="asio luv cqueues"                        for threads / channel
#   BENCH_IDLE_CONNS=10000 connections for the large idle-memory figure
#   BENCH_SERVER_CPU=1 BENCH_CLIENT_CPU=0                 cores to pin to
#
# Writes bench/results.md (the tables), bench/out/raw.txt (every value) and
# bench/out/*.log (every line the tools printed).
set -u

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
OUT="$BENCH_DIR/out"
SECONDS_PER=${BENCH_SECONDS:-3}
REPEAT=${BENCH_REPEAT:-1}
SERVERS=${BENCH_SERVERS:-"asio raw luv luv_coro cqueues copas"}
IMPLS=${BENCH_IMPLS:-"asio luv cqueues"}
IDLE_CONNS=${BENCH_IDLE_CONNS:-10000}
SCPU=${BENCH_SERVER_CPU:-1}
CCPU=${BENCH_CLIENT_CPU:-0}
WARMUP=0.5

SECTIONS=("$@")
[ ${#SECTIONS[@]} -eq 0 ] && SECTIONS=(net threads channel)

ASIO_LUA_PATH="$ROOT/build/lua/?.lua;$ROOT/build/lua/?/init.lua;;"
ASIO_LUA_CPATH="$ROOT/build/?.so;;"

mkdir -p "$OUT"
RAW="$OUT/raw.txt"
LOG="$OUT/run.log"
: > "$RAW"
: > "$LOG"
TMP=$(mktemp -d)
SPID=""
trap 'stop_server; rm -rf "$TMP"' EXIT

log() { echo "$*" | tee -a "$LOG" >&2; }
record() { echo "$1 $2 $3 $4 $5" >> "$RAW"; }   # section rep column row value
# kv "line" key -> value of key=value in line, or "fail"
kv() {
  local v
  v=$(printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1)
  [ -n "$v" ] && [ "$v" != NA ] && echo "$v" || echo fail
}

# ------------------------------------------------------------------- build
build() {
  local src=$1 bin=$2; shift 2
  if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ]; then
    log "building $(basename "$bin")"
    g++ -O2 -std=c++17 -o "$bin" "$src" "$@" || { log "build of $src failed"; exit 1; }
  fi
}
build "$BENCH_DIR/loadgen.cpp" "$OUT/loadgen"
build "$BENCH_DIR/echo_raw_asio.cpp" "$OUT/echo_raw_asio" -pthread
LOADGEN="$OUT/loadgen"

# ------------------------------------------------------------------- limits
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((IDLE_CONNS + 100)) ]; then
  log "warning: ulimit -n is $(ulimit -n), too low for $IDLE_CONNS idle connections"
fi

asio_available() {
  LUA_PATH="$ASIO_LUA_PATH" LUA_CPATH="$ASIO_LUA_CPATH" luajit -e "require 'asio'" 2>/dev/null
}
if asio_available; then HAVE_ASIO=1; else HAVE_ASIO=0; log "note: the asio module does not load (build it with ./build.sh); its columns are n/a"; fi

# ------------------------------------------------------------------- servers
server_cmd() {
  case $1 in
    asio) echo "env LUA_PATH=$ASIO_LUA_PATH LUA_CPATH=$ASIO_LUA_CPATH luajit $BENCH_DIR/echo_asio.lua" ;;
    raw) echo "$OUT/echo_raw_asio" ;;
    luv) echo "luajit $BENCH_DIR/echo_luv.lua" ;;
    luv_coro) echo "luajit $BENCH_DIR/echo_luv_coro.lua" ;;
    cqueues) echo "luajit $BENCH_DIR/echo_cqueues.lua" ;;
    copas) echo "luajit $BENCH_DIR/echo_copas.lua" ;;
    *) return 1 ;;
  esac
}

# start_server NAME: sets SPID and SPORT; returns 1 if it did not come up.
start_server() {
  local name=$1 cmd
  cmd=$(server_cmd "$name") || { log "unknown server $name"; return 1; }
  : > "$TMP/port"
  # set -f: the ';;' and '?' in LUA_PATH must not be globbed.
  set -f
  # shellcheck disable=SC2086
  taskset -c "$SCPU" $cmd > "$TMP/port" 2>> "$OUT/server-$name.err" &
  SPID=$!
  set +f
  local i
  for i in $(seq 100); do
    [ -s "$TMP/port" ] && break
    kill -0 "$SPID" 2>/dev/null || break
    sleep 0.05
  done
  SPORT=$(head -1 "$TMP/port" 2>/dev/null | tr -dc 0-9)
  if [ -z "$SPORT" ]; then
    log "server $name did not start (see $OUT/server-$name.err)"
    stop_server
    return 1
  fi
  return 0
}

stop_server() {
  if [ -n "$SPID" ]; then
    kill "$SPID" 2>/dev/null
    wait "$SPID" 2>/dev/null
    SPID=""
  fi
}

server_alive() { [ -n "$SPID" ] && kill -0 "$SPID" 2>/dev/null; }

# loadgen ARGS...: runs the load generator pinned, prints its line.
loadgen() {
  local line
  line=$(timeout $((${SECONDS_PER%.*} + 60)) taskset -c "$CCPU" "$LOADGEN" "$@" \
           --port "$SPORT" --server-pid "$SPID" --warmup "$WARMUP" < /dev/null 2>> "$OUT/loadgen.err")
  echo "$line"
}

net_figures() {   # rep server
  local rep=$1 s=$2 line n
  # Idle memory first, each on a fresh server, so that nothing else has
  # grown the heap before.
  for n in 1000 "$IDLE_CONNS"; do
    local row=idle10k
    [ "$n" = 1000 ] && row=idle1k
    if start_server "$s"; then
      line=$(loadgen idle --conns "$n" --no-hold --timeout 30)
      echo "$s $line" >> "$OUT/net.log"
      if [ "$(kv "$line" status)" = ready ]; then
        record net "$rep" "$s" "$row" "$(kv "$line" bytes_per_conn)"
      else
        record net "$rep" "$s" "$row" fail
      fi
      stop_server
    else
      record net "$rep" "$s" "$row" fail
    fi
  done

  start_server "$s" || {
    for row in pp1_rate pp1_p50 pp1_p99 pp1_cpu pp100_rate pp100_p99 pp100_cpu pp1000_rate \
               pp1000_p99 pp1000_cpu bulk_rate bulk_cpu accept_rate accept_cpu; do
      record net "$rep" "$s" "$row" fail
    done
    return
  }
  local spec mode conns rows
  for spec in "pingpong 1" "pingpong 100" "pingpong 1000" "bulk 1" "accept 32"; do
    read -r mode conns <<< "$spec"
    if ! server_alive; then
      log "  server $s died; restarting it"
      start_server "$s" || true
    fi
    case $mode in
      pingpong) line=$(loadgen pingpong --conns "$conns" --size 64 --seconds "$SECONDS_PER") ;;
      bulk) line=$(loadgen bulk --seconds "$SECONDS_PER") ;;
      accept) line=$(loadgen accept --inflight "$conns" --seconds "$SECONDS_PER") ;;
    esac
    echo "$s $line" >> "$OUT/net.log"
    local ok=1
    [ "$(kv "$line" errors)" = 0 ] && [ "$(kv "$line" mismatches)" = 0 ] || ok=0
    [ -n "$line" ] || ok=0
    if [ $ok = 0 ]; then
      log "  $s $mode $conns: FAILED: ${line:-no output}"
    fi
    val() { if [ $ok = 1 ]; then kv "$line" "$1"; else echo fail; fi; }
    case $mode in
      pingpong)
        record net "$rep" "$s" "pp${conns}_rate" "$(val rtt_per_s)"
        [ "$conns" = 1 ] && record net "$rep" "$s" "pp${conns}_p50" "$(val p50_us)"
        record net "$rep" "$s" "pp${conns}_p99" "$(val p99_us)"
        record net "$rep" "$s" "pp${conns}_cpu" "$(val server_cpu_us_per_rt)" ;;
      bulk)
        record net "$rep" "$s" bulk_rate "$(val mb_per_s)"
        record net "$rep" "$s" bulk_cpu "$(val server_cpu_us_per_mb)" ;;
      accept)
        record net "$rep" "$s" accept_rate "$(val conns_per_s)"
        record net "$rep" "$s" accept_cpu "$(val server_cpu_us_per_conn)" ;;
    esac
  done
  stop_server
}

run_net() {
  local rep s row
  for rep in $(seq "$REPEAT"); do
    for s in $SERVERS; do
      if [ "$s" = asio ] && [ $HAVE_ASIO = 0 ]; then
        for row in pp1_rate pp1_p50 pp1_p99 pp1_cpu pp100_rate pp100_p99 pp100_cpu pp1000_rate \
                   pp1000_p99 pp1000_cpu bulk_rate bulk_cpu accept_rate accept_cpu idle1k idle10k; do
          record net "$rep" asio "$row" n/a
        done
        continue
      fi
      log "net: run $rep/$REPEAT, server $s"
      net_figures "$rep" "$s"
    done
  done
}

# ------------------------------------------------------------------- threads / channel
run_lua() {   # runs a luajit bench script pinned; prints its line
  local line
  set -f
  if [ "$1" = asio ]; then
    shift
    line=$(LUA_PATH="$ASIO_LUA_PATH" LUA_CPATH="$ASIO_LUA_CPATH" \
             timeout 120 taskset -c "$SCPU" luajit "$@" 2>> "$OUT/lua.err" < /dev/null)
  else
    shift
    line=$(timeout 120 taskset -c "$SCPU" luajit "$@" 2>> "$OUT/lua.err" < /dev/null)
  fi
  set +f
  echo "$line"
}

run_threads() {
  local rep i t line
  for rep in $(seq "$REPEAT"); do
    for i in $IMPLS; do
      log "threads: run $rep/$REPEAT, $i"
      for t in switch spawn sleepmem timer; do
        line=$(run_lua "$i" "$BENCH_DIR/threads.lua" "$i" "$t" "$SECONDS_PER")
        echo "$line" >> "$OUT/threads.log"
        local na=""
        case $line in *status=unavailable*) na=n/a ;; esac
        v() { if [ -n "$na" ]; then echo n/a; else kv "$line" "$1"; fi; }
        case $t in
          switch) record threads "$rep" "$i" switch_rate "$(v switches_per_s)"
                  record threads "$rep" "$i" switch_cpu "$(v cpu_ns_per_switch)" ;;
          spawn) record threads "$rep" "$i" spawn_rate "$(v spawns_per_s)" ;;
          sleepmem) record threads "$rep" "$i" mem_gc "$(v gc_bytes_per_thread)"
                    record threads "$rep" "$i" mem_rss "$(v rss_bytes_per_thread)" ;;
          timer) record threads "$rep" "$i" timer_cpu "$(v cpu_us_per_sleep)" ;;
        esac
      done
    done
  done
}

run_channel() {
  local rep i cap line
  for rep in $(seq "$REPEAT"); do
    for i in $IMPLS; do
      log "channel: run $rep/$REPEAT, $i"
      for cap in 0 1 64; do
        line=$(run_lua "$i" "$BENCH_DIR/channel.lua" "$i" "$cap" "$SECONDS_PER")
        echo "$line" >> "$OUT/channel.log"
        local na=""
        case $line in *status=unavailable*) na=n/a ;; esac
        v() { if [ -n "$na" ]; then echo n/a; else kv "$line" "$1"; fi; }
        record channel "$rep" "$i" "cap$cap" "$(v msgs_per_s)"
        [ "$cap" != 1 ] && record channel "$rep" "$i" "cap${cap}_cpu" "$(v cpu_ns_per_msg)"
      done
    done
  done
}

START=$(date +%s)
rm -f "$OUT"/net.log "$OUT"/threads.log "$OUT"/channel.log "$OUT"/*.err
for sec in "${SECTIONS[@]}"; do
  case $sec in
    net) run_net ;;
    threads) run_threads ;;
    channel) run_channel ;;
    *) log "unknown section $sec (want net, threads, channel)"; exit 1 ;;
  esac
done
ELAPSED=$(( $(date +%s) - START ))

{
  echo "# LuaAsio benchmark results"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores, Linux $(uname -r), $(luajit -v | cut -d' ' -f1-2)."
  echo "BENCH_SECONDS=$SECONDS_PER, BENCH_REPEAT=$REPEAT, idle connections=$IDLE_CONNS, run took ${ELAPSED}s. Produced by \`bash bench/run.sh ${SECTIONS[*]}\`; see bench/README.md for the method."
  echo
  luajit "$BENCH_DIR/report.lua" "$RAW"
} > "$TMP/results.md"
cp "$TMP/results.md" "$BENCH_DIR/results.md"
cat "$BENCH_DIR/results.md"
