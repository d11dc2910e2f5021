# Every target sets up .venv from pyproject.toml on its own (Python 3.11+, make and Rust's
# cargo needed: `pip install -e .` builds the native core in core/ with maturin, in release mode).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CARGO_ENV := PYO3_PYTHON=$(abspath $(BIN)/python)

.PHONY: demo test bench bench-smoke lint catalog clean cargo

cargo:
	@command -v cargo >/dev/null 2>&1 || { echo "ztbulk's native core is Rust: install cargo (https://rustup.rs, or apt-get install cargo) and run make again."; exit 1; }

$(STAMP): pyproject.toml core/Cargo.toml $(wildcard core/src/*.rs) | cargo
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/ztbulk demo

test: $(STAMP)
	cd core && $(CARGO_ENV) cargo test --quiet
	$(BIN)/pytest -q tests
	$(BIN)/pytest -q benchmarks --benchmark-disable -k smoke

bench: $(STAMP)
	$(BIN)/pytest benchmarks --benchmark-enable --benchmark-columns=min,mean,max,rounds -s $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy
	cd core && cargo fmt --check
	cd core && $(CARGO_ENV) cargo clippy --quiet --all-targets -- -D warnings

# Rebuild the packaged catalogue from the Android Enterprise Recommended list in ../shared/data.
catalog: $(STAMP)
	$(BIN)/python scripts/build_catalog.py

clean:
	rm -rf $(VENV) core/target src/ztbulk/_core*.so ztbulk-out .pytest_cache .mypy_cache .ruff_cache .benchmarks
