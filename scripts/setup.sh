#!/usr/bin/env bash
# Create .venv and install the project. torch goes first, pinned, so that pip takes the local
# CPU wheel instead of pulling the CUDA build as a dependency of sentence-transformers.
# Says what it is doing: the first run downloads and installs about 2 GB of packages.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
stamp=.venv/.safetybot-installed
digest="$(sha256sum < pyproject.toml | cut -d' ' -f1)"
want="$digest ${1:-}"
have="$(cat "$stamp" 2>/dev/null || true)"
# A test install (extras: test, which include the PostgreSQL driver) serves a plain run as well.
if [ -x .venv/bin/python ] && { [ "$have" = "$want" ] || { [ -z "${1:-}" ] && [ "$have" = "$digest test" ]; }; }; then
  exit 0
fi
started=$SECONDS
say() { echo "$*" >&2; }
say "正在准备运行环境（.venv）：首次安装约需 2–3 分钟，以后启动不再安装。"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
. .venv/bin/activate
# setuptools warns on every editable install that same-named folders in the working directory
# shadow the package; the checkout is exactly what we mean to run, so the warning is only noise.
export PYTHONWARNINGS="ignore:Editable installation"
say "  [1/3] 更新 pip"
pip install --quiet --upgrade pip
say "  [2/3] 安装 torch 2.13.0（CPU 版）"
pip install --quiet "torch==2.13.0"
if [ "${1:-}" = "test" ]; then
  say "  [3/3] 安装 safetybot 及其依赖（含测试依赖）"
  pip install --quiet -e ".[test]"
else
  say "  [3/3] 安装 safetybot 及其依赖"
  pip install --quiet -e ".[postgres]"
fi
echo "$want" > "$stamp"
say "运行环境已就绪（用时 $((SECONDS - started)) 秒）。"
