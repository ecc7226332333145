# The commands CI runs. `make test` on a fresh machine creates .venv, builds the native
# module and runs the whole suite; `make demo` runs the live demo.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
CARGO_MANIFEST := rust_server/Cargo.toml

.PHONY: help dev lint test test-rust demo clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(VENV)/.installed: pyproject.toml rust_server/Cargo.toml rust_server/core/Cargo.toml rust_server/py/Cargo.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

# An editable install builds the native module once; rebuild it whenever Rust sources change.
RUST_SOURCES := $(shell find rust_server -path rust_server/target -prune -o -name '*.rs' -print -o -name Cargo.toml -print)
$(VENV)/.native: $(VENV)/.installed $(RUST_SOURCES)
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

dev: $(VENV)/.native  ## create .venv and install the package (native module included) with dev extras

lint: dev  ## ruff, mypy, cargo fmt --check, clippy -D warnings, stubtest
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) -m mypy.stubtest summoner_client._relay
	cargo fmt --manifest-path $(CARGO_MANIFEST) --all --check
	cargo clippy --manifest-path $(CARGO_MANIFEST) --all-targets -- -D warnings

test-rust:  ## cargo test for the relay crates
	cargo test --manifest-path $(CARGO_MANIFEST) --all

test: dev  ## the whole Python suite
	$(PY) -m pytest

demo: dev  ## a live multi-agent demo on an embedded relay (summoner demo --help for its options)
	$(VENV)/bin/summoner demo

clean:  ## remove the virtual environment and build products
	rm -rf $(VENV) rust_server/target
