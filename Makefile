# smppguard developer entry points. `make demo` and `make test` are the two set-up
# commands of the README: each installs the system packages it needs first.

CARGO ?= cargo
# Packages the test suite needs beyond the build (real Redis, real Prometheus, an L4 relay).
TEST_PKGS := redis-server prometheus
FUZZ_SECONDS ?= 30

.PHONY: deps test-deps demo test lint doc fuzz-smoke fuzz bench eval-rules ci

deps:
	@scripts/install-deps.sh

test-deps:
	@scripts/install-deps.sh $(TEST_PKGS)
# python-smpplib: the SMPP client of the proxy's interoperability test.
	@python3 -c 'import smpplib' 2>/dev/null || python3 -m pip install --user --quiet --disable-pip-version-check smpplib

## The main job: the best runnable thing in the tree. `make demo DEMO_SECONDS=60` runs longer.
DEMO_SECONDS ?= 20
demo: deps
	$(CARGO) run --release -p smppguard -- demo --duration $(DEMO_SECONDS)

## The whole test suite (unit, property, integration, doc tests). Benchmarks compile under
## `make lint` (clippy --all-targets) and run under `make bench`: timings are not tests.
test: test-deps
	@if command -v cargo-nextest >/dev/null 2>&1; then \
	  $(CARGO) nextest run --workspace --lib --bins --tests --no-fail-fast; \
	else \
	  $(CARGO) test --workspace --lib --bins --tests --no-fail-fast; \
	fi
	$(CARGO) test --workspace --doc

lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

doc: deps
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps

## Replays the fuzz corpora and fuzzes every target for FUZZ_SECONDS each.
fuzz-smoke: deps
	scripts/fuzz-smoke.sh $(FUZZ_SECONDS)

bench: deps
	$(CARGO) bench -p smppguard-benches

## Precision and recall of the default rule pack on every corpus in ../shared/corpora.
eval-rules: deps
	scripts/eval-rules.sh

ci:
	bash .ci/run
