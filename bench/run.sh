#!/usr/bin/env bash
# LuaAsio benchmark suite. See bench/README.md.
#
#   bash bench/run.sh [net] [threads] [channel] [stream]   (default: all four)
#   bash bench/run.sh churn   memory after 100 rounds of 10,000 connections (bench/churn.sh,
#                             BENCH_CHURN_* settings; only when asked for: it takes minutes)
#
# Environment:
#   BENCH_SECONDS=3        measured seconds per figure (after a 0.5 s warm-up)
#   BENCH_REPEAT=1         repeat every figure N times, report the median
#   BENCH_SERVERS="asio asio_seed raw luv luv_coro cqueues copas"   echo servers to run
#                          (asio_seed: the accept handler spawns the connection's light thread)
#   BENCH_IMPLS="asio luv cqueues"                        for threads / channel
#   BENCH_IDLE_CONNS=10000 connections for the large idle-memory figure
#   BENCH_SERVER_CPU=1 BENCH_CLIENT_CPU=0                 cores to pin to
#   BENCH_STREAM_REPEAT=5 BENCH_STREAM_MIB=512            full-duplex streaming runs and size
#   BENCH_STREAM_SERVERS="asio asio_buf raw luv luv_coro" servers of the streaming figure
#                          (asio_buf: read_into/write_from through a string buffer)
#
# Writes bench/results.md (the tables), bench/out/raw.txt (every value) and
# bench/out/*.log (every line the tools printed).
set -u

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
OUT="$BENCH_DIR/out"
SECONDS_PER=${BENCH_SECONDS:-3}
REPEAT=${BENCH_REPEAT:-1}
SERVERS=${BENCH_SERVERS:-"asio asio_seed raw luv luv_coro cqueues copas"}
IMPLS=${BENCH_IMPLS:-"asio luv cqueues"}
IDLE_CONNS=${BENCH_IDLE_CONNS:-10000}
SCPU=${BENCH_SERVER_CPU:-1}
CCPU=${BENCH_CLIENT_CPU:-0}
WARMUP=0.5

SECTIONS=("$@")
[ ${#SECTIONS[@]} -eq 0 ] && SECTIONS=(net threads channel stream)
STREAM_REPEAT=${BENCH_STREAM_REPEAT:-5}
STREAM_MIB=${BENCH_STREAM_MIB:-512}
STREAM_SERVERS=${BENCH_STREAM_SERVERS:-"asio asio_buf raw luv luv_coro"}

ASIO_LUA_PATH="$ROOT/build/lua/?.lua;$ROOT/build/lua/?/init.lua;;"
ASIO_LUA_CPATH="$ROOT/build/?.so;;"

mkdir -p "$OUT"
RAW="$OUT/raw.txt"
LOG="$OUT/run.log"
: > "$RAW"
: > "$LOG"
TMP=$(mktemp -d)
SPID=""
declare -A PIDS=() PORTS=()
trap 'stop_server; stop_all; rm -rf "$TMP"' EXIT

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
server_cmd() {   # sets CMD to the command line of server $1
  case $1 in
    asio) CMD=(env "LUA_PATH=$ASIO_LUA_PATH" "LUA_CPATH=$ASIO_LUA_CPATH" luajit "$BENCH_DIR/echo_asio.lua") ;;
    asio_buf) CMD=(env "LUA_PATH=$ASIO_LUA_PATH" "LUA_CPATH=$ASIO_LUA_CPATH" luajit "$BENCH_DIR/echo_asio_buffer.lua") ;;
    asio_seed) CMD=(env "LUA_PATH=$ASIO_LUA_PATH" "LUA_CPATH=$ASIO_LUA_CPATH" luajit "$BENCH_DIR/echo_asio_seed.lua") ;;
    raw) CMD=("$OUT/echo_raw_asio") ;;
    luv) CMD=(luajit "$BENCH_DIR/echo_luv.lua") ;;
    luv_coro) CMD=(luajit "$BENCH_DIR/echo_luv_coro.lua") ;;
    cqueues) CMD=(luajit "$BENCH_DIR/echo_cqueues.lua") ;;
    copas) CMD=(luajit "$BENCH_DIR/echo_copas.lua") ;;
    *) return 1 ;;
  esac
}

