# Sourced by bench/ws/run.sh and bench/ws/ab.sh, so that both measure the same way.
#   ws_one NAME CONNS SIZE [CHECKOUT]: one run of DUR seconds against a fresh server pinned to
#   core 1 (NAME: asio, the checkout's echo_asio.lua on its own build; node; beast), the load
#   generator on core 0; prints "echoes/s us_cpu_per_echo" (the server's user+system time)
ws_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ws_bench_out=$ws_root/build/bench-ws
ws_node_modules=$HOME/.cache/lasio-node/node_modules
ws_ticks=$(getconf CLK_TCK)

ws_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# ws_start_server NAME PORT [CHECKOUT]: sets $pid once the server accepts.
ws_start_server() {
  local dir=${3:-$ws_root}
  case $1 in
    asio) LUA_PATH="$dir/lua/?.lua;;" LUA_CPATH="$dir/build/release/?.so;;" \
            taskset -c 1 luajit "$dir/bench/ws/echo_asio.lua" "$2" & pid=$! ;;
    node) NODE_PATH=$ws_node_modules taskset -c 1 node "$dir/bench/ws/echo_node.js" "$2" & pid=$! ;;
    beast) taskset -c 1 "$ws_bench_out/beast_echo" "$2" & pid=$! ;;
  esac
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "server $1 did not start" >&2
  return 1
}

ws_one() {
  local port=$((20000 + RANDOM % 20000)) c0 n c1
  ws_start_server "$1" "$port" "${4:-}" || return 1
  c0=$(ws_cpu_ticks "$pid")
  n=$(taskset -c 0 "$ws_bench_out/loadgen" "$port" "$2" "$3" "$DUR")
  c1=$(ws_cpu_ticks "$pid")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  awk -v n="$n" -v d="$DUR" -v c=$((c1 - c0)) -v t="$ws_ticks" \
    'BEGIN { printf "%.0f %.2f\n", n / d, (n > 0 ? c / t / n * 1e6 : 0) }'
}
