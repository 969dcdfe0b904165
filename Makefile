# Kinema: `make demo` runs the main job, `make test` runs every test. Both first run the
# idempotent set-up (Debian packages, PyTorch venv in ~/.cache/kinema, .cargo/config.toml).
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)
CARGO ?= cargo

.PHONY: setup build test lint fmt fuzz demo demo-motion bench

setup:
	@tools/setup.sh

build: setup
	$(CARGO) build --workspace --all-targets

lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test: lint
	@tools/setup.sh --tests
	$(CARGO) build --workspace --bins
	$(CARGO) test --workspace --no-fail-fast

fmt:
	$(CARGO) fmt --all

# The fuzz targets of tests/fuzz run long: FUZZ_CASES cases each (make test runs a few
# hundred). A failure is shrunk and kept in tests/fuzz/tests/*.proptest-regressions.
FUZZ_CASES ?= 20000
fuzz: setup
	KINEMA_FUZZ_CASES=$(FUZZ_CASES) $(CARGO) test --release -p kinema-fuzz -- --nocapture --test-threads 1

demo: setup
	$(CARGO) build --release -p kinema-tools
	projects/actionclip/tools/demo.sh

demo-motion: setup
	$(CARGO) build --release -p kinema-tools
	tools/demo_motion.sh

bench: setup
	$(CARGO) build --release -p kinema-tools
	for bench in tools/bench_recognition.sh projects/*/tools/bench*.sh; do "$$bench" || exit 1; done
