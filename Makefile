# moneytrail: `make demo` for a first look, `make test` for the test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := data/demo
SEED ?= 7

# Prefect runs on a temporary local server; keep its state in the project and its telemetry off.
export PREFECT_HOME := $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 120

.PHONY: install browser demo test test-slow lint bench detection clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "moneytrail needs Python 3.11+ (set PYTHON=...)"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $@

demo: $(STAMP)
	rm -rf $(DEMO)
	$(BIN)/moneytrail generate --preset demo --seed $(SEED) --out $(DEMO)/generated
	$(BIN)/moneytrail ingest $(DEMO)/generated --format canonical --lake $(DEMO)/lake
	$(BIN)/moneytrail run --lake $(DEMO)/lake --db $(DEMO)/moneytrail.duckdb
	$(BIN)/moneytrail alerts --db $(DEMO)/moneytrail.duckdb --limit 20
	@echo "outputs: $(DEMO)/generated (synthetic data + labels), $(DEMO)/lake (Parquet lake), $(DEMO)/moneytrail.duckdb (runs, account_scores, alerts), $(DEMO)/moneytrail.cases.sqlite (cases)"
	@echo "next: $(BIN)/moneytrail review --db $(DEMO)/moneytrail.duckdb --lake $(DEMO)/lake   (the analysts' app)"

# The review app's browser test drives Debian's chromium (Playwright cannot download its own here).
# Installed only when running as root with apt-get and chromium missing; otherwise that test skips.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium for the browser test"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
			|| echo "chromium could not be installed: the browser test will skip"; \
	fi

test: $(STAMP) browser
	$(BIN)/python -m pytest

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

detection: $(STAMP)
	$(BIN)/python bench/detection.py

clean:
	rm -rf $(DEMO) .pytest_cache .ruff_cache
