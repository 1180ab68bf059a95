#!/usr/bin/env bash
# Creates .venv with every workspace package and the test tools, from uv.lock exactly.
# Needs only a Python 3.11 interpreter: uv itself is installed into .venv-tools if absent.
set -euo pipefail
cd "$(dirname "$0")/.."

python_bin="${PYTHON:-}"
if [ -z "$python_bin" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      python_bin="$(command -v "$candidate")"; break
    fi
  done
fi
if [ -z "$python_bin" ]; then
  echo "setup: Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2
  exit 2
fi

if command -v uv >/dev/null 2>&1; then
  uv_bin="$(command -v uv)"
else
  if [ ! -x .venv-tools/bin/uv ]; then
    echo "setup: installing uv into .venv-tools ..."
    "$python_bin" -m venv .venv-tools
    .venv-tools/bin/python -m pip install --quiet --disable-pip-version-check uv
  fi
  uv_bin="$PWD/.venv-tools/bin/uv"
fi

"$uv_bin" sync --all-packages --frozen --python "$python_bin" --quiet
echo "setup: .venv is ready"
