#!/usr/bin/env bash
# Runs the Playwright suite against the debug build made by `cargo leptos build`.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export ATELIER_BIN="${ATELIER_BIN:-$TARGET_DIR/debug/atelier}"
export ATELIER_SITE_ROOT="${ATELIER_SITE_ROOT:-$ROOT/target/site}"
if [ -z "${CHROMIUM_PATH:-}" ]; then
  CHROMIUM_PATH="$(command -v chromium || true)"
  export CHROMIUM_PATH
fi
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
ATELIER_E2E_PORT="$(free_port)"
export ATELIER_E2E_PORT
# A second server runs workstations as containers on a real engine
# (scripts/engine.sh: Podman's Docker-compatible service).
if [ -z "${ATELIER_E2E_DOCKER_HOST:-}" ]; then
  ATELIER_ENGINE_DIR="${ATELIER_ENGINE_DIR:-$(mktemp -d /tmp/atelier-engine-e2e.XXXXXX)}"
  export ATELIER_ENGINE_DIR
  ATELIER_E2E_DOCKER_HOST="$("$ROOT/scripts/engine.sh" start)"
  trap '"$ROOT/scripts/engine.sh" stop' EXIT
fi
ATELIER_E2E_DOCKER_PORT="$(free_port)"
export ATELIER_E2E_DOCKER_HOST ATELIER_E2E_DOCKER_PORT
# A real OpenID provider (end2end/oidc-provider.mjs, started by Playwright)
# for single sign-on, and the ports of the servers the sign-on tests
# start for its other clients (their callbacks must be known to it).
ATELIER_E2E_OIDC_PORT="$(free_port)"
ATELIER_E2E_OIDC_EXPIRED_PORT="$(free_port)"
ATELIER_E2E_OIDC_AUDIENCE_PORT="$(free_port)"
ATELIER_E2E_OIDC_FOREIGN_PORT="$(free_port)"
export ATELIER_E2E_OIDC_PORT ATELIER_E2E_OIDC_EXPIRED_PORT ATELIER_E2E_OIDC_AUDIENCE_PORT ATELIER_E2E_OIDC_FOREIGN_PORT
cd "$ROOT/end2end"
npx playwright test "$@"
