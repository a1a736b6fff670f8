# One entry point for people and CI. Every target bootstraps .venv from pinned requirements.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.demo-installed
TEMPLATES := api-backend/api-backend.yaml api-backend/vpc-api-backend.yaml \
             api-client/api-client.yaml api-client/vpc-api-client.yaml
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0

CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

DIAGRAM_VENV := .venv-diagram
BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed

.PHONY: help venv test lint unit fast scan demo diagnose-demo sam-local-test bench diagram docs clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# A venv with the pinned pip (requirements-pip.txt), made without `python -m venv`'s own pip install: ensurepip
# installs and byte-compiles the interpreter's bundled pip (about 7 s of CPU) only for us to replace it. Instead the
# bundled pip wheel runs straight from its file and installs the pinned pip uncompiled (about 4 s); an interpreter
# without a bundled wheel (Debian's python3 keeps it elsewhere) falls back to ensurepip.
BUNDLED_PIP = $(PYTHON) -c 'import ensurepip, glob, os; print(*sorted(glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), "_bundled", "pip-*.whl")))[-1:])' 2>/dev/null || true
define new_venv
$(PYTHON) -m venv --without-pip $(1)
wheel="$$($(BUNDLED_PIP))"; if [[ -n "$$wheel" ]]; then $(1)/bin/python "$$wheel/pip" install --quiet --disable-pip-version-check --no-compile -r requirements-pip.txt; else $(1)/bin/python -m ensurepip --default-pip && $(1)/bin/python -m pip install --quiet -r requirements-pip.txt; fi
endef

# Two stamps, one venv: `make demo` installs only what the demo runs (requirements-demo.txt); every other target
# adds the test and lint tools (requirements-dev.txt, which includes the demo's file) to the same .venv.
$(DEMO_STAMP): requirements-demo.txt requirements-powertools.txt requirements-pip.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (found " + sys.version.split()[0] + "); set PYTHON=python3.x")'
	$(call new_venv,$(VENV))
	$(BIN)/python -m pip install --quiet -r requirements-demo.txt
	touch $(DEMO_STAMP)

$(STAMP): $(DEMO_STAMP) requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP) ## Create .venv with the pinned dev tools

lint: $(STAMP) ## ruff, mypy (strict for deployed code, diagnose, workflow), cfn-lint (zero findings), shellcheck
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/cfn-lint --regions $(AWS_DEFAULT_REGION) -- $(wildcard $(TEMPLATES))
	@shopt -s nullglob; scripts=(./*.sh scripts/*.sh); if (( $${#scripts[@]} )); then $(BIN)/shellcheck -x "$${scripts[@]}"; fi

$(CHECKOV_STAMP): requirements-checkov.txt requirements-pip.txt
	$(call new_venv,$(CHECKOV_VENV))
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $(CHECKOV_STAMP)

scan: $(STAMP) $(CHECKOV_STAMP) ## checkov (own venv) on the templates, bandit on the Python code
	@# Offline: no vendor mappings download, no package-update check.
	CKV_SKIP_PACKAGE_UPDATE_CHECK=true BC_SKIP_MAPPING=TRUE $(CHECKOV_VENV)/bin/checkov --quiet --compact \
	  --skip-download --framework cloudformation $(addprefix -f ,$(wildcard $(TEMPLATES)))
	$(BIN)/bandit --quiet -c pyproject.toml -r api-backend/src api-client/src iampolicy cfnrender emulation diagnose workflow samlocal

# Compiled modules (and pytest's assertion-rewritten tests) are cached in __pycache__, which git ignores: with
# PYTHONDONTWRITEBYTECODE set in the environment every pytest worker compiles them all again (~5 s of CPU each).
unit fast: export PYTHONDONTWRITEBYTECODE :=

# pytest-randomly shuffles the test order on every run, and -q hides the seed it picked: pick it here and print it, so
# `make unit SEED=<n>` (or fast) repeats an order that failed.
ifeq ($(origin SEED), undefined)
SEED := $(shell od -An -N2 -tu2 /dev/urandom | tr -d ' ')
endif

unit: $(STAMP) ## pytest in a random order (SEED=n repeats one), spread over the cores (pytest-xdist)
	@echo "test order: SEED=$(SEED)"
	$(BIN)/python -m pytest -q -n auto --randomly-seed=$(SEED)

# The unit and template tests use neither hypothesis, schemathesis nor anyio: not loading their pytest plugins saves
# each of the three pytest processes about a second.
FAST_PLUGINS_OFF := -p no:hypothesispytest -p no:schemathesis -p no:anyio

fast: $(STAMP) ## Unit + template tests without the slow-marked ones, on every core: run while editing
	@echo "test order: SEED=$(SEED)"
	$(BIN)/python -m pytest -q -n auto --randomly-seed=$(SEED) $(FAST_PLUGINS_OFF) -m "not slow" tests/unit tests/templates

test: lint scan unit ## Every check (what CI runs)

demo: $(DEMO_STAMP) ## Run the offline two-account demo: make demo [ARGS="--help"]
	$(BIN)/python -m emulation.demo$(if $(ARGS), $(ARGS))

diagnose-demo: $(STAMP) ## diagnose.sh offline against a broken deployment: make diagnose-demo [CAUSE=name]
	./diagnose.sh --demo$(if $(CAUSE), $(CAUSE))

# Needs a Docker engine: the running one, or (as root on Debian/Ubuntu) one it installs and starts; see
# docs/sam-local.md. The stand-in Lambda image is built once per set of inputs (about 1-3 min), then reused.
sam-local-test: $(STAMP) ## Every function x shipped event under `sam local` (containers) against the offline emulation
	$(BIN)/python -m samlocal

$(BENCH_STAMP): requirements-bench.txt requirements-powertools.txt requirements-pip.txt
	$(call new_venv,$(BENCH_VENV))
	$(BENCH_VENV)/bin/python -m pip install --quiet -r requirements-bench.txt
	touch $(BENCH_STAMP)

bench: $(STAMP) $(BENCH_STAMP) ## Clients vs a reference-style baseline and the floor, offline; writes bench/results.json
	$(BIN)/python -m bench

diagram: ## Redraw docs/architecture.png from docs/architecture.py (needs Graphviz: apt-get install graphviz)
	@command -v dot >/dev/null || { echo "Graphviz 'dot' is not on PATH: install graphviz first" >&2; exit 1; }
	test -x $(DIAGRAM_VENV)/bin/python || $(PYTHON) -m venv $(DIAGRAM_VENV)
	$(DIAGRAM_VENV)/bin/python -m pip install --quiet -r requirements-diagram.txt
	$(DIAGRAM_VENV)/bin/python docs/architecture.py

docs: $(STAMP) ## Regenerate the parameter and output tables in docs/ from the four templates
	$(BIN)/python docs/tables.py

clean: ## Remove the venvs, caches and build output: every file .gitignore lists
	rm -rf $(VENV) .venv-* build dist .aws-sam .pytest_cache .ruff_cache .mypy_cache .hypothesis moto_recording \
	  bench/results*.json .samlocal
	find . -path ./.git -prune -o \( -type d \( -name __pycache__ -o -name .aws-sam \) -prune -exec rm -rf {} + \) \
	  -o \( -type f \( -name '*.pyc' -o -name '*-deploy.yaml' \) -exec rm -f {} + \)
