#!/usr/bin/env bash
# One command for all tests: installs dependencies, builds (Release, with tests), checks formatting,
# runs every test suite headless through CTest.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$here/build}

"$here/scripts/setup-deps.sh" --test
BUILD_DIR="$build" "$here/scripts/build.sh" -DFARM_BUILD_TESTS=ON

echo "== clang-format check"
cd "$here"
mapfile -t sources < <(git ls-files '*.cpp' '*.h' '*.cu' '*.cuh' 2>/dev/null || true)
if ((${#sources[@]})); then
    clang-format --dry-run -Werror "${sources[@]}"
fi

echo "== tests"
# The store and scheduler tests run on SQLite and on a real PostgreSQL (docs/DATABASE.md): a
# throwaway server on a private port and data dir, stopped when this script ends, pass or fail.
source "$here/scripts/test-postgres.sh"
trap farm_pg_stop EXIT
farm_pg_start
cd "$build"
export QT_QPA_PLATFORM=offscreen
ctest --output-on-failure --timeout 600 -j"${CTEST_JOBS:-1}"

# A bounded libFuzzer run of every parser target (docs/FUZZING.md): the clang build from scratch
# plus 15 s a target took 1 min 46 s on 2 cores with 4 targets; keep it under 3 minutes.
# FUZZ_SECONDS sets the time a target, 0 skips it.
echo "== fuzz"
if ((${FUZZ_SECONDS:-15} > 0)); then
    "$here/scripts/fuzz.sh" "${FUZZ_SECONDS:-15}"
fi
