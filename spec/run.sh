#!/usr/bin/env bash
# The whole test suite (./build.sh test): release and sanitizer builds, every spec on both,
# the examples as smoke tests, two Lua states on two OS threads, waking a runtime from other OS
# threads under ThreadSanitizer, and a LuaRocks install.
# Ends with "N passed, N failed" alone on a line.
set -uo pipefail
cd "$(dirname "$0")/.."
here=$(pwd)
# shellcheck source=../tools/common.sh
. tools/common.sh
passed=0
failed=0
failures=()

pass() { passed=$((passed + $1)); }
fail() { failed=$((failed + $1)); failures+=("$2"); }

# run_specs NAME CPATH_DIR [env...]: runs busted under LuaJIT and adds its counts, read from
# busted's TAP output (a line per spec, and the plan "1..N" once it has finished). SPECS (the
# spec files, default: all of spec/) and BUSTED_ARGS (more options) narrow a run.
run_specs() {
  local name=$1 dir=$2
  shift 2
  local log="build/$name-specs.log"
  echo "== specs ($name)"
  env "$@" LUA_PATH="$here/lua/?.lua;$here/lua/?/init.lua;$here/?.lua;;" \
    LUA_CPATH="$here/build/$dir/?.so;;" ASIO_TEST_HOST="$here/build/$dir/two_states" \
    timeout 900 luajit "$(command -v busted)" ${BUSTED_ARGS:-} --lpath="$here/?.lua" --cpath="$here/build/$dir/?.so" \
    -o TAP ${SPECS:-spec} 2>&1 | tee "$log" |
    grep -Ev '^ok [0-9]+ '
  local ok bad plan
  ok=$(grep -cE '^ok [0-9]+ ' "$log")
  bad=$(grep -cE '^not ok [0-9]+ ' "$log")
  plan=$(grep -oE '^1\.\.[0-9]+$' "$log" | tail -1 | cut -d. -f3)
  if [ -z "$plan" ] || [ "$plan" -ne $((ok + bad)) ]; then
    fail 1 "specs ($name): busted did not finish"
  fi
  if grep -q 'ERROR: AddressSanitizer\|runtime error:\|WARNING: ThreadSanitizer' "$log"; then
    fail 1 "specs ($name): sanitizer report"
  fi
  echo "specs ($name): $ok passed, $bad failed"
  pass "$ok"
  [ "$bad" -gt 0 ] && fail "$bad" "specs ($name): $bad failed"
  return 0
}

# check NAME COMMAND...: one pass/fail item.
check() {
  local name=$1
  shift
  echo "== $name"
  if "$@"; then pass 1; else fail 1 "$name"; fi
}

