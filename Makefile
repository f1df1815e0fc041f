# The two commands: `make run` and `make test`. Both install what is missing
# (from crates.io, npm and Debian only) before they build.
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)

ADDR ?= 127.0.0.1:3000
DATABASE_URL ?= sqlite://data/atelier.db
# `make run PROVISIONER=docker`: workstations are containers on DOCKER_HOST
# (Docker, or Podman's service: `scripts/engine.sh start` prints one here).
PROVISIONER ?= simulated
ifdef DOCKER_HOST
export DOCKER_HOST
endif

.PHONY: run build tools test test-rust test-postgres test-e2e test-fuzz fuzz build-debug screenshots test-crash bench lint fmt clean

## run: build in release and serve on $(ADDR) with the database under ./data/
run: build
	LEPTOS_SITE_ROOT=target/site ./target/release/atelier --database "$(DATABASE_URL)" serve --addr "$(ADDR)" \
	  --provisioner "$(PROVISIONER)"

# --precompress: the wasm, JS and CSS also as .br and .gz beside them, which
# the server sends to browsers that accept them (the wasm: ~1.9 MB raw).
build: tools
	cargo leptos build --release --precompress

tools:
	@scripts/tools.sh build

## test: unit and API tests, then the Playwright suite against a real server
test:
	@scripts/tools.sh test
	$(MAKE) test-rust
	$(MAKE) build-debug
	$(MAKE) test-e2e
	$(MAKE) test-fuzz

## test-rust: unit and API tests; the container provisioner's run against a real engine (scripts/engine.sh)
test-rust:
	cargo test -p app --features ssr
	scripts/with-engine.sh bash -c '\
	  env -u ATELIER_TEST_POSTGRES cargo test -p server && \
	  env -u ATELIER_TEST_POSTGRES cargo test -p atelier && \
	  $(MAKE) test-postgres'


## test-postgres: the API suite and the two-instance test on PostgreSQL (Debian's, started on 127.0.0.1)
test-postgres:
	scripts/test-postgres.sh

build-debug:
	cargo leptos build

test-e2e:
	scripts/e2e.sh

## test-fuzz: a short schemathesis pass (after build-debug); `make fuzz` runs a longer one
test-fuzz:
	scripts/fuzz.sh

## fuzz: schemathesis (PyPI) against the served OpenAPI document, every operation, no 5xx, every response as documented
fuzz: build-debug
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-500} scripts/fuzz.sh

## test-crash: kill -9 the server under create load, 20 rounds; every acknowledged create must survive
test-crash:
	ATELIER_CRASH_ROUNDS=$${ATELIER_CRASH_ROUNDS:-20} cargo test --release -p atelier --test crash -- --ignored --nocapture

## bench: the release server against a bare floor over loopback, with wrk (see BENCHMARKS.md);
## `make bench BENCH_BACKEND=postgres` runs it on PostgreSQL (Debian's, started on 127.0.0.1)
bench: build
	@scripts/tools.sh bench
	scripts/bench.sh

## screenshots: the README's pictures of the main pages, phone and desktop, into docs/screenshots/
screenshots:
	@scripts/tools.sh test
	$(MAKE) build-debug
	scripts/e2e.sh --config screenshots.config.ts

lint:
	cargo fmt --all --check
	cargo clippy -p server --all-targets -- -D warnings
	cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

fmt:
	cargo fmt --all

clean:
	cargo clean
	rm -rf end2end/node_modules end2end/.state
