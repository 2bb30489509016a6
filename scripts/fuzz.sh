#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (in build-fuzz) and runs each for a bounded
# time over its committed seeds (docs/FUZZING.md). Exits non-zero when a target crashes, leaks,
# hangs or breaks one of its invariants; the input that did it lands in build-fuzz/crashes/.
#   scripts/fuzz.sh [seconds-per-target] [target...]      e.g. scripts/fuzz.sh 300 json
# Environment: FUZZ_BUILD_DIR (default build-fuzz), FUZZ_JOBS (build jobs, default 2),
# FUZZ_ARGS (more libFuzzer flags, e.g. "-jobs=4 -workers=4").
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$here/build-fuzz}
seconds=${1:-20}
(($# > 0)) && shift
wanted=("$@")

if ! command -v clang++ >/dev/null 2>&1; then
    echo "fuzz: clang++ not found; scripts/setup-deps.sh --test installs clang and libFuzzer" >&2
    exit 1
fi
generator=()
command -v ninja >/dev/null 2>&1 && [[ ! -f "$build/CMakeCache.txt" ]] && generator=(-G Ninja)
cmake -S "$here/tests/fuzz" -B "$build" "${generator[@]}" -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build "$build" -j"${FUZZ_JOBS:-2}"

mapfile -t targets <"$build/targets.txt"
((${#wanted[@]})) && targets=("${wanted[@]}")
mkdir -p "$build/logs" "$build/crashes"
read -r -a extra <<<"${FUZZ_ARGS:-}"
failed=()
for t in "${targets[@]}"; do
    [[ -n "$t" ]] || continue
    exe="$build/fuzz_$t"
    [[ -x "$exe" ]] || { echo "fuzz: no target '$t' (see tests/fuzz/CMakeLists.txt)" >&2; exit 1; }
    corpus="$build/corpus/$t" # new inputs go here; the committed seeds stay as they are
    mkdir -p "$corpus"
    args=(-max_total_time="$seconds" -rss_limit_mb=1024 -timeout=10 -print_final_stats=1
        -artifact_prefix="$build/crashes/$t-")
    [[ -f "$here/tests/fuzz/$t.dict" ]] && args+=(-dict="$here/tests/fuzz/$t.dict")
    log="$build/logs/$t.log"
    if "$exe" "${args[@]}" "${extra[@]}" "$corpus" "$here/tests/fuzz/corpus/$t" >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
        cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[^ ]+' || true)
        printf 'fuzz_%-11s ok  %10s runs in %ss, %7s exec/s, %s\n' "$t" "${runs:-?}" "$seconds" \
            "${rate:-?}" "${cov:-no coverage line}"
    else
        echo "fuzz_$t FAILED (log: $log):"
        grep -E '^==[0-9]+==ERROR|^==fuzz==|^SUMMARY|runtime error|Test unit written|^artifact_prefix' "$log" |
            head -20 || true
        tail -n 40 "$log"
        failed+=("$t")
    fi
done
if ((${#failed[@]})); then
    echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}; rerun one input with" \
        "$build/fuzz_<target> <file from $build/crashes>" >&2
    exit 1
fi
