#!/usr/bin/env bash
# `make fuzz`: schemathesis (from PyPI, in a venv under target/) against the
# served /v1/openapi.json of a fresh server on a free port: every operation
# but the two event streams (they never end; the API tests cover them),
# generated requests (FUZZ_EXAMPLES per operation and phase, default 150:
# over 2,000 requests).
# Fails on any 5xx, or any response that does not match the document.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="${ATELIER_BIN:-$TARGET_DIR/debug/atelier}"
VENV="$TARGET_DIR/fuzz-venv"
SCHEMATHESIS_VERSION=4.32.5

if [ ! -x "$VENV/bin/schemathesis" ] || ! "$VENV/bin/schemathesis" --version | grep -q "$SCHEMATHESIS_VERSION"; then
  echo "==> installing schemathesis $SCHEMATHESIS_VERSION from PyPI" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

dir="$(mktemp -d)"
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

db="sqlite://$dir/fuzz.db"
token="$("$BIN" --database "$db" token create --user fuzz 2>/dev/null)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
ATELIER_LOG=warn "$BIN" --database "$db" serve --addr "127.0.0.1:$port" --no-demo-user \
  --site-root "$dir/site" --simulated-phase-ms 20 --rate-limit-per-minute 0 \
  --quota-gpus 1000000 --quota-cpu-cores 100000000 --quota-memory-gb 100000000 \
  --quota-storage-gb 10000000000 > "$dir/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

"$VENV/bin/schemathesis" run "http://127.0.0.1:$port/v1/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,negative_data_rejection \
  --max-examples "${FUZZ_EXAMPLES:-150}" \
  --workers 2 \
  --seed "${FUZZ_SEED:-20261127}" \
  --suppress-health-check too_slow,filter_too_much \
  --exclude-path-regex '/events$' \
  "$@"
