# The two commands of the README:
#   make demo   set everything up, then run the whole system on a local chain + SQLite
#   make test   set everything up, then run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint bench

$(BIN)/govledger: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

setup: $(BIN)/govledger node_modules/.package-lock.json

demo: setup
	$(BIN)/govledger demo

test: setup
	$(BIN)/python -m pytest -n 2 --dist loadgroup

lint: setup
	$(BIN)/ruff check ledger indexer audit api scripts tests bench
	$(BIN)/ruff format --check ledger indexer audit api scripts tests bench

bench: setup
	$(BIN)/python bench/run_all.py
