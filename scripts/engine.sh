#!/usr/bin/env bash
# A throwaway container engine for tests and `make run PROVISIONER=docker`:
# Podman's Docker-compatible API service, from Debian's `podman` and `runc`
# (installed when missing and this runs as root), with a small workstation
# image made locally from Debian's `busybox-static` (no registry needed).
#
#   scripts/engine.sh start   starts one (or finds the one running) and prints its DOCKER_HOST URL
#   scripts/engine.sh stop    stops it, removes every container and volume it made, and its files
#   scripts/engine.sh image   prints the workstation image's name
#
# ATELIER_ENGINE_DIR (default /tmp/atelier-engine) holds its socket, storage,
# configuration and log. Each directory is an engine of its own, so two can
# run side by side (the tests start a second one for a second region).
set -euo pipefail

dir=${ATELIER_ENGINE_DIR:-/tmp/atelier-engine}
image=${ATELIER_ENGINE_IMAGE:-localhost/atelier-workstation:latest}

# Podman with its own storage, configuration and runtime state under $dir, so
# it touches nothing else on the machine.
engine() {
    CONTAINERS_CONF="$dir/containers.conf" CONTAINERS_STORAGE_CONF="$dir/storage.conf" \
        XDG_RUNTIME_DIR="$dir/run" podman --root "$dir/storage" --runroot "$dir/run/storage" "$@"
}

install() {
    local missing=()
    command -v podman >/dev/null || missing+=(podman)
    command -v runc >/dev/null || missing+=(runc)
    [ -x /bin/busybox ] || missing+=(busybox-static)
    [ ${#missing[@]} -eq 0 ] && return
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing Debian's ${missing[*]}" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2 \
            || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2; }
    else
        echo "needs ${missing[*]} (Debian packages)" >&2
        return 1
    fi
}

url() {
    echo "unix://$dir/podman.sock"
}

answers() {
    [ -S "$dir/podman.sock" ] && curl -fsS --max-time 2 --unix-socket "$dir/podman.sock" http://d/_ping >/dev/null 2>&1
}

# The workstation image: busybox with its applets, a home, /etc/passwd.
build_image() {
    engine image exists "$image" && return
    local root="$dir/rootfs"
    rm -rf "$root"
    mkdir -p "$root"/{bin,etc,home/atelier,tmp,proc,sys,dev,root}
    cp /bin/busybox "$root/bin/busybox"
    local applet
    for applet in $("$root/bin/busybox" --list); do
        [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\natelier:x:1000:1000:atelier:/home/atelier:/bin/sh\n' >"$root/etc/passwd"
    printf 'root:x:0:\natelier:x:1000:\n' >"$root/etc/group"
    chmod 1777 "$root/tmp"
    tar -C "$root" -cf "$dir/rootfs.tar" .
    engine import --quiet --change 'CMD ["/bin/sleep", "infinity"]' --change 'ENV PATH=/bin' \
        "$dir/rootfs.tar" "$image" >/dev/null
    rm -rf "$root" "$dir/rootfs.tar"
}

start() {
    install
    mkdir -p "$dir/run"
    chmod 700 "$dir/run"
    if answers; then
        build_image
        url
        return
    fi
    # Why these settings: this machine lacks CAP_SYS_RESOURCE, so podman's
    # default nofile/nproc limits fail at start; crun refuses its hybrid cgroups.
    cat >"$dir/containers.conf" <<'EOF'
[containers]
default_ulimits = []
[engine]
runtime = "runc"
EOF
    cat >"$dir/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$dir/storage"
runroot = "$dir/run/storage"
EOF
    rm -f "$dir/podman.sock"
    setsid bash -c "$(declare -f engine); dir='$dir'; engine system service --time=0 '$(url)'" \
        </dev/null >"$dir/service.log" 2>&1 &
    echo $! >"$dir/service.pid"
    local i
    for i in $(seq 1 100); do
        answers && break
        sleep 0.1
    done
    answers || { echo "the engine did not answer; its log:" >&2; tail -n 20 "$dir/service.log" >&2; return 1; }
    build_image
    url
}

stop() {
    if [ -d "$dir" ]; then
        if answers; then
            engine rm --all --force --time 0 >/dev/null 2>&1 || true
            engine volume rm --all --force >/dev/null 2>&1 || true
        fi
        if [ -f "$dir/service.pid" ]; then
            kill -- "-$(cat "$dir/service.pid")" 2>/dev/null || kill "$(cat "$dir/service.pid")" 2>/dev/null || true
        fi
        # Storage may hold mounts of stopped containers.
        engine system reset --force >/dev/null 2>&1 || true
        rm -rf "$dir"
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    image) echo "$image" ;;
    *) echo "usage: $0 start|stop|image" >&2; exit 2 ;;
esac
