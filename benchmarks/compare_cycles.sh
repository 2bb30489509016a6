#!/usr/bin/env bash
# Renders one frame of a glTF/GLB model with our renderer and with Blender Cycles (CPU, no
# denoising) at the same resolution, samples, camera and sun, prints both times and writes a
# side-by-side PNG. Usage:
#   benchmarks/compare_cycles.sh [MODEL.glb] [WIDTH] [HEIGHT] [SPP] [OUTDIR]
# RENDER_CMD overrides our renderer's command (default: render-node render, else the test driver).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
model="${1:-/usr/share/assimp/models/glTF2/2CylinderEngine-glTF-Binary/2CylinderEngine.glb}"
width="${2:-640}"; height="${3:-480}"; spp="${4:-32}"; outdir="${5:-$(mktemp -d)}"
build="${BUILD_DIR:-$here/../build}"
if [[ -z "${RENDER_CMD:-}" ]]; then
    if [[ -x "$build/render-node/render-node" ]]; then
        RENDER_CMD="$build/render-node/render-node render"
    else
        RENDER_CMD="$(find "$build" -name farm_render_cli_driver -type f -perm -u+x | head -n1)"
    fi
fi
command -v blender >/dev/null || { echo "error: blender is not installed" >&2; exit 2; }
mkdir -p "$outdir"

start=$(date +%s.%N)
ours_log=$($RENDER_CMD "$model" -o "$outdir/ours.png" --size "${width}x${height}" --spp "$spp")
ours_wall=$(echo "$(date +%s.%N) - $start" | bc)
camera=$(grep '^camera ' <<<"$ours_log" | head -n1)
ours_ms=$(grep -o 'spp in [0-9.]* ms' <<<"$ours_log" | awk '{print $3}')

start=$(date +%s.%N)
cycles_log=$(blender -b --factory-startup -P "$here/cycles_render.py" -- \
    "$model" "$outdir/cycles.png" "$width" "$height" "$spp" "$camera" 2>&1)
cycles_wall=$(echo "$(date +%s.%N) - $start" | bc)
cycles_s=$(grep -o 'cycles_render_s [0-9.]*' <<<"$cycles_log" | awk '{print $2}')
[[ -n "$cycles_s" ]] || { echo "$cycles_log" | tail -n 20 >&2; echo "error: Cycles failed" >&2; exit 4; }

convert "$outdir/ours.png" "$outdir/cycles.png" +append "$outdir/side_by_side.png"
printf 'model %s, %sx%s, %s spp, %s threads\n' "$(basename "$model")" "$width" "$height" "$spp" "$(nproc)"
printf '%-10s %14s %14s\n' renderer "render s" "process s"
printf '%-10s %14.3f %14.3f\n' ours "$(echo "$ours_ms / 1000" | bc -l)" "$ours_wall"
printf '%-10s %14.3f %14.3f\n' cycles "$cycles_s" "$cycles_wall"
printf 'speed-up (render): %.2fx\n' "$(echo "$cycles_s / ($ours_ms / 1000)" | bc -l)"
echo "side by side: $outdir/side_by_side.png"
