#!/usr/bin/env bash
# Runs seeds of the random-program fuzzer (spec/fuzz/fuzz.lua) against one build of the module.
#   spec/fuzz/run.sh BUILD_DIR [--seeds N] [--first K] [--seconds S] [--jobs J] [--record]
# BUILD_DIR holds asio/core.so (build/sanitize: run under ASan and UBSan). The seeds listed in
# spec/fuzz/regression_seeds run first, then N seeds from K on (default 1..40), or as many as S
# seconds allow. --record appends each new failing seed to spec/fuzz/regression_seeds.
# Ends with "fuzz: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
here=$(pwd)
build=${1:?usage: spec/fuzz/run.sh BUILD_DIR [--seeds N] [--first K] [--seconds S] [--jobs J] [--record]}
shift
seeds=40 first=1 seconds=0 jobs=3 record=0
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) seeds=$2; shift 2 ;;
    --first) first=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --record) record=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
case "$build" in /*) ;; *) build="$here/$build" ;; esac
[ -f "$build/asio/core.so" ] || { echo "no $build/asio/core.so" >&2; exit 2; }

work=$(mktemp -d /tmp/lasio-fuzz-run-XXXXXX)
trap 'rm -rf "$work"' EXIT
# One certificate for the TLS servers of every seed.
if openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/key.pem" \
  -out "$work/cert.pem" -days 2 -subj "/CN=localhost" >/dev/null 2>&1; then
  export ASIO_FUZZ_CERTS="$work"
fi
export ASIO_FUZZ_TMP="$work"
export LUA_PATH="${FUZZ_LUA_DIR:-$here/lua}/?.lua;$here/lua/?/init.lua;$here/?.lua;;"
export LUA_CPATH="$build/?.so;;"
sanitized=0
if grep -q __asan_init "$build/asio/core.so" 2>/dev/null; then
  sanitized=1
  export LD_PRELOAD=$(g++ -print-file-name=libasan.so)
  export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi

# run_seed SEED: 0 when it passed; its log is left in $work/SEED.log.
run_seed() {
  local seed=$1 log="$work/$1.log"
  timeout 60 luajit spec/fuzz/fuzz.lua "$seed" >"$log" 2>&1
  local rc=$?
  if [ $rc -ne 0 ] || grep -q 'ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer' "$log"; then
    echo "rc=$rc" >>"$log"
    return 1
  fi
  return 0
}

passed=0
failed=0
failures=()
report() { # SEED STATUS
  if [ "$2" -eq 0 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("$1")
    echo "-- seed $1 failed; reproduce: (cd $here && LUA_CPATH='$LUA_CPATH' luajit spec/fuzz/fuzz.lua $1)"
    tail -n 40 "$work/$1.log"
  fi
}

# Seeds run J at a time: a seed spends most of its time waiting on its own timeouts.
pending=()
flush() {
  local s
  for s in "${pending[@]}"; do
    wait "${pids[$s]}"
    report "$s" $?
  done
  pending=()
}
declare -A pids
launch() {
  run_seed "$1" &
  pids[$1]=$!
  pending+=("$1")
  [ ${#pending[@]} -ge "$jobs" ] && flush
  return 0
}

regressions=$(grep -Eo '^[0-9]+' spec/fuzz/regression_seeds 2>/dev/null || true)
for s in $regressions; do launch "$s"; done
start=$(date +%s)
s=$first
while :; do
  if [ "$seconds" -gt 0 ]; then
    [ $(($(date +%s) - start)) -ge "$seconds" ] && break
  else
    [ "$s" -ge $((first + seeds)) ] && break
  fi
  launch "$s"
  s=$((s + 1))
done
flush

if [ "$record" = 1 ]; then
  for f in "${failures[@]}"; do
    grep -qx "$f" spec/fuzz/regression_seeds 2>/dev/null || echo "$f" >>spec/fuzz/regression_seeds
  done
fi
echo "fuzz ($( [ $sanitized = 1 ] && echo sanitizer || echo release ) build, seeds up to $((s - 1))): $passed passed, $failed failed"
[ "$failed" -eq 0 ]
