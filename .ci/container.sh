#!/usr/bin/env bash
# The image, emulated (no container engine here): build the wheel, install it alone into a fresh
# virtual environment (as the Dockerfile's builder stage does), then run it as the runtime stage
# would (.ci/container.py: unprivileged user, read-only working directory, the Dockerfile's ENV,
# a /data stand-in, HEALTHCHECK, SIGTERM). Run as root, from anywhere.
#   bash .ci/container.sh [DIR]   DIR: where to keep the wheel (DIR/dist) and venv (DIR/venv);
#                                 by default a temporary directory removed at the end
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}

if [ -n "${1:-}" ]; then
  work=$(realpath -m "$1")
  rm -rf "$work" && mkdir -p "$work"
else
  work=$(mktemp -d /tmp/ftbot-container.XXXXXX)
  trap 'rm -rf "$work"' EXIT
fi
chmod 0755 "$work"  # the unprivileged user must reach the venv

echo "-- the wheel, installed alone into a fresh venv"
"$PY" -m pip wheel -q --no-deps --wheel-dir "$work/dist" .
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q --disable-pip-version-check "$work"/dist/*.whl
echo "   $(basename "$work"/dist/*.whl)"

echo "-- the runtime stage, emulated"
# The driver runs from the repository's dev venv (it needs the fake Slack from tests/fakes);
# the bot runs from $work/venv only.
"$PY" .ci/container.py --venv "$work/venv" --root "$work/image"
