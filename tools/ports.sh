#!/usr/bin/env bash
# ./build.sh ports [TARGET...]: cross-builds the module for Windows (x86-64, mingw-w64) and for
# the router CPUs mipsel and aarch64 (Debian's cross compilers), then runs the examples and a spec
# set on each: under Wine, and under qemu-user with the target's own Debian libraries.
# Targets: windows mipsel aarch64 (default: all three). Ends with "N passed, N failed" alone on
# a line. Everything fetched or built for a target lives under ~/.cache/luaasio (LASIO_PORTS_CACHE),
# keyed by the LuaJIT version, never in the clone; the module is built into build/ports/<target>.
set -uo pipefail
cd "$(dirname "$0")/.."
here=$(pwd)
cache=${LASIO_PORTS_CACHE:-$HOME/.cache/luaasio}
jobs=2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(windows mipsel aarch64)
passed=0
failed=0
failures=()

die() { echo "ports: $*" >&2; exit 1; }
pass() { passed=$((passed + $1)); }
fail() { failed=$((failed + $1)); failures+=("$2"); }

need_host_tools() {
  local missing=()
  command -v x86_64-w64-mingw32-g++-posix >/dev/null || missing+=(g++-mingw-w64-x86-64-posix)
  command -v x86_64-w64-mingw32-gcc >/dev/null || missing+=(gcc-mingw-w64-x86-64-win32)
  [ -x /usr/lib/wine/wine64 ] || missing+=(wine64)
  command -v qemu-mipsel >/dev/null || missing+=(qemu-user)
  command -v mipsel-linux-gnu-g++ >/dev/null || missing+=(g++-mipsel-linux-gnu)
  command -v aarch64-linux-gnu-g++ >/dev/null || missing+=(g++-aarch64-linux-gnu)
  command -v dpkg-source >/dev/null || missing+=(dpkg-dev)
  command -v cmake >/dev/null || missing+=(cmake)
  command -v make >/dev/null || missing+=(make)
  command -v ccache >/dev/null || missing+=(ccache)
  command -v gcc >/dev/null || missing+=(gcc)
  [ -f /usr/include/boost/asio.hpp ] || missing+=(libboost1.81-dev)
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing: ${missing[*]} (install them with your package manager)"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null ||
    die "could not install ${missing[*]}"
}

