#!/usr/bin/env bash
# Benchmarks (programs that print numbers; nothing here is a pass/fail test). Installs Embree
# (reference for ray throughput) and Blender (reference for frame times), builds with
# benchmarks on, and runs them. Run as root on Debian 12.
#   scripts/bench.sh            rays vs Embree + frames vs Cycles
#   BENCH=rays scripts/bench.sh only one of: rays, cycles, cycles-noise (equal noise, long:
#                               1024-sample references), server
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$here/build-bench}
export DEBIAN_FRONTEND=noninteractive

"$here/scripts/setup-deps.sh" --test
need=()
for p in libembree-dev blender python3-numpy bc openfoam-examples libcgal-demo; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if ((${#need[@]})); then
    apt-get update -q && apt-get install -y -q --no-install-recommends "${need[@]}"
fi
BUILD_DIR="$build" "$here/scripts/build.sh" -DFARM_BUILD_TESTS=OFF -DFARM_BUILD_BENCHMARKS=ON

what=${BENCH:-all}
if [[ $what == all || $what == rays ]]; then
    echo "== rays: ours vs Embree"
    "$build/benchmarks/bench_rays"
fi
if [[ $what == all || $what == cycles ]]; then
    echo "== frames: ours vs Blender Cycles"
    BUILD_DIR="$build" "$here/benchmarks/compare_cycles.sh"
fi
if [[ $what == cycles-noise ]]; then
    echo "== frames at equal noise: ours vs Blender Cycles at 32 samples"
    BUILD_DIR="$build" "$here/benchmarks/compare_cycles_noise.sh"
fi
if [[ $what == all || $what == server ]]; then
    # docs/PERFORMANCE.md: simulated nodes over real WebSockets against a real farm-server
    # (a fresh data dir each run); every run checks that each task ran exactly once.
    swarm="$build/farm-server/farm-swarm"
    echo "== server: swarm of simulated nodes (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
    "$swarm" --nodes 10 --tasks 2000
    "$swarm" --nodes 200 --tasks 5000
    "$swarm" --nodes 1000 --tasks 10000
    "$swarm" --nodes 1000 --tasks 100000 --jobs 10 --time-limit 900
    echo "== server: 5% of the nodes killed and reconnected, and the server killed once, mid-run"
    "$swarm" --nodes 200 --tasks 5000 --churn 5 --restart-server-once
    echo "== server: GET /api/v1/jobs (a page of 50) with 50 connections, /health meanwhile"
    "$swarm" --reads 10 --clients 50
    echo "== scheduler alone (no sockets, no process)"
    "$build/farm-server/farm-server-swarmbench" 1000 20000
fi
