#!/usr/bin/env bash
# Our renderer against Blender Cycles at equal noise: for each model, Cycles renders CYCLES_SPP
# (32) samples and our renderer as many samples as it needs to reach the same RMSE; both from the
# same camera, sun and sky (cycles_render.py), same size, same threads. Each renderer's RMSE is
# measured against its own REF_SPP (1024) sample reference of the same frame rendered with
# another seed (the two renderers' images differ a little: BSDF details, sky), in one display
# space for both (image_rmse): ours from its 16-bit PNGs, Cycles' from linear OpenEXR put
# through our tone curve and sRGB encoding (Cycles' own Filmic curve is flatter, which alone
# would make its noise look smaller). Prints render and whole-process times, best of
# RUNS alternating runs each (wall and CPU = user + sys of the process), and the load average.
# Usage:
#   benchmarks/compare_cycles_noise.sh [MODEL ...]
# Without models: 2CylinderEngine.glb, OpenFOAM's motorBike.obj (openfoam-examples: 331,653
# triangles in 67 parts), the Stanford bunny scan (libcgal-demo's data, 75,408 triangles) and
# occt-misc's TR12J_OCC64K.stl split into 1,079,968 triangles (subdivide_stl.py), prepared in
# WORK_DIR.
# Environment: BUILD_DIR (render-node), BENCH_DIR (image_rmse, default BUILD_DIR: a build with
# FARM_BUILD_BENCHMARKS=ON), THREADS (2), SIZE (640x480), CYCLES_SPP (32), REF_SPP (1024),
# RUNS (3), WORK_DIR (a temporary folder; references are kept there between runs), OURS_ARGS
# (more options for our renderer, e.g. "--filter-width 0" for the box filter: give those runs
# their own WORK_DIR, as the reference is kept).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${BUILD_DIR:-$here/../build}"
bench="${BENCH_DIR:-$build}"
threads="${THREADS:-2}"; size="${SIZE:-640x480}"; cycles_spp="${CYCLES_SPP:-32}"
ref_spp="${REF_SPP:-1024}"; runs="${RUNS:-3}"
work="${WORK_DIR:-$(mktemp -d)}"
width="${size%x*}"; height="${size#*x}"
render_node="$build/render-node/render-node"
rmse_tool="$(find "$bench" -name image_rmse -type f -perm -u+x | head -n1)"
[[ -x "$render_node" ]] || { echo "error: no $render_node" >&2; exit 2; }
[[ -n "$rmse_tool" ]] || { echo "error: no image_rmse under $bench (FARM_BUILD_BENCHMARKS=ON)" >&2; exit 2; }
command -v blender >/dev/null || { echo "error: blender is not installed" >&2; exit 2; }
mkdir -p "$work"

