#!/usr/bin/env bash
# Installs what Farmhand needs on Debian 12 (bookworm). Idempotent; run as root (or with sudo).
#   scripts/setup-deps.sh          build + run dependencies
#   scripts/setup-deps.sh --test   also what the tests need (test models, Xvfb, Chromium, Node.js + playwright-core,
#                                  clang + libFuzzer, a PostgreSQL server)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

with_tests=0
[[ "${1:-}" == "--test" ]] && with_tests=1

pkgs=(
    build-essential cmake ninja-build pkg-config ca-certificates curl
    qt6-base-dev qt6-websockets-dev libqt6sql6-sqlite qt6-charts-dev libqt6opengl6-dev
    # Qt's PostgreSQL driver (QPSQL): farm-server --database postgresql://… (docs/DATABASE.md)
    libqt6sql6-psql
    libassimp-dev libsqlite3-dev libopenexr-dev zlib1g-dev libzip-dev
    libavcodec-dev libavformat-dev libswscale-dev libavutil-dev
    # compose: libass draws the timed text; Noto CJK is the default font (Latin, Hangul, kana, CJK)
    libass-dev fonts-noto-cjk
    # question-card narration: espeak-ng speaks the text (its voices: espeak-ng-data);
    # libswresample (with FFmpeg's dev packages) brings it to the video's audio rate
    libespeak-ng-dev espeak-ng-data libswresample-dev
    # textures in TGA, TIFF and WebP (Qt's own image readers cover PNG, JPEG, BMP and GIF only)
    qt6-image-formats-plugins
    # farm-gui's action icons (it falls back to Qt's own few without a theme)
    adwaita-icon-theme
    # farm-gui plays video outputs (Qt Multimedia; its FFmpeg backend is in libqt6multimedia6)
    qt6-multimedia-dev
    blender
)
if ((with_tests)); then
    pkgs+=(assimp-testmodels occt-misc xvfb xauth chromium clang-format zip python3-numpy)
    # A PostgreSQL server for the store tests (scripts/test-postgres.sh starts a private one).
    # A farm on PostgreSQL runs its server wherever the admin likes: farm-server needs only
    # libqt6sql6-psql above.
    pkgs+=(postgresql)
    # ffprobe reads back the encoded videos (tst_video_e2e); farm-video-bench runs the ffmpeg command.
    pkgs+=(ffmpeg)
    # promtool checks /metrics (tst_metrics); Debian ships it only inside prometheus (~96 MB
    # installed, no daemon started without systemd): small next to blender and chromium.
    pkgs+=(prometheus)
    # The fuzz targets (scripts/fuzz.sh): clang, and libFuzzer's runtime, which Debian 12 ships
    # in libclang-rt-14-dev (libclang-rt-dev); clang only recommends it.
    pkgs+=(clang libclang-rt-dev)
    command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
    command -v npm >/dev/null 2>&1 || pkgs+=(npm)
fi

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup-deps: installing ${missing[*]}"
    sudo_cmd=()
    [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -q
    "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    echo "setup-deps: all packages present"
fi

if ((with_tests)); then
    # The web UI test runs on Debian 12's own Node.js (18.20): playwright-core is pinned in
    # tests/web-ui/package-lock.json to the last release whose engines accept Node 18 (1.61.1).
    # It drives the system Chromium and downloads no browser.
    node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
    if ((node_major < 18)); then
        echo "setup-deps: Node.js $(node --version 2>/dev/null || echo 'not found') is too old for the web UI test, which needs 18 or newer." >&2
        echo "setup-deps: fix: apt-get install nodejs npm   (Debian 12 ships Node 18.20)" >&2
        exit 1
    fi
    # axe-core (the accessibility rules the web UI tests run in every page) comes the same way.
    webui="$here/tests/web-ui"
    versions='const l = require("./package-lock.json").packages; let have = "";
        for (const m of ["playwright-core", "axe-core"]) {
            try { have = require(`./node_modules/${m}/package.json`).version; } catch { have = ""; }
            console.log(`${m} ${l[`node_modules/${m}`].version} ${have}`); }'
    stale=$(cd "$webui" && node -e "$versions" | awk '$2 != $3 { print $1 " " $2 }')
    if [[ -n "$stale" ]]; then
        echo "setup-deps: npm ci in tests/web-ui (from the lock file: $(echo $stale))"
        (cd "$webui" && npm ci --no-audit --no-fund --loglevel=error)
    fi
fi
