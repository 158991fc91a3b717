# Sourced by bench/ws/run.sh and bench/ws/ab.sh: starting a server pinned to core 1 and reading
# its CPU time, so that both scripts measure the same way.
#   ws_start_server NAME PORT [CHECKOUT]: sets $pid; NAME is asio (the checkout's echo_asio.lua
#   on its own build), node or beast
#   ws_cpu_ticks PID: user+system clock ticks of the process so far
ws_bench_out=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/bench-ws
ws_node_modules=$HOME/.cache/lasio-node/node_modules

ws_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

ws_start_server() {
  local dir=${3:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
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
