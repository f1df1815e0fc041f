#!/usr/bin/env bash
# Runs a command with ATELIER_TEST_DOCKER_HOST naming a real container engine
# (scripts/engine.sh): the one already named, or one started for the command
# and stopped after it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "${ATELIER_TEST_DOCKER_HOST:-}" ]; then
    # An engine of its own, apart from one `make run` may be using.
    ATELIER_ENGINE_DIR="${ATELIER_ENGINE_DIR:-$(mktemp -d /tmp/atelier-engine-test.XXXXXX)}"
    export ATELIER_ENGINE_DIR
    ATELIER_TEST_DOCKER_HOST="$("$root/scripts/engine.sh" start)"
    export ATELIER_TEST_DOCKER_HOST
    trap '"$root/scripts/engine.sh" stop' EXIT
fi
"$@"
