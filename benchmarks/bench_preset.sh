#!/usr/bin/env bash
# The sam6d template preset (docs/TEMPLATES.md) end to end: wall and CPU time of
# `render --preset sam6d` (42 views, 640x480, PASSES (default rgb,mask,xyz,depth), 2 threads) on
# 2CylinderEngine.glb and on a ~1M-triangle mesh (occt-misc's TR12J_OCC64K.stl split 16 times by
# subdivide_stl.py), each run RUNS times (default 3; the best CPU time is printed last, since the
# machine is often shared), with the load average; then bench_presetnoise's RMSE against
# 1024-spp references (VIEWS, default 0,20,36; NOISE=0 skips it: the references take minutes;
# REF_DIR keeps them for the next run).
#   benchmarks/bench_preset.sh            (BUILD_DIR: a build with FARM_BUILD_BENCHMARKS=ON;
#                                          CLI: another render-node binary, e.g. an older build;
#                                          AS_NODE=1: start it as the node does, with the malloc
#                                          settings of render-node/renderer/childprotocol.h in
#                                          GLIBC_TUNABLES, so it does not start itself again)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${BUILD_DIR:-$here/../build}"
cli="${CLI:-$build/render-node/render-node}"
bench="$build/benchmarks/bench_presetnoise"
[[ -x "$cli" ]] || { echo "error: $cli not built" >&2; exit 2; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
engine=/usr/share/assimp/models/glTF2/2CylinderEngine-glTF-Binary/2CylinderEngine.glb
big="$out/tr12j_x16.stl"
python3 "$here/subdivide_stl.py" /usr/share/opencascade/data/stl/TR12J_OCC64K.stl "$big" 2
passes="${PASSES:-rgb,mask,xyz,depth}"
if [[ "${AS_NODE:-0}" == 1 ]]; then # kMallocTunables, its string literals joined
    GLIBC_TUNABLES="$(grep -A1 'kMallocTunables\[\] =' "$here/../render-node/renderer/childprotocol.h" |
        grep -o '"[^"]*"' | tr -d '"\n')"
    [[ "$GLIBC_TUNABLES" == *glibc.malloc.hugetlb* ]] || { echo "error: no kMallocTunables" >&2; exit 2; }
    export GLIBC_TUNABLES
    echo "as the node: GLIBC_TUNABLES=$GLIBC_TUNABLES"
fi
for model in "$engine" "$big"; do
    best=""
    for run in $(seq "${RUNS:-3}"); do
        rm -rf "$out/set"
        load="$(cut -d' ' -f1-3 /proc/loadavg)"
        /usr/bin/time -f "%e %U %S" -o "$out/time" "$cli" render "$model" -o "$out/set" \
            --preset sam6d --size 640x480 --threads 2 --passes "$passes" >"$out/log"
        read -r wall user sys <"$out/time"
        cpu="$(echo "$user + $sys" | bc)"
        scene="$(grep -m1 '^scene:' "$out/log" | sed 's/.*, load/load/')"
        echo "$(basename "$model") run $run ($passes): wall ${wall} s, CPU ${user} + ${sys} s, $(ls "$out/set" | wc -l) files, load before ${load}; ${scene}"
        if [[ -z "$best" ]] || (( $(echo "$cpu < ${best%% *}" | bc) )); then best="$cpu s CPU, wall $wall s"; fi
    done
    echo "$(basename "$model") best: $best"
done
if [[ "${NOISE:-1}" != 0 && -x "$bench" ]]; then
    for model in "$engine" "$big"; do
        echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
        "$bench" "$model" --views "${VIEWS:-0,20,36}" ${REF_DIR:+--ref-dir "$REF_DIR"}
    done
fi
