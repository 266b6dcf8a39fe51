# The one command surface. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.DEFAULT_GOAL := help

$(STAMP): pyproject.toml
	@echo "Creating $(VENV) and installing Tessera with its dependencies (first run only)..."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

.PHONY: install
install: $(STAMP) ## Create .venv and install Tessera and its development tools

.PHONY: run
run: $(STAMP) ## Run Tessera on http://127.0.0.1:8000 with the embedded SQLite database
	$(BIN)/tessera serve

.PHONY: test
test: $(STAMP) ## Run the whole test suite (SQLite and PostgreSQL)
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: that is a failure, not a pass" >&2; exit 1; fi; \
	exit $$rc

.PHONY: bench
bench: $(STAMP) ## Benchmark against populated SQLite and PostgreSQL (≈ 8–11 min; needs wrk)
	$(BIN)/python bench/run.py

.PHONY: bench-quick
bench-quick: $(STAMP) ## A shorter benchmark run (≈ 4 min)
	$(BIN)/python bench/run.py --quick

.PHONY: lint
lint: $(STAMP) ## ruff (lint and format check) and mypy (strict on src/)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

.PHONY: format
format: $(STAMP) ## Apply ruff's formatting and safe fixes
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

.PHONY: screenshots
screenshots: $(STAMP) ## Phone and desktop screenshots of the dashboard's pages into docs/screenshots/
	TESSERA_SCREENSHOTS=1 $(BIN)/python -m pytest tests/dashboard/test_browser.py -k axe -q

.PHONY: help
help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'
