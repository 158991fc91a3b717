#!/usr/bin/env bash
# asio.http hello world against nginx + Lua (content_by_lua_block, one worker), a C++ server on
# Boost.Beast (callbacks) and lua-http (under LuaJIT): wrk -t1 -c100, the server pinned to core 1
# and wrk to core 0; requests/s and the server's CPU time per request (from /proc, user+system),
# REPEAT runs of DUR seconds each, medians with min..max. Then the client: N sequential
# keep-alive GETs against nginx, asio.http beside curl.
#   bash bench/http/run.sh              (DUR=10 REPEAT=3 N=20000 by default)
# Needs wrk, nginx, lua-http (./build.sh bench installs them) and a release build in build/release.
# Debian's libnginx-mod-http-lua wants OpenResty's LuaJIT, which would replace ours: its packages
# are unpacked into build/bench-http/ngx-lua instead and nginx loads them from there.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=$(pwd)
DUR=${DUR:-10}
REPEAT=${REPEAT:-3}
N=${N:-20000}
out=build/bench-http
mkdir -p "$out"
export LUA_PATH="$here/lua/?.lua;;" LUA_CPATH="$here/build/release/?.so;;"

ngx=$here/$out/ngx-lua
if [ ! -f "$ngx/root/usr/lib/nginx/modules/ngx_http_lua_module.so" ]; then
  mkdir -p "$ngx"
  (cd "$ngx" && apt-get download libnginx-mod-http-lua libnginx-mod-http-ndk libluajit2-5.1-2 \
    lua-resty-core lua-resty-lrucache >/dev/null && for f in *.deb; do dpkg -x "$f" root; done)
fi
if [ ! -x "$out/beast_hello" ] || [ bench/http/beast_hello.cpp -nt "$out/beast_hello" ]; then
  g++ -O2 -DNDEBUG -std=c++17 bench/http/beast_hello.cpp -o "$out/beast_hello" -lpthread
fi

port=$((20000 + RANDOM % 20000))

nginx_conf() { # nginx_conf DIR PORT LOCATION_BODY
  mkdir -p "$1/tmp"
  cat >"$1/nginx.conf" <<CONF
load_module $ngx/root/usr/lib/nginx/modules/ndk_http_module.so;
load_module $ngx/root/usr/lib/nginx/modules/ngx_http_lua_module.so;
worker_processes 1;
daemon off;
master_process off;
pid $1/nginx.pid;
error_log $1/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $1/tmp; proxy_temp_path $1/tmp; fastcgi_temp_path $1/tmp;
  uwsgi_temp_path $1/tmp; scgi_temp_path $1/tmp;
  lua_package_path "$ngx/root/usr/share/lua/5.1/?.lua;;";
  server { listen 127.0.0.1:$2; location / { $3 } }
}
CONF
}

start_server() { # start_server NAME: starts it on core 1 at $port, sets $pid
  case $1 in
    asio) taskset -c 1 luajit bench/http/hello_asio.lua "$port" & pid=$! ;;
    nginx-lua)
      nginx_conf "$here/$out/nginx-lua" "$port" 'content_by_lua_block { ngx.say("hello") }'
      LD_LIBRARY_PATH="$ngx/root/usr/lib/x86_64-linux-gnu" taskset -c 1 nginx -p "$here/$out/nginx-lua" \
        -c "$here/$out/nginx-lua/nginx.conf" -e "$here/$out/nginx-lua/error.log" & pid=$! ;;
    beast) taskset -c 1 "$out/beast_hello" "$port" & pid=$! ;;
    lua-http) taskset -c 1 luajit bench/http/hello_luahttp.lua "$port" 2>/dev/null & pid=$! ;;
  esac
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && return 0
    sleep 0.1
  done
  echo "$1 did not start" >&2
  return 1
}

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
spread() { sort -g | awk 'NR==1{lo=$1} {hi=$1} END {printf "%s..%s", lo, hi}'; }

results=$out/results.txt
: >"$results"
for name in nginx-lua asio beast lua-http; do
  for r in $(seq "$REPEAT"); do
    port=$((port + 1))
    start_server "$name"
    t0=$(ticks "$pid")
    w=$(taskset -c 0 wrk -t1 -c100 -d"${DUR}s" "http://127.0.0.1:$port/")
    t1=$(ticks "$pid")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    reqs=$(echo "$w" | awk '/requests in/ {print $1}')
    rps=$(echo "$w" | awk '/Requests\/sec/ {print $2}')
    us=$(awk -v t=$((t1 - t0)) -v hz="$hz" -v n="$reqs" 'BEGIN {printf "%.2f", t / hz * 1e6 / n}')
    cpu=$(awk -v t=$((t1 - t0)) -v hz="$hz" -v d="$DUR" 'BEGIN {printf "%.0f", t / hz / d * 100}')
    echo "$name run $r: $rps requests/s, $us us of server CPU per request, server core $cpu%"
    echo "$name $rps $us" >>"$results"
  done
done

echo
echo "| server | requests/s (median, min..max) | server CPU per request, µs | CPU/request vs nginx + Lua |"
echo "|---|---|---|---|"
base=$(awk '$1=="nginx-lua" {print $3}' "$results" | median)
for name in nginx-lua asio beast lua-http; do
  rps=$(awk -v n=$name '$1==n {print $2}' "$results")
  us=$(awk -v n=$name '$1==n {print $3}' "$results")
  m=$(echo "$us" | median)
  echo "| $name | $(echo "$rps" | median) ($(echo "$rps" | spread)) | $m ($(echo "$us" | spread)) | $(awk -v a="$m" -v b="$base" 'BEGIN {printf "%.2f", a / b}') |"
done

# The client: N keep-alive GETs of nginx's static hello, one at a time.
echo
port=$((port + 1))
mkdir -p "$out/nginx-static/www"
echo hello >"$out/nginx-static/www/index.html"
nginx_conf "$here/$out/nginx-static" "$port" "root $here/$out/nginx-static/www;"
LD_LIBRARY_PATH="$ngx/root/usr/lib/x86_64-linux-gnu" taskset -c 1 nginx -p "$here/$out/nginx-static" \
  -c "$here/$out/nginx-static/nginx.conf" -e "$here/$out/nginx-static/error.log" & pid=$!
sleep 0.5
url="http://127.0.0.1:$port/index.html"
awk -v u="$url" -v n="$N" 'BEGIN {for (i = 0; i < n; i++) printf "url = \"%s\"\noutput = \"/dev/null\"\n", u}' >"$out/curl.cfg"
for r in $(seq "$REPEAT"); do
  a=$(taskset -c 0 luajit bench/http/client_asio.lua "$url" "$N" | awk '{printf "%.0f", $1 / $2}')
  s0=$(date +%s.%N)
  taskset -c 0 curl -s --http1.1 -K "$out/curl.cfg"
  s1=$(date +%s.%N)
  c=$(awk -v n="$N" -v a="$s0" -v b="$s1" 'BEGIN {printf "%.0f", n / (b - a)}')
  echo "client run $r: asio.http $a requests/s, curl $c requests/s"
done
kill "$pid"; wait "$pid" 2>/dev/null || true
