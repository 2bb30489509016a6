#!/usr/bin/env bash
# One command for a one-machine farm: installs dependencies, builds, starts farm-server (SQLite and
# files in ./farm-data) and one local render-node, prints the dashboard URL. Ctrl-C stops both.
#   PORT=8420 DATA_DIR=./farm-data SLOTS=1 scripts/run-farm.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
port=${PORT:-8420}
data=${DATA_DIR:-$here/farm-data}
build=${BUILD_DIR:-$here/build}

"$here/scripts/setup-deps.sh"
BUILD_DIR="$build" "$here/scripts/build.sh" -DFARM_BUILD_TESTS=OFF

mkdir -p "$data"
server_pid=""
node_pid=""
stop() {
    trap - INT TERM EXIT
    echo
    echo "Stopping the farm..."
    [[ -n "$node_pid" ]] && kill -TERM "$node_pid" 2>/dev/null || true
    [[ -n "$server_pid" ]] && kill -TERM "$server_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    echo "Stopped."
}
trap stop INT TERM EXIT

"$build/farm-server/farm-server" --port "$port" --data "$data" &
server_pid=$!
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { echo "error: farm-server did not start" >&2; exit 1; }
    sleep 0.1
done
"$build/render-node/render-node" --server "http://127.0.0.1:$port" --name "$(hostname)-local" --slots "${SLOTS:-1}" &
node_pid=$!

cat <<TXT

  Farmhand is running.
    Dashboard:  http://127.0.0.1:$port/
    Submit:     $build/shared/farmctl/farmctl submit MODEL.glb --frames 1-24 --turntable --chunk 4
    Desktop:    $build/app-gui/farm-gui --server http://127.0.0.1:$port
  Press Ctrl-C to stop the server and the node.

TXT
wait -n "$server_pid" "$node_pid" || true
