#!/usr/bin/env bash
# Set up if needed, then start the assistant in the terminal (SQLite, bundled laws, no Telegram token).
# Pass a subcommand to run something else, e.g. scripts/run.sh ask "动火作业谁审批？"
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. .venv/bin/activate
if [ $# -eq 0 ]; then
  exec safetybot chat
fi
exec safetybot "$@"
