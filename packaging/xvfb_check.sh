#!/usr/bin/env bash
# Open the app's demo window on a virtual X display (Xvfb) and save a screenshot of the screen.
#
#   packaging/xvfb_check.sh [APP] [OUT.png] [SECONDS]
#
# APP defaults to the frozen build (packaging/dist/evalstudio/evalstudio); pass
# "python -m evalstudio" style commands through a wrapper script if needed. The script waits for
# the "evalstudio" top-level window, lets the demo load for SECONDS (default 15), then saves the
# screenshot (xwd + ImageMagick's convert). Needs: apt-get install xvfb x11-utils x11-apps imagemagick
# and Qt's xcb libraries (libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0
# libxcb-keysyms1 libxcb-render-util0 libxcb-shape0 libxcb-xkb1).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
APP=${1:-"$ROOT/packaging/dist/evalstudio/evalstudio"}
OUT=${2:-"$ROOT/packaging/build/demo-window.png"}
SETTLE=${3:-15}
SCREEN=${XVFB_DISPLAY:-:77}
for tool in Xvfb xwininfo xwd convert; do
    command -v "$tool" >/dev/null || { echo "error: $tool is missing (see the header of $0)." >&2; exit 2; }
done
mkdir -p "$(dirname "$OUT")"
Xvfb "$SCREEN" -screen 0 1440x900x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
app=""
cleanup() { [ -n "$app" ] && kill "$app" 2>/dev/null; kill "$xvfb" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT
export DISPLAY="$SCREEN"
unset QT_QPA_PLATFORM WAYLAND_DISPLAY
for _ in $(seq 50); do xwininfo -root >/dev/null 2>&1 && break; sleep 0.2; done
"$APP" --demo --settings "$(dirname "$OUT")/xvfb-check.ini" >"$(dirname "$OUT")/xvfb-app.log" 2>&1 &
app=$!
for _ in $(seq 180); do
    if xwininfo -root -tree | grep -q '"evalstudio '; then break; fi
    if ! kill -0 "$app" 2>/dev/null; then
        echo "error: the app exited before its window appeared:" >&2
        cat "$(dirname "$OUT")/xvfb-app.log" >&2
        exit 1
    fi
    sleep 1
done
xwininfo -root -tree | grep '"evalstudio ' || { echo "error: no evalstudio window after 180 s" >&2; exit 1; }
sleep "$SETTLE"
kill -0 "$app" 2>/dev/null || { echo "error: the app died while loading the demo:" >&2; cat "$(dirname "$OUT")/xvfb-app.log" >&2; exit 1; }
xwd -root -silent | convert xwd:- "png:$OUT"
echo "screenshot: $OUT"
