# feed-assets: `make run` loads the bundled sample inbox, `make test` runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DG := $(VENV)/bin/dg
FEED := $(VENV)/bin/feed-assets
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: help install dev run test test-fast ui screenshots bench backtest samples clean lake-demo

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed ## create .venv and install the project

dev: $(VENV)/.installed-dev ## install the project with its test tools

# the project's instance settings (queued runs, one warehouse writer at a time), kept if edited
$(DAGSTER_HOME)/dagster.yaml: | $(DAGSTER_HOME)
	cp feed_assets/automation/dagster.yaml $@

$(DAGSTER_HOME):
	mkdir -p $(DAGSTER_HOME)

run: install $(DAGSTER_HOME)/dagster.yaml ## materialize every asset over all the sample days, in one run, and summarize
	@$(FEED) backfill "$$($(FEED) inbox-range)"
	@echo
	@$(FEED) summary

# the tests run on three workers, a test file each at a time (module fixtures are built once), in
# the collection's order (conftest puts the longest files first; xdist would order files by test count).
# Three on two cores, because many tests wait on processes, servers and the browser: measured on
# a clean clone, 5:36 with three workers against 6:01 with two
TEST_WORKERS ?= 3

# the tests' temporary files (their warehouses, inboxes, and the Dagster homes of the tests that
# run processes) go to memory where Linux offers enough of it (/dev/shm with 2 GiB free; else
# $TMPDIR or /tmp): DuckDB's checkpoints and Dagster's SQLite event log wait for the disk at
# each commit. Measured on the day-by-day trend test when its instance was SQLite: 38 s with
# /tmp on disk, 32 s on /dev/shm. TEST_TMPDIR=... chooses another folder
TEST_TMPDIR ?= $(shell if [ -d /dev/shm ] && [ -w /dev/shm ] \
	&& [ "$$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 {print $$4}')" -ge 2097152 ] 2>/dev/null; \
	then echo /dev/shm; else echo "$${TMPDIR:-/tmp}"; fi)

test: dev ## run every test (what CI runs), on TEST_WORKERS (default 3) workers
	TMPDIR=$(TEST_TMPDIR) $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

test-fast: dev ## run the fast tests only: parsers, rules, statistics, warehouse SQL (no whole-pipeline runs)
	TMPDIR=$(TEST_TMPDIR) $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder -m "not slow"

ui: install $(DAGSTER_HOME)/dagster.yaml ## the Dagster UI and daemon (schedules, sensor, run queue) on http://127.0.0.1:3000
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(DG) dev -h 127.0.0.1 -p 3000

screenshots: dev ## run the browser test, saving its screenshots of the UI to docs/screenshots/
	FEED_UI_SCREENSHOTS=$(CURDIR)/docs/screenshots $(PY) -m pytest -q feed_assets_tests/test_ui_browser.py

lake-demo: dev ## the sample on DuckLake: PostgreSQL and S3 (moto) started here, a backfill, how to attach
	@$(PY) -m feed_assets_tests.lake_demo

bench: dev ## P1-P3: backfills of ../shared/data and of 10 synthetic years against Dagster's floor
	$(PY) -m feed_assets_tests.benchmark

backtest: dev ## the rising-term lists against planted rises and quiet backgrounds, at HF and arXiv volume
	$(PY) -m feed_assets_tests.backtest

samples: install ## regenerate the bundled sample inbox in data/inbox
	@$(PY) -m feed_assets.sample_data --out data/inbox

clean: ## remove the local warehouse, query copy, raw store, charts and Dagster home (never the inbox)
	rm -rf data/feed.duckdb data/feed.duckdb.wal data/query.duckdb data/published data/reports data/raw $(DAGSTER_HOME)
