#!/usr/bin/env bash
# Process RSS (kB) after start-up and one listening server, before any connection: this module
# (no TLS used, so asio/tls.so is not loaded) beside luv, N fresh processes each.
#   bash bench/rss_start.sh [N]      (after ./build.sh; prints one line per process and the ratio)
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${1:-5}
rss='for l in io.lines("/proc/self/status") do if l:match("^VmRSS") then print(l:match("%d+")) end end'
asio=() luv=()
for _ in $(seq "$N"); do
  asio+=("$(LUA_PATH="$ROOT/lua/?.lua;;" LUA_CPATH="$ROOT/build/release/?.so;;" luajit -e \
    "local asio = require 'asio'; asio.server('127.0.0.1', 0, function() end); $rss")")
  luv+=("$(luajit -e "local uv = require 'luv'; local s = uv.new_tcp(); s:bind('127.0.0.1', 0); s:listen(128, function() end); $rss")")
done
med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)], a[1], a[NR]}'; }
read -r am alo ahi <<< "$(med "${asio[@]}")"
read -r lm llo lhi <<< "$(med "${luv[@]}")"
echo "asio: median $am kB ($alo-$ahi); luv: median $lm kB ($llo-$lhi); ratio $(awk "BEGIN {printf \"%.2f\", $am / $lm}")"
