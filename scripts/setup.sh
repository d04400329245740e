#!/usr/bin/env bash
# Create .venv and install the project. torch goes first, pinned, so that pip takes the local
# CPU wheel instead of pulling the CUDA build as a dependency of sentence-transformers.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
. .venv/bin/activate
stamp=.venv/.safetybot-installed
want="$(cat pyproject.toml | sha256sum | cut -d' ' -f1) ${1:-}"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  pip install --quiet --upgrade pip
  pip install --quiet "torch==2.13.0"
  if [ "${1:-}" = "test" ]; then
    pip install --quiet -e ".[test]"
  else
    pip install --quiet -e ".[postgres]"
  fi
  echo "$want" > "$stamp"
fi
