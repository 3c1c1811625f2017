# Every target creates the virtualenv on first use; nothing else needs installing by hand
# except Debian's nginx for the nginx -t tests (.ci/run installs it).
VENV   ?= .venv
PY     := $(VENV)/bin/python
STACK  ?= dev
STAMP  := $(VENV)/.installed

.PHONY: preview test lint typecheck unit check bench lab clean

$(STAMP): pyproject.toml policy/requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Offline preview of a stack (STACK=dev|prod): mock runtime, no cloud, no credentials.
preview: $(STAMP)
	$(VENV)/bin/hitless preview --stack $(STACK)

## Lint, types and the whole test suite.
test: lint typecheck unit

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy policy/__main__.py

unit: $(STAMP)
	$(VENV)/bin/pytest -q

## Benchmarks (not part of make test): policy pack on the prod stack and on 200 RT services.
bench: $(STAMP)
	$(PY) benchmarks/bench_policy.py

## Rollout lab matrix (root; real nginx, iptables, a network namespace): every tier of dev and
## prod, the users' original RT and each tier's broken variant. Fails when a hitless run fails
## a request or a broken variant fails none.
LAB_RUNS ?= 3
LAB_JOBS ?= 5
lab: $(STAMP)
	$(VENV)/bin/hitless lab --matrix --runs $(LAB_RUNS) --jobs $(LAB_JOBS)

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
