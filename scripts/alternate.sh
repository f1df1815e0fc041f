#!/usr/bin/env bash
# Compares release servers on creates, run after run in turn (old, new, old,
# new, ...), so a machine that speeds up or slows down during the
# comparison moves both alike.
#
#   scripts/alternate.sh sqlite|postgres SECONDS ROUNDS BINARY...
#
# Each run: a fresh database (PostgreSQL: a new database on a durable
# server of this script's own, started by `scripts/postgres.sh`), a fresh
# server with the bench's flags, `wrk -t2 -c64` posting one workstation per
# request (C and T set connections and threads). Prints creates/s, p99, and
# the CPU time per create stored, of the server process and of every
# PostgreSQL process, read from /proc before and after the load (a
# PostgreSQL process that ends during the load is left out).
set -euo pipefail
backend=${1:?sqlite or postgres}
seconds=${2:?seconds per run}
rounds=${3:?rounds}
shift 3
[ $# -gt 0 ] || { echo "usage: $0 sqlite|postgres SECONDS ROUNDS BINARY..." >&2; exit 2; }
cd "$(dirname "$0")/.."
work=$(mktemp -d)
chmod 755 "$work" # PostgreSQL's own user keeps its data under it
export ATELIER_PG_DIR="$work/pg" ATELIER_PG_DURABLE=1
trap 'if [ -d "$work/pg" ]; then scripts/postgres.sh stop; fi; rm -rf "$work"' EXIT
# Room for every create: the limits are not what is measured.
sed 's/default = 16/default = 100000000/' app/catalog.toml > "$work/catalog.toml"
cat > "$work/create.lua" <<'LUA'
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local n = 0
local run = "0"
function init(args)
  run = args[1] or "0"
end
function request()
  n = n + 1
  local body = string.format('{"name":"b%s-%d-%d","configuration":{"cpuCores":1,"memoryGB":1,"gpu":"NVIDIA L4","storageGB":16,"region":"us-east-1"}}', run, tid, n)
  return wrk.format("POST", nil, nil, body)
end
LUA
# CPU ticks of every process named postgres.
postgres_ticks() {
    local total=0 f t
    for f in /proc/[0-9]*/stat; do
        t=$(awk '$2 == "(postgres)" { print $14 + $15 }' "$f" 2>/dev/null) || continue
        total=$((total + ${t:-0}))
    done
    echo "$total"
}
hz=$(getconf CLK_TCK)
n=0
for _ in $(seq "$rounds"); do
    for bin in "$@"; do
        n=$((n + 1))
        if [ "$backend" = postgres ]; then
            admin=$(scripts/postgres.sh start)
            psql "$admin" -qc "DROP DATABASE IF EXISTS alternate$n" -c "CREATE DATABASE alternate$n" >/dev/null 2>&1
            db="${admin%/*}/alternate$n"
        else
            rm -rf "$work/sqlite"
            mkdir -p "$work/sqlite"
            db="sqlite://$work/sqlite/atelier.db"
        fi
        token=$("$bin" --database "$db" token create --user bench 2>/dev/null | tail -1)
        ATELIER_LOG=warn "$bin" --database "$db" serve --addr 127.0.0.1:0 --no-demo-user --site-root target/site \
            --catalog "$work/catalog.toml" --workers 1 --simulated-phase-ms 600000 --rate-limit-per-minute 0 \
            --quota-gpus 100000000 --quota-cpu-cores 100000000 --quota-memory-gb 100000000 \
            --quota-storage-gb 100000000000 > "$work/server.out" 2>/dev/null &
        pid=$!
        for _ in $(seq 100); do grep -q "listening on" "$work/server.out" && break; sleep 0.1; done
        url=$(grep -o "http://[0-9.:]*" "$work/server.out" | head -1)
        pg0=$(postgres_ticks)
        at0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
        out=$(wrk -t"${T:-2}" -c"${C:-64}" -d"${seconds}s" --latency -s "$work/create.lua" \
            -H "Authorization: Bearer $token" -H "Content-Type: application/json" "$url/v1/workstations" -- "r$n" 2>&1)
        at1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
        pg1=$(postgres_ticks)
        stored=$(curl -s "$url/metrics" | awk '$1 == "atelier_creates_stored_total" { print $2 }')
        commits=$(curl -s "$url/metrics" | awk '$1 == "atelier_create_commits_total" { print $2 }')
        kill "$pid"
        wait "$pid" 2>/dev/null || true
        echo "$out" | awk -v bin="$bin" -v stored="${stored:-0}" -v commits="${commits:-0}" \
            -v at=$((at1 - at0)) -v pg=$((pg1 - pg0)) -v hz="$hz" -v backend="$backend" '
            /Requests\/sec/ { rps = $2 }
            $1 == "99%" { p99 = $2 }
            /Non-2xx/ { non = $5 }
            END {
                per = stored > 0 ? 1e6 / hz / stored : 0
                printf "%s  creates/s %s  p99 %s  non-2xx %d  stored %d in %d commits  CPU per create: server %.1f us",
                    bin, rps, p99, non, stored, commits, at * per
                if (backend == "postgres") printf ", postgres %.1f us", pg * per
                printf "\n"
            }'
    done
done
