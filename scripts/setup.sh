#!/usr/bin/env bash
# Install everything Themis Desktop needs on Debian, then run the app or its tests.
#   bash scripts/setup.sh demo   -> start the app on its demo instance
#   bash scripts/setup.sh test   -> run the whole test suite (what CI runs)
#   bash scripts/setup.sh none   -> install only
set -euo pipefail
mode="${1:-demo}"
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

packages=(python3 python3-venv python3-pip
  libglib2.0-0 libgl1 libegl1 libxkbcommon0 libfreetype6 libfontconfig1 libdbus-1-3
  libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0
  libxcb-shape0 libxkbcommon-x11-0 xvfb xauth xdotool imagemagick zstd fonts-dejavu-core
  prometheus
  # the real ThemisDB server the tests in tests/real start (../shared/themisdb-real)
  libsnappy1v5 liblz4-1 libzstd1 libsimdjson14 libtbb12 libspdlog1.10 libfmt9 libcurl4
  libyaml-cpp0.7 libssl3)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

python=python3
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "Themis Desktop needs Python >= 3.11" >&2; exit 1; }
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test,build,ansible]"

case "$mode" in
  demo)
    exec .venv/bin/themis-desktop --demo ;;
  test)
    export QT_QPA_PLATFORM=offscreen
    .venv/bin/ruff check themis_desktop tests bench
    .venv/bin/ruff format --check themis_desktop tests bench
    .venv/bin/mypy  # core/, as pyproject.toml [tool.mypy] says
    .venv/bin/lint-imports  # the layers and cycles of pyproject.toml [tool.importlinter]
    set +e
    # every core: most tests wait on servers and processes, so two workers halve the run
    .venv/bin/python -m pytest -q -p no:cacheprovider -n auto "${@:2}"
    rc=$?
    set -e
    if [ "$rc" -eq 5 ]; then echo "pytest collected no tests: failing the run" >&2; exit 1; fi
    exit "$rc" ;;
  none)
    exit 0 ;;
  *)
    echo "usage: bash scripts/setup.sh demo|test|none" >&2; exit 2 ;;
esac
