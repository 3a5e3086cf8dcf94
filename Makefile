# One obvious way to run things. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_STORE := sqlite:///.demo/lineage.db
PORT ?= 8050

.PHONY: help venv demo test bench lint browser clean

help:
	@echo "make demo   - set up, crawl fixtures/demo into $(DEMO_STORE), serve the dashboard on 127.0.0.1:$(PORT)"
	@echo "make test   - set up everything the tests need and run the whole suite"
	@echo "make bench  - run the benchmarks in bench/ against the peer tools"
	@echo "make lint   - ruff and mypy over the packages"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstalled whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	touch $@

venv: $(VENV)/.installed

# Chromium and its driver, from Debian, for the dashboard's browser tests and screenshots.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }

demo: venv
	rm -rf .demo
	$(BIN)/lineage crawl --config fixtures/demo/crawl.toml --store $(DEMO_STORE)
	$(BIN)/lineage serve --store $(DEMO_STORE) --host 127.0.0.1 --port $(PORT)

test: venv browser
	$(BIN)/python -m pytest

lint: venv
	$(BIN)/ruff check parsers crawler graph dashboard tests bench
	$(BIN)/mypy

bench: venv
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .demo .lineage .pytest_cache .mypy_cache .ruff_cache
