#!/usr/bin/env bash
# Build the one-folder desktop app dist/HDRDesk/ (HDRDesk + hdrdesk, see build_app.spec) from a
# fresh checkout: create or reuse the venv, install HDRDesk with the build extra against the
# CPU pins, run PyInstaller, print the bundle size and the build time.
#
#   scripts/build_app.sh            # extra arguments go to pyinstaller, e.g. --clean
#
# Environment: PYTHON (interpreter for a new venv, default python3), VENV (default .venv),
# NICE (niceness of the build, default 10: the build is long and CPU-bound).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
NICE=${NICE:-10}

if [ -x "$VENV/bin/python" ]; then
    py="$VENV/bin/python"
elif [ -x "$VENV/Scripts/python.exe" ]; then  # Windows (Git Bash)
    py="$VENV/Scripts/python.exe"
else
    "$PYTHON" -m venv "$VENV"
    py="$VENV/bin/python"
    [ -x "$py" ] || py="$VENV/Scripts/python.exe"
fi

t0=$(date +%s)
"$py" -m pip install -q -c constraints.txt -e ".[build]"
t1=$(date +%s)

nice_cmd=()
if command -v nice >/dev/null 2>&1; then nice_cmd=(nice -n "$NICE"); fi
"${nice_cmd[@]}" "$py" -m PyInstaller --noconfirm "$@" build_app.spec
t2=$(date +%s)

echo "build_app: dist/HDRDesk: $(du -sh dist/HDRDesk | cut -f1) ($(du -sm dist/HDRDesk | cut -f1) MiB), $(find dist/HDRDesk -type f | wc -l | tr -d ' ') files"
echo "build_app: pip install $((t1 - t0)) s, pyinstaller $((t2 - t1)) s, total $((t2 - t0)) s"
