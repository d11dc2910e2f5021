# Every target sets up .venv from pyproject.toml on its own (only Python 3.11+ and make needed).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench bench-smoke lint catalog clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/ztbulk demo

test: $(STAMP)
	$(BIN)/pytest -q tests
	$(BIN)/pytest -q benchmarks --benchmark-disable -k smoke

bench: $(STAMP)
	$(BIN)/pytest benchmarks --benchmark-enable --benchmark-columns=min,mean,max,rounds -s $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy

# Rebuild the packaged catalogue from the Android Enterprise Recommended list in ../shared/data.
catalog: $(STAMP)
	$(BIN)/python scripts/build_catalog.py

clean:
	rm -rf $(VENV) ztbulk-out .pytest_cache .mypy_cache .ruff_cache .benchmarks
