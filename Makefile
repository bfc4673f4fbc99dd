# evfleet: two commands set it up on a fresh machine (Python 3.11 + make).
#   make run   -> creates .venv, installs evfleet, starts the main job
#   make test  -> creates .venv, installs the dev extras (and the test browser), runs the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8501

.PHONY: run test test-fast venv install install-dev browser postgres lint format bench demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .

install-dev: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"

run: install
	$(BIN)/evfleet dashboard --port $(PORT)

# The browser tests need Debian's chromium (the test tool cannot download a browser here).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = "0" ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "warning: could not install chromium; browser tests will be skipped"; \
	  else echo "note: /usr/bin/chromium missing and not root; browser tests will be skipped"; fi; \
	fi

# The PostgreSQL store tests start a throwaway cluster on 127.0.0.1 from Debian's server binaries.
postgres:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = "0" ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
	      || echo "warning: could not install postgresql; PostgreSQL store tests will be skipped"; \
	  else echo "note: PostgreSQL server binaries missing and not root; PostgreSQL store tests will be skipped"; fi; \
	fi

test: install-dev browser postgres
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

# The quick loop while developing: no browser, no slow tests (Dask clusters, subprocesses, kill -9).
test-fast: install-dev
	$(BIN)/python -m pytest -q -m "not slow and not e2e"

lint: install-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

format: install-dev
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench: install
	$(BIN)/python benchmarks/bench_engine.py

# The live demo: the central system, a simulated depot of 20 OCPP stations replaying a 40-vehicle day at x120, and the
# dashboard; Ctrl+C stops all three. API: http://127.0.0.1:8000/docs
DEMO_DIR ?= .demo
demo: install
	@mkdir -p $(DEMO_DIR)
	$(BIN)/evfleet scenario new --vehicles 40 --seed 1 --out $(DEMO_DIR)/day.json
	@set -e; \
	$(BIN)/evfleet serve --db $(DEMO_DIR)/operate.db --ocpp-port 9000 --api-port 8000 & SERVE=$$!; \
	trap 'kill $$SERVE $$SIM 2>/dev/null' EXIT INT TERM; \
	for i in $$(seq 1 120); do $(BIN)/python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=2)" 2>/dev/null && break; sleep 0.5; done; \
	$(BIN)/evfleet depot-sim --stations 20 --csms ws://127.0.0.1:9000/ocpp --scenario $(DEMO_DIR)/day.json --speed 120 \
	  --register http://127.0.0.1:8000 --meter-interval 5 & SIM=$$!; \
	$(BIN)/evfleet dashboard --port $(PORT)

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
