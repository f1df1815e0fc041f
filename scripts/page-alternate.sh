#!/usr/bin/env bash
# Compares release builds on the time to the hydrated home page, run after
# run in turn (old, new, old, new, ...), so a machine that speeds up or
# slows down moves both alike.
#
#   scripts/page-alternate.sh ROUNDS BINARY:SITE_ROOT...
#
# Each run: a fresh SQLite database and server (the bench's flags), a user
# with 50 workstations made through the API, then the bench's page script
# (server/benches/hydrate.js: headless Chromium, the median of 9 loads of
# the home page, from the navigation's start to the `atelier:hydrated`
# mark, and as Playwright sees it).
set -euo pipefail
rounds=${1:?rounds}
shift
[ $# -gt 0 ] || { echo "usage: $0 ROUNDS BINARY:SITE_ROOT..." >&2; exit 2; }
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Room for every create: the limits are not what is measured.
sed 's/default = 16/default = 100000000/' app/catalog.toml > "$work/catalog.toml"
for round in $(seq "$rounds"); do
    for pair in "$@"; do
        bin=${pair%%:*}
        site=${pair#*:}
        rm -rf "$work/db"
        mkdir -p "$work/db"
        db="sqlite://$work/db/atelier.db"
        token=$("$bin" --database "$db" token create --user page 2>/dev/null | tail -1)
        ATELIER_LOG=warn "$bin" --database "$db" serve --addr 127.0.0.1:0 --no-demo-user --site-root "$site" \
            --catalog "$work/catalog.toml" --workers 1 --simulated-phase-ms 600000 --rate-limit-per-minute 0 \
            --quota-gpus 100000000 --quota-cpu-cores 100000000 --quota-memory-gb 100000000 \
            --quota-storage-gb 100000000000 > "$work/server.out" 2>/dev/null &
        pid=$!
        for _ in $(seq 100); do grep -q "listening on" "$work/server.out" && break; sleep 0.1; done
        url=$(grep -o "http://[0-9.:]*" "$work/server.out" | head -1)
        for i in $(seq 50); do
            curl -sf -o /dev/null -H "Authorization: Bearer $token" -H "Content-Type: application/json" \
                -d "{\"name\":\"page-$i\",\"configuration\":{\"cpuCores\":1,\"memoryGB\":1,\"gpu\":\"NVIDIA L4\",\"storageGB\":16,\"region\":\"us-east-1\"}}" \
                "$url/v1/workstations"
        done
        read -r in_page outside cards < <(cd end2end && node - "$url" "$token" < "$root/server/benches/hydrate.js")
        printf 'round %s  %s  in the page %.1f ms  from Playwright %s ms  (%s workstations shown)\n' \
            "$round" "$bin" "$in_page" "$outside" "$cards"
        kill "$pid"
        wait "$pid" 2>/dev/null || true
    done
done
