# Every target creates the virtualenv on first use; nothing needs installing by hand: `make test`
# and `make lab` first install Debian's nginx (stream and Lua modules), unshare, ip and iptables
# when they are missing (`setup`, .ci/setup).
VENV   ?= .venv
PY     := $(VENV)/bin/python
STACK  ?= dev
STAMP  := $(VENV)/.installed
# checkov in its own virtualenv: its dependencies clash with Pulumi's (tests/test_checkov.py).
CHECKOV_VENV  ?= .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
CHECKOV_REQ   := checkov>=3.2,<4

.PHONY: preview test setup lint typecheck unit fuzz check bench lab clean checkov-env wheel mermaid

$(STAMP): pyproject.toml policy/requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(CHECKOV_STAMP): Makefile
	python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet '$(CHECKOV_REQ)'
	touch $(CHECKOV_STAMP)

## checkov, the outside scanner the suite runs over build/<stack>/ (own virtualenv).
checkov-env: $(CHECKOV_STAMP)

# The real mermaid parser and renderer (mermaid-cli, pinned by tools/mermaid/package-lock.json)
# for the tests that render every diagram of the report and the docs with Debian's Chromium
# (.ci/setup installs it); puppeteer downloads no browser (tools/mermaid/.puppeteerrc.cjs).
MERMAID       := tools/mermaid
MERMAID_STAMP := $(MERMAID)/node_modules/.installed

$(MERMAID_STAMP): $(MERMAID)/package.json $(MERMAID)/package-lock.json
	cd $(MERMAID) && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --prefer-offline
	touch $(MERMAID_STAMP)

## mermaid-cli for the diagram tests (npm ci once; offline afterwards).
mermaid: $(MERMAID_STAMP)

## Offline preview of a stack (STACK=dev|prod): mock runtime, no cloud, no credentials.
preview: $(STAMP)
	$(VENV)/bin/hitless preview --stack $(STACK)

## Lint, types and the whole test suite (setup first: prerequisites run left to right).
test: setup lint typecheck unit

## What the tests and the lab need from Debian (.ci/setup), installed when missing (as root;
## otherwise the exact apt-get command is printed and make stops with exit 2 before anything runs).
setup:
	.ci/setup

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy policy/__main__.py
	$(VENV)/bin/mypy examples/extra-runtime/__main__.py

unit: $(STAMP) $(CHECKOV_STAMP) $(MERMAID_STAMP)
	$(VENV)/bin/pytest -q

## The fuzz properties with the nightly budget (tests/conftest.py), not only make test's few.
fuzz: $(STAMP)
	$(VENV)/bin/pytest -q -m fuzz --hypothesis-profile=nightly --hypothesis-show-statistics

## Benchmarks (not part of make test): the policy pack (prod, 200 RT services), check on 1 000
## Deployments, the loader on hostile input, the simulator at 200 rps over a 10-minute rollout.
bench: $(STAMP)
	$(PY) benchmarks/bench_policy.py
	$(PY) benchmarks/bench_check.py
	$(PY) benchmarks/bench_input.py
	$(PY) benchmarks/bench_simulate.py

## Rollout lab matrix (root; real nginx, iptables, a network namespace): every tier of dev and
## prod, the users' original RT and each tier's broken variant. Fails when a hitless run fails
## a request or a broken variant fails none.
LAB_RUNS ?= 3
LAB_JOBS ?= 5
lab: setup $(STAMP)
	$(VENV)/bin/hitless lab --matrix --runs $(LAB_RUNS) --jobs $(LAB_JOBS)

## The library's wheel in dist/ (tests/test_wheel.py builds one from a clean copy and installs
## it into a fresh virtualenv). setuptools stages files in build/lib: cleared first, so a file
## deleted from the source cannot ship from an earlier build.
wheel: $(STAMP)
	rm -rf dist build/lib build/bdist.*
	$(PY) -m pip wheel --quiet --no-deps -w dist .

clean:
	rm -rf build dist .pytest_cache .mypy_cache .ruff_cache