models=("$@")
if [[ ${#models[@]} -eq 0 ]]; then
    models=(/usr/share/assimp/models/glTF2/2CylinderEngine-glTF-Binary/2CylinderEngine.glb)
    bike=/usr/share/doc/openfoam-examples/examples/resources/geometry/motorBike.obj.gz
    if [[ -f "$bike" ]]; then
        [[ -f "$work/motorBike.obj" ]] || zcat "$bike" >"$work/motorBike.obj"
        models+=("$work/motorBike.obj")
    else
        echo "note: openfoam-examples is not installed: no motorBike.obj" >&2
    fi
    # A scanned mesh: the Stanford bunny of libcgal-demo's data (75,408 triangles, no normals),
    # through OBJ, as Blender reads no OFF.
    cgal=/usr/share/doc/libcgal-dev/data.tar.gz
    if [[ -f "$cgal" ]]; then
        if [[ ! -f "$work/bunny.obj" ]]; then
            tar -xzf "$cgal" -C "$work" data/meshes/bunny00.off
            /usr/bin/python3 "$here/off_to_obj.py" "$work/data/meshes/bunny00.off" "$work/bunny.obj" >/dev/null
        fi
        models+=("$work/bunny.obj")
    else
        echo "note: libcgal-demo is not installed: no scanned bunny" >&2
    fi
    stl=/usr/share/opencascade/data/stl/TR12J_OCC64K.stl
    if [[ -f "$stl" ]]; then
        [[ -f "$work/TR12J_1M.stl" ]] || /usr/bin/python3 "$here/subdivide_stl.py" "$stl" "$work/TR12J_1M.stl" 2 >/dev/null
        models+=("$work/TR12J_1M.stl")
    fi
fi

# timed OUT_PREFIX CMD...: runs CMD, its stdout+stderr in OUT_PREFIX.log, "wall cpu" in OUT_PREFIX.time
timed() {
    local prefix="$1"; shift
    /usr/bin/time -o "$prefix.time" -f '%e %U %S' "$@" >"$prefix.log" 2>&1
    awk '{printf "%.3f %.3f\n", $1, $2 + $3}' "$prefix.time" >"$prefix.t"
}
ours() { # ours OUT SPP SEED PREFIX
    # shellcheck disable=SC2086 # OURS_ARGS: words
    timed "$4" "$render_node" render "$model" -o "$1" --size "$size" --spp "$2" --seed "$3" --threads "$threads" --bit-depth 16 ${OURS_ARGS:-}
}
cycles() { # cycles OUT SPP SEED PREFIX
    timed "$4" blender -b --factory-startup -P "$here/cycles_render.py" -- \
        "$model" "$1" "$width" "$height" "$2" "$camera" "$3" "$threads"
    grep -q '^cycles_render_s' "$4.log" || { tail -n 20 "$4.log" >&2; echo "error: Cycles failed" >&2; exit 4; }
}
# Our render time: the BVH build (Cycles' render includes its own) plus the frame.
ours_render_s() {
    local bvh frame
    bvh=$(grep -o 'nodes in [0-9.]* ms' "$1.log" | awk '{print $3}')
    frame=$(grep -o 'spp in [0-9.]* ms' "$1.log" | awk '{print $3}')
    echo "($bvh + $frame) / 1000" | bc -l
}
min() { printf '%s\n' "$@" | sort -g | head -n1; }

echo "load before: $(uptime | sed 's/.*load average: //')"
summary=()
for model in "${models[@]}"; do
    name="$(basename "$model")"; dir="$work/${name%.*}-$size-$ref_spp"; mkdir -p "$dir"
    camera=$("$render_node" render "$model" -o "$dir/probe.png" --size "$size" --spp 1 --threads "$threads" | grep '^camera ' | head -n1)
    [[ -f "$dir/ref_ours.png" ]] || ours "$dir/ref_ours.png" "$ref_spp" 7777 "$dir/ref_ours"
    [[ -f "$dir/ref_cycles.exr" ]] || cycles "$dir/ref_cycles.exr" "$ref_spp" 7777 "$dir/ref_cycles"
    cycles "$dir/cycles.exr" "$cycles_spp" 0 "$dir/cycles_0"
    target=$("$rmse_tool" "$dir/cycles.exr" "$dir/ref_cycles.exr")

    # The fewest samples at which our frame's RMSE is at most Cycles': a guess from RMSE ~ 1/sqrt(spp),
    # then bisection between a count that misses and one that meets it.
    declare -A err=()
    measure() { ours "$dir/ours_$1.png" "$1" 1 "$dir/ours_$1"; err[$1]=$("$rmse_tool" "$dir/ours_$1.png" "$dir/ref_ours.png"); }
    measure "$cycles_spp"
    guess=$(echo "n = $cycles_spp * (${err[$cycles_spp]} / $target)^2; scale = 0; n / 1 + 1" | bc -l)
    (( guess < 1 )) && guess=1; (( guess > 4096 )) && guess=4096
    lo=0; hi=0
    n=$guess
    for _ in $(seq 12); do
        [[ -n "${err[$n]:-}" ]] || measure "$n"
        if (( $(echo "${err[$n]} <= $target" | bc -l) )); then hi=$n; else lo=$n; fi
        if (( hi == 0 )); then (( lo == 4096 )) && break; n=$(( n * 3 / 2 + 1 > 4096 ? 4096 : n * 3 / 2 + 1 ))
        elif (( hi - lo <= 1 || hi - lo <= hi / 16 )); then break
        elif (( lo == 0 )); then n=$(( hi * 3 / 4 ))
        else n=$(( (lo + hi) / 2 )); fi
    done
    (( hi > 0 )) || { echo "error: $name: 4096 spp do not reach Cycles' RMSE $target" >&2; exit 5; }

    c_render=() c_wall=() c_cpu=() o_render=() o_wall=() o_cpu=()
    for run in $(seq "$runs"); do
        if (( run > 1 )); then cycles "$dir/cycles.exr" "$cycles_spp" 0 "$dir/cycles_$run"; fi
        c_render+=("$(grep -o 'cycles_render_s [0-9.]*' "$dir/cycles_$(( run > 1 ? run : 0 )).log" | awk '{print $2}')")
        read -r w c <"$dir/cycles_$(( run > 1 ? run : 0 )).t"; c_wall+=("$w"); c_cpu+=("$c")
        ours "$dir/ours_timed.png" "$hi" 1 "$dir/ours_timed_$run"
        o_render+=("$(ours_render_s "$dir/ours_timed_$run")")
        read -r w c <"$dir/ours_timed_$run.t"; o_wall+=("$w"); o_cpu+=("$c")
    done
    cmp -s "$dir/ours_timed.png" "$dir/ours_$hi.png" || echo "note: $name: the timed frame differs from the measured one" >&2
    triangles=$(grep -o 'scene: [0-9]* triangles' "$dir/ours_timed_1.log" | awk '{print $2}')
    cr=$(min "${c_render[@]}"); cw=$(min "${c_wall[@]}"); cc=$(min "${c_cpu[@]}")
    orr=$(min "${o_render[@]}"); ow=$(min "${o_wall[@]}"); oc=$(min "${o_cpu[@]}")
    printf '\n%s (%s triangles), %s, %s threads, best of %s runs\n' "$name" "$triangles" "$size" "$threads" "$runs"
    printf '  Cycles %s spp: RMSE %s against its %s spp reference\n' "$cycles_spp" "$target" "$ref_spp"
    printf '  ours: RMSE %s at %s spp (%s spp: %s; %s spp: %s)\n' "${err[$hi]}" "$hi" "$cycles_spp" "${err[$cycles_spp]}" "$lo" "${err[$lo]:-none}"
    printf '  %-22s %10s %10s %10s\n' "" "render s" "process s" "CPU s"
    printf '  %-22s %10.3f %10.3f %10.3f\n' "Cycles $cycles_spp spp" "$cr" "$cw" "$cc"
    printf '  %-22s %10.3f %10.3f %10.3f\n' "ours $hi spp" "$orr" "$ow" "$oc"
    printf '  %-22s %9.2fx %9.2fx %9.2fx\n' "speed-up" "$(echo "$cr / $orr" | bc -l)" "$(echo "$cw / $ow" | bc -l)" "$(echo "$cc / $oc" | bc -l)"
    summary+=("$(printf '%-22s %9s %6s %8s %8.3f %8.3f %8.3f %8.3f %6.2fx %6.2fx' "$name" "$triangles" "$hi" "$target" "$cr" "$orr" "$cw" "$ow" "$(echo "$cr / $orr" | bc -l)" "$(echo "$cw / $ow" | bc -l)")")
    unset err
done
echo
printf '%-22s %9s %6s %8s %8s %8s %8s %8s %7s %7s\n' model triangles "ours" "RMSE" "Cyc rnd" "our rnd" "Cyc proc" "our proc" "render" "process"
printf '%s\n' "${summary[@]}"
echo "load after: $(uptime | sed 's/.*load average: //')"
echo "images and logs: $work"
