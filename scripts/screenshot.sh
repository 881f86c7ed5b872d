#!/usr/bin/env bash
# Screenshot the app on its demo instance under Xvfb: bash scripts/screenshot.sh OUT.png [SECONDS] [APP ARGS...]
# THEMIS_SCREENSHOT_PAGE=versions (a page key) opens that page instead of the Overview.
# THEMIS_SCREENSHOT_SIZE=1180x760 sizes the window (default 1280x800, the virtual screen).
# THEMIS_SCREENSHOT_XDO="key ctrl+b sleep 8" runs xdotool commands first (keys, clicks).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/screenshot.png}"; wait_s="${2:-10}"; shift $(( $# > 2 ? 2 : $# )) || true
display=":$(( 90 + RANDOM % 9 ))"
Xvfb "$display" -screen 0 1280x820x24 >/dev/null 2>&1 &
xvfb=$!
home=$(mktemp -d)
trap 'set +e; kill $app $xvfb 2>/dev/null; wait $app 2>/dev/null; rm -rf "$home"; true' EXIT
if [ -n "${THEMIS_SCREENSHOT_PAGE:-}" ]; then  # the window reopens the page it was closed on
  mkdir -p "$home/themis-desktop"
  printf '[General]\nlast_page=%s\n' "$THEMIS_SCREENSHOT_PAGE" >"$home/themis-desktop/themis-desktop.ini"
fi
sleep 1
DISPLAY="$display" THEMIS_DESKTOP_HOME="$home" XDG_CONFIG_HOME="$home" \
  .venv/bin/themis-desktop --demo "$@" >"$home/app.log" 2>&1 &
app=$!
sleep "$wait_s"
# fill the virtual screen with the window, then capture it
size="${THEMIS_SCREENSHOT_SIZE:-1280x800}"
DISPLAY="$display" xdotool search --name "Themis Desktop" windowsize "${size%x*}" "${size#*x}" windowmove 0 0 2>/dev/null || true
sleep 1
if [ -n "${THEMIS_SCREENSHOT_XDO:-}" ]; then
  # shellcheck disable=SC2086  # the commands are words on purpose
  DISPLAY="$display" xdotool $THEMIS_SCREENSHOT_XDO || true
fi
DISPLAY="$display" import -window root -crop "$size+0+0" +repage "$out"
echo "wrote $out"
