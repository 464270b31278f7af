# The two commands from the README: `make demo` (set up everything and run the main job on
# sample data) and `make test` (lint, types and the whole test suite against real services).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := $(wildcard ledgerline platform_common schemas producers stream_processors sinks forecaster query_api orchestration deploy)

.PHONY: venv services down status reset setup demo test lint typecheck unit compose-plugin browser clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	@echo "[venv] installing locked dependencies with uv"
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install -q uv
	@test -x $(BIN)/python || $(PYTHON) -m uv venv -q --python 3.11 $(VENV)
	@$(PYTHON) -m uv pip sync -q --python $(BIN)/python requirements.lock
	@$(PYTHON) -m uv pip install -q --python $(BIN)/python --no-deps --config-settings editable_mode=compat -e .
	@touch $@

services: venv
	$(BIN)/ledgerline services up

down: venv
	-$(BIN)/ledgerline demo stop
	$(BIN)/ledgerline services down

status: venv
	$(BIN)/ledgerline services status

reset: venv
	-$(BIN)/ledgerline demo stop
	$(BIN)/ledgerline services reset --yes

setup: services
	$(BIN)/ledgerline setup

DEMO_ARGS ?=
demo: setup
	$(BIN)/ledgerline demo $(DEMO_ARGS)

compose-plugin:
	@bash deploy/install_compose_plugin.sh

browser:
	@bash deploy/install_browser.sh

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy $(PACKAGES) tests $(wildcard benchmarks/*.py)

unit: venv
	$(BIN)/pytest tests/unit

test: venv compose-plugin browser services lint typecheck
	$(BIN)/ledgerline setup
	$(BIN)/pytest

lock:
	$(PYTHON) -m uv pip compile -q pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
