#!/usr/bin/env bash
# Build the one-folder bundle dist/themis-desktop/ with PyInstaller (installed into the
# project's venv from the `build` extra when missing) and print its size.
#   bash packaging/build.sh [--distpath DIR] [--workpath DIR] [--python PY]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
python="${PYTHON:-$root/.venv/bin/python}"
distpath="$root/dist"
workpath="$root/build"

while [[ $# -gt 0 ]]; do
    case "$1" in
        --distpath) distpath="$2"; shift 2 ;;
        --workpath) workpath="$2"; shift 2 ;;
        --python) python="$2"; shift 2 ;;
        -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

if [[ ! -x "$python" ]]; then
    echo "build.sh: no Python at $python (create the venv first: scripts/setup.sh)" >&2
    exit 2
fi
if ! "$python" -c "import PyInstaller" 2>/dev/null; then
    echo "PyInstaller is missing: installing the build extra into $(dirname "$python")/.."
    "$python" -m pip install --quiet -e "$root[build]"
fi

SECONDS=0
"$python" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$distpath" --workpath "$workpath" "$here/themis-desktop.spec"

bundle="$distpath/themis-desktop"
size=$(du -sh "$bundle" | cut -f1)
files=$(find "$bundle" -type f | wc -l)
echo "built $bundle: $size in $files files ($SECONDS s)"
