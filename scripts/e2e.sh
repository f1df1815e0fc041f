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
ATELIER_E2E_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export ATELIER_E2E_PORT
cd "$ROOT/end2end"
exec npx playwright test "$@"