# start_server NAME: sets SPID and SPORT; returns 1 if it did not come up.
start_server() {
  local name=$1 i
  server_cmd "$name" || { log "unknown server $name"; return 1; }
  : > "$TMP/port"
  taskset -c "$SCPU" "${CMD[@]}" > "$TMP/port" 2>> "$OUT/server-$name.err" &
  SPID=$!
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

NET_ROWS="pp1_rate pp1_p50 pp1_p99 pp1_cpu pp100_rate pp100_p99 pp100_cpu pp1000_rate pp1000_p99
          pp1000_cpu bulk_rate bulk_cpu accept_rate accept_cpu idle1k idle10k rss_start"

# One idle-memory figure on a fresh server process, so that memory freed by
# earlier figures (RSS does not shrink) cannot hide the cost.
idle_figure() {   # rep server conns row
  local rep=$1 s=$2 n=$3 row=$4 line
  if start_server "$s"; then
    line=$(loadgen idle --conns "$n" --no-hold --timeout 30)
    echo "$s $line" >> "$OUT/net.log"
    if [ "$(kv "$line" status)" = ready ]; then
      record net "$rep" "$s" "$row" "$(kv "$line" bytes_per_conn)"
      # The process after start-up and one listening server, before any connection.
      [ "$row" = idle1k ] && record net "$rep" "$s" rss_start "$(kv "$line" server_rss_before_kb)"
    else
      log "  $s idle $n: FAILED: ${line:-no output}"
      record net "$rep" "$s" "$row" fail
    fi
    stop_server
  else
    record net "$rep" "$s" "$row" fail
  fi
}

# One load figure against the (already running) server s.
load_figure() {   # rep server mode conns
  local rep=$1 s=$2 mode=$3 conns=$4 line ok=1
  SPID=${PIDS[$s]:-}
  SPORT=${PORTS[$s]:-}
  if [ -z "$SPID" ] || ! kill -0 "$SPID" 2>/dev/null; then
    [ -n "$SPID" ] && log "  server $s died; restarting it"
    if start_server "$s"; then PIDS[$s]=$SPID; PORTS[$s]=$SPORT; else SPID=""; fi
  fi
  if [ -n "$SPID" ]; then
    case $mode in
      pingpong) line=$(loadgen pingpong --conns "$conns" --size 64 --seconds "$SECONDS_PER") ;;
      bulk) line=$(loadgen bulk --seconds "$SECONDS_PER") ;;
      accept) line=$(loadgen accept --inflight "$conns" --seconds "$SECONDS_PER") ;;
    esac
  else
    line=""
  fi
  SPID=""   # the server stays up for the next figure; stop_server must not touch it
  echo "$s $line" >> "$OUT/net.log"
  [ -n "$line" ] && [ "$(kv "$line" errors)" = 0 ] && [ "$(kv "$line" mismatches)" = 0 ] || ok=0
  [ $ok = 0 ] && log "  $s $mode $conns: FAILED: ${line:-no output}"
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
}

stop_all() {
  local s
  for s in "${!PIDS[@]}"; do
    kill "${PIDS[$s]}" 2>/dev/null
    wait "${PIDS[$s]}" 2>/dev/null
    unset "PIDS[$s]"
  done
}

