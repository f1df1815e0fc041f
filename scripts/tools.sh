#!/usr/bin/env bash
# Installs the build and test toolchain from the package registries only.
# Every step is skipped when the tool is already there at the right version,
# so a second run costs a few milliseconds.
#
#   scripts/tools.sh build   # wasm target, cargo-leptos, wasm-bindgen-cli, wasm-opt
#   scripts/tools.sh test    # build tools + npm packages in end2end/ + a Chromium
set -euo pipefail

CARGO_LEPTOS_VERSION=0.3.11
WASM_OPT_VERSION=0.116.1
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# The wasm-bindgen CLI must equal the library version in Cargo.lock.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

# Upstream lockfiles of these tools pin crates that do not build here
# (too new for this rustc, or no longer served); install from the unpacked
# source with one dependency moved back.
install_with_lock_fix() {
  local crate=$1 version=$2 pkg=$3 precise=$4
  local src
  src=$(ls -d "$HOME"/.cargo/registry/src/*/"$crate-$version" 2>/dev/null | head -n1 || true)
  if [ -z "$src" ]; then
    # A plain install unpacks the source into the registry before it fails.
    cargo install "$crate" --version "$version" --locked >/dev/null 2>&1 || true
    src=$(ls -d "$HOME"/.cargo/registry/src/*/"$crate-$version" 2>/dev/null | head -n1 || true)
  fi
  if [ -z "$src" ]; then
    echo "could not fetch $crate $version from crates.io" >&2
    return 1
  fi
  local tmp
  tmp=$(mktemp -d)
  cp -r "$src/." "$tmp/"
  (cd "$tmp" && cargo update -p "$pkg" --precise "$precise" && cargo install --path . --locked)
  rm -rf "$tmp"
}

ensure_wasm_target() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

ensure_cargo_leptos() {
  if cargo leptos --version 2>/dev/null | grep -q " $CARGO_LEPTOS_VERSION"; then return; fi
  log "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 15 minutes, once)"
  install_with_lock_fix cargo-leptos "$CARGO_LEPTOS_VERSION" cargo-util-schemas 0.14.1
}

ensure_wasm_bindgen() {
  local want
  want=$(wasm_bindgen_version)
  if wasm-bindgen --version 2>/dev/null | grep -q " $want"; then return; fi
  log "installing wasm-bindgen-cli $want (about 5 minutes, once)"
  install_with_lock_fix wasm-bindgen-cli "$want" webpki-roots 1.0.10
}

ensure_wasm_opt() {
  # Debian's binaryen is too old: the page builds but never hydrates.
  if wasm-opt --version 2>/dev/null | grep -q "version 116"; then return; fi
  log "installing wasm-opt $WASM_OPT_VERSION (about 9 minutes, once)"
  cargo install wasm-opt --version "$WASM_OPT_VERSION" --locked
}

# ensure_deb COMMAND PACKAGE: installs Debian's PACKAGE unless COMMAND is on PATH.
ensure_deb() {
  if command -v "$1" >/dev/null 2>&1; then return; fi
  log "installing Debian's $2"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$2" >/dev/null
}

# Python with venv, for schemathesis and the scripts' free-port lookups.
ensure_python() {
  ensure_deb python3 python3
  if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    log "installing Debian's python3-venv"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
  fi
}

ensure_browser() {
  if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ]; then return; fi
  ensure_deb chromium chromium
}

ensure_npm() {
  # Installed again whenever package-lock.json changes.
  local want have stamp="$ROOT/end2end/node_modules/.atelier-lock-sha256"
  want="$(sha256sum "$ROOT/end2end/package-lock.json" | cut -d' ' -f1)"
  have="$(cat "$stamp" 2>/dev/null || true)"
  if [ "$want" != "$have" ] || [ ! -d "$ROOT/end2end/node_modules/@playwright/test" ]; then
    log "installing end2end npm packages"
    (cd "$ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
    echo "$want" > "$stamp"
  fi
}

# xterm.js for the Terminal panel, from npm, copied into public/vendor/ so the
# site serves it itself (no CDN); again whenever its lockfile changes.
ensure_xterm() {
  local dir="$ROOT/frontend/terminal" out="$ROOT/public/vendor/xterm"
  local want have stamp="$dir/node_modules/.atelier-lock-sha256"
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  have="$(cat "$stamp" 2>/dev/null || true)"
  if [ "$want" != "$have" ] || [ ! -f "$dir/node_modules/@xterm/xterm/lib/xterm.mjs" ]; then
    log "installing xterm.js (npm)"
    (cd "$dir" && npm ci --no-audit --no-fund)
    echo "$want" > "$stamp"
  fi
  if [ ! -f "$out/.copied-$want" ]; then
    rm -rf "$out"
    mkdir -p "$out"
    cp "$dir/node_modules/@xterm/xterm/lib/xterm.mjs" "$dir/node_modules/@xterm/xterm/css/xterm.css" \
       "$dir/node_modules/@xterm/addon-fit/lib/addon-fit.mjs" "$out/"
    cp "$dir/node_modules/@xterm/xterm/LICENSE" "$out/LICENSE.xterm"
    touch "$out/.copied-$want"
  fi
}

case "${1:-build}" in
  build)
    ensure_wasm_target
    ensure_wasm_bindgen
    ensure_cargo_leptos
    ensure_wasm_opt
    ensure_xterm
    ;;
  test)
    ensure_wasm_target
    ensure_wasm_bindgen
    ensure_cargo_leptos
    ensure_wasm_opt
    ensure_xterm
    ensure_npm
    ensure_browser
    ensure_python
    # The example `command` provisioner (and its test) makes disks with qemu-img.
    ensure_deb qemu-img qemu-utils
    ;;
  bench)
    ensure_npm
    ensure_browser
    ensure_deb wrk wrk
    ;;
  *)
    echo "usage: $0 build|test|bench" >&2
    exit 2
    ;;
esac