run_examples() {
  local ex rc=0
  for ex in examples/*.lua; do
    echo "-- $ex"
    LUA_PATH="$here/lua/?.lua;$here/lua/?/init.lua;;" LUA_CPATH="$here/build/release/?.so;;" \
      timeout 60 luajit "$ex" >"build/example.log" 2>&1 || { cat build/example.log; rc=1; }
  done
  return $rc
}

# The remote wake-up host (spec/host/remote_wake.cpp, built with ThreadSanitizer): its checks
# must hold and TSan must report nothing. The host bounds each of its checks in time itself.
run_tsan_host() {
  local log=build/remote_wake.log
  TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1" \
    timeout 600 build/release/remote_wake >"$log" 2>&1
  local rc=$?
  grep -v '^ok: ' "$log"
  [ "$rc" -eq 0 ] && ! grep -q 'ThreadSanitizer' "$log"
}

rock_install() {
  local tree
  tree=$(mktemp -d)
  luarocks --lua-version 5.1 --tree "$tree" make rockspec/asio-scm-1.rockspec >"$tree.log" 2>&1 ||
    { cat "$tree.log"; return 1; }
  # From another directory, with only the tree's own paths (what `luarocks path` prints).
  (cd / && eval "$(luarocks --lua-version 5.1 --tree "$tree" path)" &&
    luajit -e "local a = require 'asio'; assert(a.connect and a.server and not package.loaded['asio.tls'])
      assert(a.tls_context{ mode = 'client' }); assert(package.loaded['asio.tls']); print('required, TLS loaded on use: ok')
      assert(require('asio.http').server and package.loaded['asio.http_parser']); print('asio.http: ok')
      assert(require('asio.ws') and package.loaded['asio.websocket']); print('asio.ws: ok')")
}

# The library for hosts as a user installs it: `cmake --install`, then a project of its own that
# finds it with find_package(LuaAsio), and a C file built with pkg-config alone.
devel_install() {
  local prefix
  prefix=$(mktemp -d)
  cmake --install build/release --prefix "$prefix" >"$prefix.log" 2>&1 || { cat "$prefix.log"; return 1; }
  cmake -S spec/host/consumer -B "$prefix/consumer" -DCMAKE_PREFIX_PATH="$prefix" >>"$prefix.log" 2>&1 &&
    cmake --build "$prefix/consumer" >>"$prefix.log" 2>&1 || { cat "$prefix.log"; return 1; }
  (cd / && env -u LUA_PATH -u LUA_CPATH "$prefix/consumer/consumer") | grep -x "consumer [0-9.]*: hello!" || return 1
  # shellcheck disable=SC2046
  PKG_CONFIG_PATH="$prefix/lib/pkgconfig" gcc -o "$prefix/pc_consumer" spec/host/consumer/main.c \
    $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs luaasio) -ldl ||  return 1
  (cd / && env -u LUA_PATH -u LUA_CPATH "$prefix/pc_consumer") | grep -x "consumer [0-9.]*: hello!"
}

if ! build_variant release -DLASIO_BUILD_TESTS=ON; then
  echo "0 passed, 1 failed"
  exit 1
fi
stage_release

# asio.ws's spec drives the server with Node's ws package, installed here, outside the repository.
if command -v npm >/dev/null && [ ! -f "$HOME/.cache/lasio-node/node_modules/ws/package.json" ]; then
  npm install --no-audit --no-fund --prefix "$HOME/.cache/lasio-node" ws >/dev/null 2>&1 ||
    echo "npm install ws failed: the Node spec of asio.ws stays pending"
fi

run_specs release release
check "waking a runtime from other OS threads (ThreadSanitizer host)" run_tsan_host
check "src/ compiles for Windows (mingw-w64, syntax only)" bash tools/mingw_check.sh
check "examples" run_examples
check "luarocks make + require from another directory" rock_install
check "cmake --install: find_package(LuaAsio) and pkg-config hosts" devel_install

# The router-size build (no TLS, -Os, LTO): its build fails above the size limit; every spec
# that needs no TLS runs on it.
if build_variant router -DLASIO_ROUTER_SIZE=ON -DLASIO_BUILD_TESTS=ON; then
  run_specs router router
else
  fail 1 "router-size build (see the size it printed above)"
fi

# The code shared between OS threads (states on threads, shared channels, offload, the process-wide
# signal registry and child spawner), built with ThreadSanitizer: those specs run on it. busted
# must not re-execute itself (--ignore-lua): the shell it would go through does not start with
# libtsan preloaded. The specs that start luajit or a test host in a child process (tagged
# subprocess) run on the other builds only; other children (sh, cat, sleep) run without libtsan
# (spec/support/unpreload.lua).
if build_variant tsan -DLASIO_TSAN=ON; then
  tsan=$(g++ -print-file-name=libtsan.so.2)
  SPECS="spec/threads_os_spec.lua spec/shared_channel_spec.lua spec/offload_spec.lua spec/multicore_spec.lua spec/value_codec_spec.lua spec/signal_spec.lua spec/child_process_spec.lua spec/watch_spec.lua" \
    BUSTED_ARGS="--ignore-lua --exclude-tags=subprocess --helper=spec/support/unpreload.lua" \
    run_specs tsan tsan LD_PRELOAD="$tsan" TSAN_OPTIONS=halt_on_error=0
else
  fail 1 "ThreadSanitizer build"
fi

if [ "${ASIO_SKIP_SANITIZE:-0}" != 1 ]; then
  if build_variant sanitize -DLASIO_SANITIZE=ON -DLASIO_BUILD_TESTS=ON; then
    asan=$(g++ -print-file-name=libasan.so)
    run_specs sanitize sanitize LD_PRELOAD="$asan" ASIO_SANITIZE=1 \
      ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    # Random programs over the whole API: the regression seeds, then seeds 1..90.
    echo "== fuzz (sanitizer build)"
    fuzz_log=build/fuzz.log
    bash spec/fuzz/run.sh build/sanitize --seeds "${ASIO_FUZZ_SEEDS:-90}" 2>&1 | tee "$fuzz_log" | grep -v '^fuzz seed'
    fuzz_summary=$(grep -E '^fuzz \(' "$fuzz_log" | tail -1)
    fuzz_ok=$(echo "$fuzz_summary" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || echo 0)
    fuzz_bad=$(echo "$fuzz_summary" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || echo 1)
    pass "${fuzz_ok:-0}"
    [ "${fuzz_bad:-1}" -gt 0 ] && fail "${fuzz_bad:-1}" "fuzz: ${fuzz_bad:-1} seeds failed (see $fuzz_log)"
  else
    fail 1 "sanitizer build"
  fi
fi

echo
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
