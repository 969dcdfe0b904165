# Kinema: `make demo` runs the main job, `make test` runs every test. Both first run the
# idempotent set-up (Debian packages, PyTorch venv in ~/.cache/kinema, .cargo/config.toml).
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)
CARGO ?= cargo

.PHONY: setup build test lint fmt demo demo-motion bench

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

demo: setup
	$(CARGO) build --release -p kinema-tools
	projects/actionclip/tools/demo.sh

demo-motion: setup
	$(CARGO) build --release -p kinema-tools
	tools/demo_motion.sh

bench: setup
	$(CARGO) build --release -p kinema-tools
	for bench in tools/bench_recognition.sh projects/*/tools/bench.sh; do "$$bench" || exit 1; done
