#!/usr/bin/env bash
# Template-set benchmark (issue 3's goal: 42 views at 640x480 with rgb, mask, xyz and depth of
# 2CylinderEngine.glb in under 3 s on 2 cores). Prints bench_templates' time per stage, then the
# wall/CPU time of the real command, run twice. Usage:
#   benchmarks/bench_templates.sh [MODEL] [VIEWS] [THREADS]      (BUILD_DIR: the build folder)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
model="${1:-/usr/share/assimp/models/glTF2/2CylinderEngine-glTF-Binary/2CylinderEngine.glb}"
views="${2:-42}"; threads="${3:-2}"
build="${BUILD_DIR:-$here/../build}"
cli="$build/render-node/render-node"
bench="$build/benchmarks/bench_templates"
[[ -x "$cli" ]] || { echo "error: $cli not built" >&2; exit 2; }
[[ -x "$bench" ]] || { echo "error: $bench not built (-DFARM_BUILD_BENCHMARKS=ON)" >&2; exit 2; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$bench" "$model" --views "$views" --threads "$threads" --out "$out/stages"
for run in 1 2; do
    rm -rf "$out/cli"
    /usr/bin/time -f "%e %U %S" -o "$out/time" "$cli" render "$model" -o "$out/cli" \
        --views "$views" --spp 1 --passes rgb,mask,xyz,depth --threads "$threads" >"$out/log"
    read -r wall user sys <"$out/time"
    files=$(find "$out/cli" -type f | wc -l)
    echo "render --views $views (run $run): wall ${wall} s, CPU user ${user} s + sys ${sys} s, $files files, load $(cut -d' ' -f1 /proc/loadavg)"
done
