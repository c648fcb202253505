# The two commands: `make run` (the product) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export UV_PROJECT_ENVIRONMENT := $(VENV)
# DEBUG is off unless set (config/settings.py); the local demo, the suite and the
# benchmarks' own tooling run with the development defaults.
DEV := DEBUG=$${DEBUG:-true}

.PHONY: install run test lint bench load soak clean manage

install: $(VENV)/.installed node_modules/.installed

# Front-end libraries (chart.js), served by the app itself: never from a CDN.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(VENV)/.installed: pyproject.toml uv.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is needed")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@test -x $(VENV)/bin/uv || $(PY) -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(VENV)/bin/uv sync --frozen --quiet --compile-bytecode
	@touch $@

run: install
	$(DEV) $(PY) -m config.embedded -- $(PY) -m config.run

# An ops command against the same servers `make run` uses (its embedded ones while it
# runs, or the given URLs): make manage ARGS="create_tenant acme --json"
manage: install
	@$(DEV) $(PY) -m config.embedded -- $(PY) manage.py $(ARGS)

test: install
	$(DEV) LL_TESTING=1 $(PY) -m config.embedded -- $(MAKE) --no-print-directory _test

_test:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: install
	$(DEV) $(PY) -m config.embedded -- $(PY) -m bench

# Mixed traffic against `make run`'s server (start it first): LOAD_USERS, LOAD_SECONDS.
load: install
	$(DEV) $(PY) -m bench.load

# An hour of steady load against `make run`'s server, reported per 5 minutes (bench/soak.py):
# LOAD_SECONDS (3600), LOAD_RATE (20 requests/s), LOAD_HOST.
soak: install
	$(DEV) $(PY) -m bench.soak

lint: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .data node_modules
