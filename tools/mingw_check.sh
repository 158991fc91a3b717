#!/usr/bin/env bash
# Compile-only check that src/ builds for Windows: every translation unit through Debian's
# mingw-w64 (x86_64-w64-mingw32-g++-posix) with -fsyntax-only, so no change can add code that
# only builds on POSIX. Debian ships no Windows builds of Boost, LuaJIT or OpenSSL: Boost and the
# LuaJIT headers are portable as they are, and OpenSSL's headers declare the same API on Windows
# (its configuration header is the host's, which only tunes integer types and deprecations).
#   bash tools/mingw_check.sh        (exit status 0 when every file compiles)
set -uo pipefail
cd "$(dirname "$0")/.."
cxx=x86_64-w64-mingw32-g++-posix
command -v $cxx >/dev/null || { echo "needs $cxx (apt-get install g++-mingw-w64-x86-64)" >&2; exit 2; }
inc=build/mingw-include
rm -rf "$inc"
mkdir -p "$inc/openssl"
ln -s /usr/include/boost "$inc/boost"
ln -s /usr/include/luajit-2.1 "$inc/luajit"
for f in /usr/include/openssl/* /usr/include/x86_64-linux-gnu/openssl/*; do
  [ -e "$f" ] && ln -sf "$f" "$inc/openssl/$(basename "$f")"
done
log=build/mingw-check.log
: >"$log"
find src -name '*.cpp' | sort | xargs -P "$(nproc 2>/dev/null || echo 2)" -I{} sh -c '
  if ! '"$cxx"' -std=c++17 -fsyntax-only -D_WIN32_WINNT=0x0A00 -DBOOST_ASIO_SEPARATE_COMPILATION \
      -DBOOST_ASIO_NO_DEPRECATED -DBOOST_ASIO_DISABLE_BOOST_DATE_TIME \
      -Isrc -Iinclude -isystem '"$inc"' -isystem '"$inc"'/luajit "{}" >"build/mingw-$(echo {} | tr / _).log" 2>&1; then
    echo "FAILED: {}" >>'"$log"'
    cat "build/mingw-$(echo {} | tr / _).log" >>'"$log"'
  fi'
if [ -s "$log" ]; then
  grep -E 'FAILED|error' "$log" | head -40
  exit 1
fi
echo "mingw-w64: every file in src/ compiles for Windows"