# Figures are interleaved: each figure is taken for every server in turn
# (all servers stay up, idle ones cost nothing), and the order of the servers
# rotates from one repeat to the next, so slow drifts of the machine hit all
# servers alike.
run_net() {
  local rep s row spec mode conns order=() all=() i
  for s in $SERVERS; do
    if [ "${s#asio}" != "$s" ] && [ $HAVE_ASIO = 0 ]; then
      for rep in $(seq "$REPEAT"); do
        for row in $NET_ROWS; do record net "$rep" "$s" "$row" n/a; done
      done
    else
      all+=("$s")
    fi
  done
  [ ${#all[@]} -eq 0 ] && return
  for rep in $(seq "$REPEAT"); do
    order=()
    for i in "${!all[@]}"; do order+=("${all[$(( (i + rep - 1) % ${#all[@]} ))]}"); done
    log "net: run $rep/$REPEAT: ${order[*]}"
    for s in "${order[@]}"; do idle_figure "$rep" "$s" 1000 idle1k; done
    for s in "${order[@]}"; do idle_figure "$rep" "$s" "$IDLE_CONNS" idle10k; done
    for s in "${order[@]}"; do
      if start_server "$s"; then PIDS[$s]=$SPID; PORTS[$s]=$SPORT; fi
      SPID=""
    done
    for spec in "pingpong 1" "pingpong 100" "pingpong 1000" "bulk 1" "accept 32"; do
      read -r mode conns <<< "$spec"
      log "  $mode $conns"
      for s in "${order[@]}"; do load_figure "$rep" "$s" "$mode" "$conns"; done
    done
    stop_all
  done
}

# ------------------------------------------------------------------- stream
# One connection streaming both ways at once (loadgen stream): each run on a fresh server
# process, servers interleaved run by run. Prints the median MiB/s, its spread (max-min over
# the median) and the server's CPU per MiB, with the ratio to raw Asio, to stream.md.
run_stream() {
  local rep s line rate cpu load0 load1
  : > "$OUT/stream.log"
  load0=$(cut -d" " -f1-3 /proc/loadavg)
  for rep in $(seq "$STREAM_REPEAT"); do
    for s in $STREAM_SERVERS; do
      case $s in asio*) [ $HAVE_ASIO = 0 ] && continue ;; esac
      if start_server "$s"; then
        line=$(loadgen stream --mib "$STREAM_MIB" --timeout 60)
        stop_server
        echo "$rep $s $line" >> "$OUT/stream.log"
        if [ "$(kv "$line" errors)" = 0 ] && [ "$(kv "$line" mismatches)" = 0 ]; then
          record stream "$rep" "$s" stream_rate "$(kv "$line" mib_per_s)"
          record stream "$rep" "$s" stream_cpu "$(kv "$line" server_cpu_us_per_mib)"
        else
          log "  stream $s: FAILED: ${line:-no output}"
        fi
      fi
    done
  done
  load1=$(cut -d" " -f1-3 /proc/loadavg)
  awk -v servers="$STREAM_SERVERS" -v mib="$STREAM_MIB" -v runs="$STREAM_REPEAT" \
      -v when="$(date -u '+%Y-%m-%d %H:%M UTC')" -v load0="$load0" -v load1="$load1" \
      -v cmd="BENCH_STREAM_REPEAT=$STREAM_REPEAT BENCH_STREAM_MIB=$STREAM_MIB BENCH_STREAM_SERVERS=\"$STREAM_SERVERS\" bash bench/run.sh stream" '
    $1 == "stream" && $4 == "stream_rate" { r[$3] = r[$3] " " $5 }
    $1 == "stream" && $4 == "stream_cpu" { c[$3] = c[$3] " " $5 }
    function median(list,   a, n, i, j, t) {
      n = split(list, a, " ")
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
      lo = a[1]; hi = a[n]
      return n == 0 ? 0 : (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2)
    }
    END {
      printf "## Full-duplex streaming, %d MiB on one connection, median of %d runs\n\n", mib, runs
      printf "%s; produced by `%s`; server on core 1, load generator on core 0, servers interleaved run by run. ", when, cmd
      printf "Load average (1, 5, 15 min) before: %s, after: %s. Spread is (max - min) / median.\n\n", load0, load1
      printf "| server | MiB/s | min - max | spread | vs raw Asio | server CPU us/MiB | min - max |\n|---|---:|---:|---:|---:|---:|---:|\n"
      base = median(r["raw"])
      n = split(servers, names, " ")
      for (k = 1; k <= n; k++) {
        s = names[k]; if (!(s in r)) continue
        m = median(r[s]); rlo = lo; rhi = hi
        spread = m > 0 ? 100 * (rhi - rlo) / m : 0
        ratio = base > 0 ? m / base : 0
        cm = median(c[s])
        printf "| %s | %.0f | %.0f - %.0f | %.0f%% | %.2f | %.0f | %.0f - %.0f |\n", s, m, rlo, rhi, spread, ratio, cm, lo, hi
      }
    }' "$RAW" > "$OUT/stream.md"
  cat "$OUT/stream.md" | tee -a "$LOG"
  cp "$OUT/stream.md" "$BENCH_DIR/stream_results.md"
}

# ------------------------------------------------------------------- threads / channel
run_lua() {   # run_lua IMPL SCRIPT ARGS...: runs a luajit bench script pinned; prints its line
  local impl=$1 env=()
  shift
  [ "$impl" = asio ] && env=("LUA_PATH=$ASIO_LUA_PATH" "LUA_CPATH=$ASIO_LUA_CPATH")
  env "${env[@]}" timeout 120 taskset -c "$SCPU" luajit "$@" 2>> "$OUT/lua.err" < /dev/null
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

# CPU seconds used on the machine (user, nice, system, irq, softirq; all cores) and by our
# own children, to estimate how much other processes ran during the run.
busy_s() { awk -v hz="$(getconf CLK_TCK)" '/^cpu / { printf "%.2f", ($2 + $3 + $4 + $7 + $8) / hz }' /proc/stat; }
children_s() { times > "$TMP/times"; tail -1 "$TMP/times" | awk '{ n = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); n += a[1] * 60 + a[2] } printf "%.2f", n }'; }
BUSY0=$(busy_s); children_s > "$TMP/kids0"; KIDS0=$(cat "$TMP/kids0")
LOAD_START=$(cut -d" " -f1 /proc/loadavg)
if awk "BEGIN { exit !($LOAD_START > 0.3) }"; then
  log "warning: load average is $LOAD_START: other work on this machine will disturb the figures"
fi
START=$(date +%s)
rm -f "$OUT"/net.log "$OUT"/threads.log "$OUT"/channel.log "$OUT"/stream.md "$OUT"/*.err
for sec in "${SECTIONS[@]}"; do
  case $sec in
    net) run_net ;;
    threads) run_threads ;;
    channel) run_channel ;;
    stream) run_stream ;;
    churn) bash "$BENCH_DIR/churn.sh" ;;
    *) log "unknown section $sec (want net, threads, channel, stream, churn)"; exit 1 ;;
  esac
done
ELAPSED=$(( $(date +%s) - START ))
BUSY1=$(busy_s); children_s > "$TMP/kids1"; KIDS1=$(cat "$TMP/kids1")
OTHER_CPU=$(awk -v b0="$BUSY0" -v b1="$BUSY1" -v k0="$KIDS0" -v k1="$KIDS1" 'BEGIN { v = (b1 - b0) - (k1 - k0); if (v < 0) v = 0; printf "%.1f", v }')
if awk "BEGIN { exit !($OTHER_CPU > 0.05 * $ELAPSED) }"; then
  log "warning: other processes used about ${OTHER_CPU} CPU-seconds during the ${ELAPSED} s run"
fi

{
  echo "# LuaAsio benchmark results"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores, Linux $(uname -r), $(luajit -v | cut -d' ' -f1-2)."
  echo "BENCH_SECONDS=$SECONDS_PER, BENCH_REPEAT=$REPEAT, idle connections=$IDLE_CONNS, run took ${ELAPSED}s, 1-min load average before it $LOAD_START; other processes used about ${OTHER_CPU} CPU-seconds during it. Produced by \`bash bench/run.sh ${SECTIONS[*]}\`; see bench/README.md for the method."
  echo
  luajit "$BENCH_DIR/report.lua" "$RAW"
} > "$TMP/results.md"
# A run of the streaming or churn sections alone leaves the other sections' results as they were;
# they write bench/stream_results.md and bench/churn_results.md.
case " ${SECTIONS[*]} " in
  *" net "*|*" threads "*|*" channel "*) cp "$TMP/results.md" "$BENCH_DIR/results.md"; cat "$BENCH_DIR/results.md" ;;
esac
