#!/usr/bin/env bash
# Screenshots of farm-gui's main views for docs/screenshots/gui/, taken against a real farm:
# a farm-server on a temporary data directory, one render-node, jobs submitted with farmctl
# (a finished turntable with depth, normal and instance passes, a failed job, a paused job and
# one still rendering, the turntable encoded into a video), then farm-gui under Xvfb (offscreen
# when xvfb-run is missing): the main views, the video player, Encode video… and a submit dialog.
#   scripts/gui-screenshots.sh [BUILD_DIR] [OUT_DIR]
# Needs a build with farm-server, render-node, farmctl and farm-gui, and assimp-testmodels.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${1:-$here/build}" && pwd)
out=${2:-$here/docs/screenshots/gui}
mkdir -p "$out"
out=$(cd "$out" && pwd)
models=/usr/share/assimp/models
for bin in farm-server/farm-server render-node/render-node shared/farmctl/farmctl app-gui/farm-gui; do
    [[ -x "$build/$bin" ]] || { echo "gui-screenshots: $build/$bin is not built" >&2; exit 1; }
done
[[ -d "$models/glTF2/BoxTextured-glTF" ]] || { echo "gui-screenshots: install assimp-testmodels" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
"$build/farm-server/farm-server" --port "$port" --bind 127.0.0.1 --data "$work/data" \
    --lease 6 --heartbeat 1 >"$work/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
    curl -fs "$url/health" >/dev/null 2>&1 && break
    sleep 0.2
done
"$build/render-node/render-node" --server "$url" --name ws-lab-1 --slots 1 \
    --cache "$work/cache" >"$work/node.log" 2>&1 &
pids+=($!)

ctl() { "$build/shared/farmctl/farmctl" --server "$url" "$@"; }
for _ in $(seq 100); do
    ctl nodes 2>/dev/null | grep -q ws-lab-1 && break
    sleep 0.2
done

# A finished turntable with its passes (the frame viewer's false colours).
box=$(ctl submit "$models/glTF2/BoxTextured-glTF/BoxTextured.gltf" --name "box turntable" \
    --size 320x240 --spp 16 --frames 1-6 --chunk 3 --turntable --passes rgb,depth,normal,instance)
ctl wait "$box" --timeout 600 >/dev/null
# Its frames as a video (POST /api/v1/jobs/{id}/encode), played in the app.
video=$(curl -fs -X POST "$url/api/v1/jobs/$box/encode" -H 'Content-Type: application/json' \
    -d '{"name": "box turntable (video)", "settings": {"fps": 6}}' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
ctl wait "$video" --timeout 600 >/dev/null
# A dropped folder holding a file the model type does not take beside its main file.
mkdir -p "$work/drop/Box scene"
cp "$models/glTF2/BoxTextured-glTF/"* "$work/drop/Box scene/"
echo "render the logo side first" >"$work/drop/Box scene/notes.txt"
# A job that fails: bytes no model reader takes.
head -c 4096 /dev/urandom >"$work/broken.stl"
ctl submit "$work/broken.stl" --name "broken scan" --spp 1 >/dev/null
# A paused job.
paused=$(ctl submit "$models/OBJ/box.obj" --name "box still" --spp 8 --priority 30)
ctl pause "$paused" >/dev/null || true
# One rendering while the screenshots are taken.
running=$(ctl submit "$models/OBJ/spider.obj" --name "spider orbit" --size 640x480 --spp 256 \
    --frames 1-40 --chunk 40 --turntable)
for _ in $(seq 300); do
    ctl status "$running" 2>/dev/null | grep -q active && break
    sleep 0.2
done
sleep 4

shoot() { # NAME ARGS...
    local name=$1
    shift
    local run=(env QT_QPA_PLATFORM=offscreen)
    command -v xvfb-run >/dev/null && run=(xvfb-run -a -s "-screen 0 1600x1000x24")
    XDG_CONFIG_HOME="$work/config-$name" "${run[@]}" "$build/app-gui/farm-gui" \
        --screenshot "$out/$name.png" "$@" >/dev/null 2>&1 ||
        echo "gui-screenshots: $name failed" >&2
    [[ -s "$out/$name.png" ]] && echo "gui-screenshots: $out/$name.png"
}
shoot jobs --server "$url" --select "$box" --size 1280x720
shoot running --server "$url" --select "$running" --size 1280x720
shoot log --server "$url" --select "$running" --view log --size 1280x720
shoot viewer-depth --server "$url" --select "$box" --view viewer:depth --size 1280x720
shoot viewer-instance --server "$url" --select "$box" --view viewer:instance --size 1280x720
shoot video --server "$url" --select "$video" --view video:video.mp4 --size 1280x720
shoot encode --server "$url" --select "$box" --view encode --size 1280x720
shoot submit --server "$url" --view "submit:$work/drop/Box scene" --size 1280x720
shoot nodes --server "$url" --view nodes --size 1280x720
shoot farm --server "$url" --view farm --size 1280x720
shoot small --server "$url" --select "$box" --size 800x600
shoot light --server "$url" --select "$box" --size 1280x720 --theme light
shoot down --server "http://127.0.0.1:1" --view down --size 1280x720
