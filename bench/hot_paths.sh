#!/usr/bin/env bash
# Instructions per operation on the hot paths, counted by callgrind (a figure the machine's load
# does not move): spawn+finish of a light thread, a park/wake switch, a read_some/write echo
# round trip over loopback (client and server in one process), a MiB streamed through
# read_into/write_from and through read_some/write (both ways, both ends counted), and a
# connection accepted, echoing one byte and closed (both ends). Each path runs twice (SMALL and LARGE
# operations) and the difference is divided by LARGE - SMALL, so start-up cancels out.
#
#   bash bench/hot_paths.sh [BUILD_DIR [LUA_DIR]]   (needs valgrind; default build/ and lua/)
#   HOT_PATHS="echo:500:5500:operation" bash bench/hot_paths.sh ...   only the paths listed
#
# To compare two versions: build each, then run this once per build directory.
set -eu
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
BUILD=${1:-$ROOT/build}
LUA_DIR=${2:-$ROOT/lua}
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }

count() { # count MODE N -> instructions of the whole process
  LUA_PATH="$LUA_DIR/?.lua;$LUA_DIR/?/init.lua;;" LUA_CPATH="$BUILD/?.so;;" \
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    luajit "$BENCH_DIR/hot_paths.lua" "$1" "$2" 2>&1 >/dev/null |
    sed -n 's/.*refs: *//p' | tr -d ,
}

for mode in ${HOT_PATHS:-spawn:2000:22000:operation switch:2000:22000:operation echo:500:5500:operation stream:16:80:MiB stream_str:16:80:MiB accept:200:1200:connection}; do
  IFS=: read -r name small large unit <<<"$mode"
  a=$(count "$name" "$small")
  b=$(count "$name" "$large")
  echo "$name: $(( (b - a) / (large - small) )) instructions per $unit"
done
