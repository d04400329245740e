#!/usr/bin/env bash
# Set up if needed, then start the assistant in the terminal (SQLite, bundled laws, no Telegram token).
# Pass a subcommand to run something else, e.g. scripts/run.sh ask "动火作业谁审批？"
# Runs in the caller's directory: relative paths (hazards template 模板.xlsx, ingest 文件.docx) and
# a .env file are taken from where the user stands, not from the checkout.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
if [ $# -eq 0 ]; then
  exec "$root/.venv/bin/safetybot" chat
fi
exec "$root/.venv/bin/safetybot" "$@"
