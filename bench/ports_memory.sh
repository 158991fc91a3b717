#!/usr/bin/env bash
# Idle memory per connection on each port target, measured under emulation (memory is faithful
# there even if time is not): the target's LuaJIT runs bench/ports_memory.lua under qemu-user or
# Wine and accepts N connections that a host process opens (bench/ports_memory_client.lua).
#   bash bench/ports_memory.sh [N] [TARGET...]   (after ./build.sh and ./build.sh ports)
# TARGET: windows, mipsel, aarch64, or host (this machine's build, natively, for comparison).
# RSS is the emulated process's own (qemu-user and Wine run the target in one host process), so
# the per-connection growth includes what the emulator allocates for it: the Lua heap figure is
# exact for the target.
set -u
cd "$(dirname "$0")/.."
n=${1:-1000}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(host windows mipsel aarch64)
cache=${LASIO_PORTS_CACHE:-$HOME/.cache/luaasio}
ulimit -n 4096 2>/dev/null || true
[ -f build/release/asio/core.so ] || { echo "run ./build.sh first (the client runs on the host)" >&2; exit 1; }
for t in "${targets[@]}"; do
  case "$t" in
    host)
      lj=$(command -v luajit)
      runner=("$lj")
      ext=so ;;
    windows)
      lj=$(ls -d "$cache"/windows-luajit-*/bin/luajit.exe 2>/dev/null | tail -1)
      runner=(env WINEPREFIX="$cache/wine" WINEDEBUG=-all /usr/lib/wine/wine64 "$lj")
      ext=dll ;;
    mipsel | aarch64)
      arch=$t
      [ "$t" = aarch64 ] && arch=arm64
      root=$(ls -d "$cache/$arch"-sysroot-* 2>/dev/null | tail -1)
      lj=$root/usr/bin/luajit
      runner=("qemu-$t" -L "$root" "$lj")
      ext=so ;;
    *) echo "unknown target $t" >&2; exit 2 ;;
  esac
  cpath=build/ports/$t/cpath
  [ "$t" != host ] || cpath=build/release
  [ -e "$lj" ] && [ -f "$cpath/asio/core.$ext" ] ||
    { echo "$t: run ./build.sh ports $t first" >&2; continue; }
  out=$(mktemp)
  LUA_PATH="lua/?.lua;lua/?/init.lua" LUA_CPATH="$cpath/?.$ext" \
    timeout 180 "${runner[@]}" bench/ports_memory.lua "$n" >"$out" 2>&1 &
  server=$!
  port=
  for _ in $(seq 600); do
    port=$(grep -m1 -oE '^port [0-9]+' "$out" | cut -d' ' -f2)
    [ -n "$port" ] && break
    sleep 0.1
  done
  if [ -z "$port" ]; then
    echo "$t: the server did not start"; cat "$out"; kill "$server" 2>/dev/null; continue
  fi
  LUA_PATH="lua/?.lua;lua/?/init.lua" LUA_CPATH="build/release/?.so" \
    timeout 170 luajit bench/ports_memory_client.lua "$port" "$n"
  wait "$server"
  grep -v '^port ' "$out"
  rm -f "$out"
done
