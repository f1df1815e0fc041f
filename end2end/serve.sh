#!/usr/bin/env bash
# Starts the server the browser tests drive: a fresh database, a token for
# the test user written to .state/token, on the port scripts/e2e.sh chose.
set -euo pipefail
cd "$(dirname "$0")"
: "${ATELIER_BIN:?set by scripts/e2e.sh}"
: "${ATELIER_SITE_ROOT:?set by scripts/e2e.sh}"
: "${ATELIER_E2E_PORT:?set by scripts/e2e.sh}"
rm -rf .state
mkdir -p .state
db="sqlite://$PWD/.state/e2e.db"
"$ATELIER_BIN" --database "$db" token create --user e2e --label e2e > .state/token
"$ATELIER_BIN" --database "$db" token create --user other --label e2e > .state/token-other
"$ATELIER_BIN" --database "$db" token create --user fresh --label e2e > .state/token-fresh
exec "$ATELIER_BIN" --database "$db" serve \
  --addr "127.0.0.1:$ATELIER_E2E_PORT" --site-root "$ATELIER_SITE_ROOT" --no-demo-user \
  --simulated-phase-ms "${ATELIER_E2E_PHASE_MS:-500}" --workers 16 --quota-gpus 1000 --quota-cpu-cores 100000 --quota-memory-gb 1000000 --quota-storage-gb 10000000
