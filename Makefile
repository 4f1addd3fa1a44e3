# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements-lock.txt
UV := uv==0.13.9

.PHONY: run test harden install lock lint typecheck services schemas bench clean

# Exactly the versions in the lock (hash-checked), then Podium itself from this tree.
$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

install: $(STAMP)

## Re-resolve every dependency (newest versions the ranges in pyproject.toml allow) into the lock.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet '$(UV)'
	$(BIN)/uv pip compile pyproject.toml --group bootstrap --extra test --extra testing \
		--universal --python-version 3.11 --generate-hashes --custom-compile-command 'make lock' \
		--upgrade --quiet -o $(LOCK)

## Start Podium with embedded defaults (SQLite, in-memory channels) and print demo links.
run: $(STAMP)
	$(BIN)/podium migrate
	@echo
	@echo "Demo room — open these links in your browser:"
	@$(BIN)/podium demo
	@echo
	$(BIN)/podium serve

## Install what the tests need, start PostgreSQL/Redis if down, lint, type-check and run the suite.
test: $(STAMP) services lint typecheck
	$(BIN)/pytest -n 2 --dist loadfile

## The hardening suite alone, its fuzzers at 20x the examples of `make test` (docs/security.md).
harden: $(STAMP) services
	PODIUM_HARDEN_SCALE=$${PODIUM_HARDEN_SCALE:-20} $(BIN)/pytest -p no:xdist tests/hardening

services:
	bash scripts/test-services.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	mkdir -p .typecheck/podium
	touch .typecheck/podium/__init__.py
	for pkg in core media plugins schemas; do ln -sfn ../../$$pkg .typecheck/podium/$$pkg; done
	$(BIN)/mypy

schemas: $(STAMP)
	$(BIN)/python -m podium.schemas.generate
	$(BIN)/python -m podium.schemas.plugins

bench: $(STAMP)
	$(BIN)/python bench/realtime.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