# A private apt configuration under the cache: Debian's source packages (deb-src) and the target
# architectures' binary packages, downloaded only, never installed, and the machine's own apt
# setup left as it was.
apt_conf=$cache/apt/apt.conf
setup_apt() {
  local d=$cache/apt
  mkdir -p "$d/lists/partial" "$d/cache/archives/partial" "$d/parts"
  cat >"$apt_conf" <<EOF
Dir::State::Lists "$d/lists";
Dir::Cache "$d/cache";
Dir::State::status "/dev/null";
Dir::Etc::sourcelist "$d/none.list";
Dir::Etc::sourceparts "$d/parts";
APT::Architectures { "amd64"; "arm64"; "mipsel"; };
APT::Sandbox::User "root";
EOF
  cat >"$d/parts/debian.sources" <<EOF
Types: deb deb-src
URIs: ${LASIO_DEBIAN_MIRROR:-http://deb.debian.org/debian}
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${LASIO_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # The package lists are refreshed once a day: a cached target stays keyed by what they name.
  if [ -z "$(find "$d/lists" -maxdepth 1 -name '*Sources*' -mtime -1 2>/dev/null)" ]; then
    apt-get -c "$apt_conf" update -qq >"$d/update.log" 2>&1 || { cat "$d/update.log"; die "apt-get update failed"; }
  fi
}

# The version of Debian's luajit (source and binaries alike) names every cached target.
luajit_version() {
  apt-cache -c "$apt_conf" showsrc luajit | awk '/^Version:/ { print $2 }' | sort -V | tail -1
}

# The luajit source package, unpacked (Debian's patches applied) under $cache/src. apt checked
# its files against the archive's signed index; dpkg-source's own warning that it has no key for
# the .dsc's inline signature is noise here.
luajit_source() {
  local ver=$1 dir
  dir=$cache/src/luajit-$ver
  if [ ! -f "$dir/src/Makefile" ]; then
    rm -rf "$dir" "$cache/src/dl"
    mkdir -p "$cache/src/dl"
    (cd "$cache/src/dl" && apt-get -c "$apt_conf" source --download-only -qq "luajit=$ver" >/dev/null &&
      dpkg-source -x ./*.dsc "$dir" >/dev/null 2>&1) || die "could not fetch luajit's source package"
    rm -rf "$cache/src/dl"
  fi
  echo "$dir"
}

# LuaJIT for Windows, built from Debian's source with mingw-w64: luajit.exe, lua51.dll, its
# import library and headers. Debian ships no Windows binaries, so this is the one we build.
luajit_windows() {
  local ver=$1 dest=$cache/windows-luajit-$1 src tmp
  [ -f "$dest/.done" ] && { echo "$dest"; return; }
  src=$(luajit_source "$ver") || exit 1
  tmp=$(mktemp -d)
  cp -r "$src/." "$tmp"
  echo "building LuaJIT $ver for Windows" >&2
  nice make -C "$tmp/src" -j"$jobs" HOST_CC=gcc CROSS=x86_64-w64-mingw32- TARGET_SYS=Windows \
    BUILDMODE=dynamic luajit.exe >"$tmp.log" 2>&1 || { tail -20 "$tmp.log" >&2; die "LuaJIT for Windows failed"; }
  rm -rf "$dest"
  mkdir -p "$dest/bin/lua/jit" "$dest/include" "$dest/lib" "$dest/lasio-boost-include"
  cp "$tmp/src/luajit.exe" "$tmp/src/lua51.dll" "$dest/bin/"
  cp "$tmp/src/libluajit-5.1.dll.a" "$dest/lib/"
  cp "$tmp/src/jit/"*.lua "$dest/bin/lua/jit/"
  (cd "$tmp/src" && cp lua.h lualib.h lauxlib.h luaconf.h lua.hpp luajit.h "$dest/include/")
  ln -s /usr/include/boost "$dest/lasio-boost-include/boost"
  rm -rf "$tmp" "$tmp.log"
  touch "$dest/.done"
  echo "$dest"
}

# A target's sysroot for Linux: Debian's own binaries for that architecture (luajit, its headers
# and library, OpenSSL, the C and C++ runtimes), unpacked with dpkg -x, not installed: several
# have no Multi-Arch field. On mipsel our own luajit replaces Debian's (luajit_mipsel).
luajit_linux() {
  local ver=$1 arch=$2 dest=$cache/$2-sysroot-$1 debs p
  [ -f "$dest/.done" ] && { echo "$dest"; return; }
  debs=$cache/debs-$arch-$ver
  rm -rf "$debs" "$dest"
  mkdir -p "$debs" "$dest/lasio-boost-include"
  local pkgs=(luajit libluajit-5.1-2 libluajit-5.1-dev libssl3 libssl-dev libc6 libgcc-s1 libstdc++6)
  [ "$arch" = mipsel ] && pkgs+=(libatomic1)
  (cd "$debs" && apt-get -c "$apt_conf" download -qq "${pkgs[@]/%/:$arch}" >/dev/null) ||
    die "could not download ${pkgs[*]} for $arch"
  for p in "$debs"/*.deb; do dpkg -x "$p" "$dest"; done
  ln -s /usr/include/boost "$dest/lasio-boost-include/boost"
  if [ ! -e "$dest/usr/bin/luajit" ]; then
    ln -s "$(cd "$dest/usr/bin" && ls luajit-* | head -1)" "$dest/usr/bin/luajit"
  fi
  [ "$arch" != mipsel ] || luajit_mipsel "$ver" "$dest" || die "LuaJIT for mipsel failed"
  rm -rf "$debs"
  touch "$dest/.done"
  echo "$dest"
}

# Debian's mipsel luajit cannot run under qemu-mipsel 7.2, for two reasons of the emulator:
# - an "any FPU" (FPXX) program, as Debian builds mipsel, gets 64-bit FPU registers (FR=1) from
#   qemu, where LuaJIT's MIPS interpreter pairs 32-bit ones (the kernel's choice on 32-bit MIPS
#   hardware): math.floor(2.5) gave 2.5;
# - qemu's mremap corrupts LuaJIT's own allocator once the heap grows past a few MB (200,000
#   small tables, or 40,000 coroutines, crash it without our module).
# So we build luajit from Debian's source package (its patches applied) with -mfp32 (FR=0 in its
# ABI flags) and the system allocator. Its build tools must be 32-bit like the target: built
# with the cross compiler (static) and run through qemu, since gcc-multilib cannot be installed
# beside Debian's cross compilers.
luajit_mipsel() {
  local ver=$1 dest=$2 src tmp
  src=$(luajit_source "$ver") || return 1
  tmp=$(mktemp -d)
  cp -r "$src/." "$tmp"
  echo "building LuaJIT $ver for mipsel (about 5 minutes: its build tools run under qemu)" >&2
  nice make -C "$tmp/src" -j"$jobs" HOST_CC="mipsel-linux-gnu-gcc -static" CROSS=mipsel-linux-gnu- \
    MINILUA_X="qemu-mipsel host/minilua" BUILDVM_X="qemu-mipsel host/buildvm" \
    TARGET_CFLAGS=-mfp32 XCFLAGS=-DLUAJIT_USE_SYSMALLOC BUILDMODE=static luajit >"$tmp.log" 2>&1 ||
    { tail -20 "$tmp.log" >&2; rm -rf "$tmp" "$tmp.log"; return 1; }
  rm -f "$dest/usr/bin/luajit"
  cp "$tmp/src/luajit" "$dest/usr/bin/luajit"
  rm -rf "$tmp" "$tmp.log"
}

# build_target TARGET: configures and builds build/ports/TARGET; stages asio/ under its cpath/.
build_target() {
  local t=$1 dir=build/ports/$1 args=()
  case "$t" in
    windows) args=(-DCMAKE_TOOLCHAIN_FILE="$here/cmake/toolchain-mingw64.cmake" -DLASIO_PREFIX="$prefix"
                   -DLASIO_WITH_TLS=OFF) ;;
    *) args=(-DCMAKE_TOOLCHAIN_FILE="$here/cmake/toolchain-linux-cross.cmake" -DLASIO_SYSROOT="$prefix"
             -DLASIO_TRIPLET="$triplet") ;;
  esac
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DLASIO_WITH_HTTP=OFF -DLASIO_STATIC_LIBRARY=OFF \
    "${args[@]}" >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; return 1; }
  nice cmake --build "$dir" -j"$jobs" 2>&1 | grep -Ev '^\[|^Consolidate|^Scanning|^Built target'
  rm -rf "$dir/cpath"
  mkdir -p "$dir/cpath/asio"
  cp "$dir"/asio/*."$ext" "$dir/cpath/asio/" 2>/dev/null
  [ -f "$dir/cpath/asio/core.$ext" ]
}

# Stripped sizes, for the README: the core alone is the build without TLS (TLS is a part of its
# own, asio/tls.so, loaded on first use).
report_sizes() {
  local t=$1 dir=build/ports/$1 strip=$2 f size line="$1:"
  for f in core tls; do
    [ -f "$dir/asio/$f.$ext" ] || continue
    "$strip" -s -o "$dir/$f-stripped.$ext" "$dir/asio/$f.$ext"
    size=$(wc -c <"$dir/$f-stripped.$ext")
    line="$line $f.$ext $size bytes stripped;"
  done
  echo "$line" | tee -a build/ports/sizes.txt
}

# target_run TIMEOUT SCRIPT ARGS...: a Lua script under the target's LuaJIT, from the clone's root.
# Output without Windows' carriage returns.
target_run() {
  local limit=$1
  shift
  LUA_PATH="lua/?.lua;lua/?/init.lua;./?.lua" LUA_CPATH="build/ports/$target/cpath/?.$ext" \
    timeout -k 5 "$limit" "${runner[@]}" "$@" 2>&1 | tr -d '\r'
  return "${PIPESTATUS[0]}"
}

spec_files=(spec/tcp_spec.lua spec/udp_spec.lua spec/light_thread_spec.lua spec/sync_channel_spec.lua
  spec/sync_select_spec.lua spec/sync_events_spec.lua spec/sync_locks_spec.lua spec/timeout_spec.lua
  spec/errors_spec.lua spec/gc_spec.lua spec/loop_spec.lua spec/socket_options_spec.lua
  spec/validation_spec.lua spec/unix_spec.lua spec/ports/platform_spec.lua)

# Each spec file in a process of its own, under a time limit of its own: a hang (seen once under
# qemu-mipsel, not reproduced) costs that file, not the rest of the run.
run_target() {
  local log=build/ports/$target-specs.log flog ok=0 bad=0 skip=0 ex summary f
  echo "== specs ($target)"
  : >"$log"
  for f in "${spec_files[@]}"; do
    flog=build/ports/$target-$(basename "$f" .lua).log
    target_run 600 spec/ports/run.lua --skip spec/ports/skip.txt --target "$target" "$f" >"$flog"
    cat "$flog" >>"$log"
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$flog" | tail -1)
    if [ -z "$summary" ]; then
      tail -5 "$flog"
      fail 1 "specs ($target): $f did not finish (see $flog)"
      continue
    fi
    grep -A3 '^not ok' "$flog" | head -20
    ok=$((ok + $(echo "$summary" | cut -d' ' -f1)))
    bad=$((bad + $(echo "$summary" | cut -d' ' -f3)))
    skip=$((skip + $(echo "$summary" | cut -d' ' -f5)))
  done
  echo "specs ($target): $ok passed, $bad failed, $skip skipped"
  pass "$ok"
  [ "$bad" -gt 0 ] && fail "$bad" "specs ($target): $bad failed (see $log)"
  echo "== lua_close with everything live ($target)"
  if target_run 120 spec/ports/lua_close.lua >"build/ports/$target-close.log" &&
    grep -qx 'lua_close: everything was live' "build/ports/$target-close.log"; then
    pass 1
  else
    cat "build/ports/$target-close.log"
    fail 1 "lua_close ($target)"
  fi
  for ex in "${examples[@]}"; do
    echo "-- examples/$ex.lua ($target)"
    if target_run 120 "examples/$ex.lua" >"build/ports/$target-example.log"; then
      pass 1
    else
      cat "build/ports/$target-example.log"
      fail 1 "examples/$ex.lua ($target)"
    fi
  done
}

need_host_tools
mkdir -p "$cache" build/ports
: >build/ports/sizes.txt
setup_apt
version=$(luajit_version)
[ -n "$version" ] || die "Debian's luajit version not found in the package lists"
for target in "${targets[@]}"; do
  echo "==== $target"
  case "$target" in
    windows)
      prefix=$(luajit_windows "$version") || exit 1
      ext=dll
      strip_tool=x86_64-w64-mingw32-strip
      export WINEPREFIX=$cache/wine WINEDEBUG=-all
      runner=(/usr/lib/wine/wine64 "$prefix/bin/luajit.exe")
      # No TLS (no Windows OpenSSL from Debian), no signals or child processes, no Unix sockets.
      examples=(ping_pong echo chat udp_echo worker_pool)
      ;;
    mipsel | aarch64)
      arch=$target
      [ "$target" = aarch64 ] && arch=arm64
      triplet=$target-linux-gnu
      prefix=$(luajit_linux "$version" "$arch") || exit 1
      ext=so
      strip_tool=$triplet-strip
      runner=("qemu-$target" -L "$prefix" "$prefix/usr/bin/luajit")
      examples=(ping_pong echo chat udp_echo unix_echo worker_pool tls_echo)
      ;;
    *) die "unknown target $target (windows, mipsel or aarch64)" ;;
  esac
  echo "LuaJIT $version in $prefix"
  if ! build_target "$target"; then
    fail 1 "build ($target)"
    continue
  fi
  report_sizes "$target" "$strip_tool"
  run_target
  [ "$target" != windows ] || /usr/lib/wine/wineserver -k 2>/dev/null || true
done

echo
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
