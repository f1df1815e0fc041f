#!/usr/bin/env bash
# A throwaway PostgreSQL server on 127.0.0.1 for tests and benchmarks, from
# Debian's `postgresql` package (installed when missing and this runs as root).
#
#   scripts/postgres.sh start   starts one (or finds the one running) and prints its URL
#   scripts/postgres.sh stop    stops it and removes its files
#
# ATELIER_PG_DIR (default /tmp/atelier-postgres) holds its data, socket, log and port.
# The data is throwaway, so it runs without fsync unless ATELIER_PG_DURABLE=1
# (benchmarks: commits then wait for the disk, as in production).
set -euo pipefail

dir=${ATELIER_PG_DIR:-/tmp/atelier-postgres}

bin_dir() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

# initdb and the server refuse to run as root: run them as `postgres` then.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

url() {
    echo "postgres://postgres@127.0.0.1:$(cat "$dir/port")/postgres"
}

start() {
    local bin
    bin=$(bin_dir)
    if [ -z "$bin" ]; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            echo "installing Debian's postgresql" >&2
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2 \
                || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2; }
            bin=$(bin_dir)
        fi
        [ -n "$bin" ] || { echo "no PostgreSQL here" >&2; return 1; }
    fi
    if [ -f "$dir/port" ] && as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        url
        return
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C >"$dir/initdb.log"
    # A port the kernel gives as free to bind. (One nothing answers on may
    # still be taken: a connection's own end, or one in TIME_WAIT after a
    # benchmark.) Between asking and PostgreSQL binding it, another process
    # can take it: then another port, a few times.
    local attempt settings
    for attempt in 1 2 3 4 5; do
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' \
            >"$dir/port"
        # Enough connections for parallel tests, each with its own server pool.
        settings="-c listen_addresses=127.0.0.1 -p $(cat "$dir/port") -k $dir -c max_connections=400"
        if [ "${ATELIER_PG_DURABLE:-0}" != 1 ]; then
            settings="$settings -c fsync=off -c full_page_writes=off"
        fi
        if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start -o "$settings" >/dev/null; then
            url
            return
        fi
        echo "PostgreSQL did not start on port $(cat "$dir/port") (try $attempt of 5):" >&2
        tail -n 3 "$dir/server.log" >&2 || true
    done
    return 1
}

stop() {
    local bin
    bin=$(bin_dir)
    if [ -n "$bin" ] && [ -d "$dir/data" ]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
