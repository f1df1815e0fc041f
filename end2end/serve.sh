#!/usr/bin/env bash
# Starts a server the browser tests drive: a fresh database, tokens for the
# test users written to its state folder, on the port scripts/e2e.sh chose.
#
#   serve.sh          the simulated provisioner, state in .state/
#   serve.sh docker   containers on the engine ATELIER_E2E_DOCKER_HOST names
#                     (scripts/engine.sh), state in .state-docker/
set -euo pipefail
cd "$(dirname "$0")"
: "${ATELIER_BIN:?set by scripts/e2e.sh}"
: "${ATELIER_SITE_ROOT:?set by scripts/e2e.sh}"
if [ "${1:-}" = docker ]; then
  : "${ATELIER_E2E_DOCKER_HOST:?set by scripts/e2e.sh}"
  : "${ATELIER_E2E_DOCKER_PORT:?set by scripts/e2e.sh}"
  state=.state-docker
  port=$ATELIER_E2E_DOCKER_PORT
  # Short auto-stop timeouts, so the browser sees the warning and the stop.
  provisioner=(--provisioner docker --docker-host "$ATELIER_E2E_DOCKER_HOST" --stop-timeout-secs 2 --auto-stop-idle-secs 10 --auto-stop-min-secs 5)
else
  : "${ATELIER_E2E_PORT:?set by scripts/e2e.sh}"
  state=.state
  port=$ATELIER_E2E_PORT
  provisioner=(--simulated-phase-ms "${ATELIER_E2E_PHASE_MS:-500}")
  # Single sign-on through the test provider, for staff only.
  if [ -n "${ATELIER_E2E_OIDC_PORT:-}" ]; then
    provisioner+=(--oidc-issuer "http://127.0.0.1:$ATELIER_E2E_OIDC_PORT" --oidc-client-id atelier
      --oidc-client-secret atelier-test-secret --oidc-provider-name "Test IdP" --oidc-allowed-groups staff)
  fi
fi
rm -rf "$state"
mkdir -p "$state"
db="sqlite://$PWD/$state/e2e.db"
"$ATELIER_BIN" --database "$db" token create --user e2e --label e2e > "$state/token"
"$ATELIER_BIN" --database "$db" token create --user other --label e2e > "$state/token-other"
"$ATELIER_BIN" --database "$db" token create --user fresh --label e2e > "$state/token-fresh"
# An admin of the instance, and a user only the admin page's test disables.
"$ATELIER_BIN" --database "$db" user create boss --admin
"$ATELIER_BIN" --database "$db" token create --user boss --label e2e > "$state/token-boss"
"$ATELIER_BIN" --database "$db" token create --user gone --label e2e > "$state/token-gone"
exec "$ATELIER_BIN" --database "$db" serve \
  --addr "127.0.0.1:$port" --site-root "$ATELIER_SITE_ROOT" --no-demo-user "${provisioner[@]}" \
  --workers 16 --quota-gpus 1000 --quota-cpu-cores 100000 --quota-memory-gb 1000000 --quota-storage-gb 10000000
