#!/usr/bin/env bash
# `make bench`: the benchmark harness (server/benches/atelier.rs) on SQLite,
# or with BENCH_BACKEND=postgres on a PostgreSQL server started here with
# durable commits (or the empty database BENCH_DATABASE names).
set -euo pipefail
cd "$(dirname "$0")/.."
# As many open descriptors as the hard limit allows (10,000 event streams
# take one each here and in the server); the harness says when that is
# too few and scales its streams down.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "${BENCH_BACKEND:-sqlite}" = postgres ] && [ -z "${BENCH_DATABASE:-}" ]; then
    export ATELIER_PG_DIR=/tmp/atelier-bench-postgres ATELIER_PG_DURABLE=1
    admin=$(scripts/postgres.sh start)
    trap 'scripts/postgres.sh stop' EXIT
    psql "$admin" -qc "CREATE DATABASE atelier_bench"
    export BENCH_DATABASE="${admin%/*}/atelier_bench"
fi
# The flags `cargo leptos build --release` builds with (components erased,
# see Cargo.toml), so the harness reuses the crates `make build` compiled.
export RUSTFLAGS="--cfg erase_components"
cargo bench -p server --bench atelier
