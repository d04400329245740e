#!/usr/bin/env bash
# Set up (with test extras) and run the whole test suite. Database tests run on SQLite and, when a
# PostgreSQL server answers on 127.0.0.1:5432 (or SAFETYBOT_TEST_DATABASE_URL is set), on PostgreSQL too.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
. .venv/bin/activate
if [ -z "${SAFETYBOT_TEST_DATABASE_URL:-}" ]; then
  if python - <<'PY'
import sys
try:
    import psycopg
    psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", connect_timeout=3).close()
except Exception:
    sys.exit(1)
PY
  then
    export SAFETYBOT_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test
  fi
fi
echo "PostgreSQL tests: ${SAFETYBOT_TEST_DATABASE_URL:-off (no server on 127.0.0.1:5432)}"
exec python -m pytest -q "$@"
