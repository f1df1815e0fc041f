#!/usr/bin/env bash
# The API suite and the two-instance test against PostgreSQL: the server
# ATELIER_TEST_POSTGRES names, or one started here (scripts/postgres.sh) and
# stopped afterwards. Without PostgreSQL this skips, except in CI.
set -euo pipefail
cd "$(dirname "$0")/.."

url=${ATELIER_TEST_POSTGRES:-}
if [ -z "$url" ]; then
    if url=$(scripts/postgres.sh start); then
        trap 'scripts/postgres.sh stop' EXIT
    elif [ -n "${CI:-}" ]; then
        echo "CI needs PostgreSQL for the API suite on it" >&2
        exit 1
    else
        echo "no PostgreSQL here: skipping the PostgreSQL tests" >&2
        exit 0
    fi
fi
export ATELIER_TEST_POSTGRES=$url
echo "PostgreSQL tests against $url"
cargo test -p server --test api
cargo test -p atelier --test instances -- --nocapture
