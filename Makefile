# Every target bootstraps what it needs: a fresh clone runs `make dev` or `make test` and nothing else.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# python3.13 is the Lambda runtime's Python. Take it from pyenv (3.13.x), else from PATH (a pyenv shim
# on PATH does not count unless it runs).
PY313 ?= $(shell { command -v pyenv >/dev/null 2>&1 && v=$$(pyenv versions --bare 2>/dev/null | grep -E '^3\.13(\.[0-9]+)?$$' | tail -n1) && [ -n "$$v" ] && echo "$$(pyenv root)/versions/$$v/bin/python3.13"; } || { p=$$(command -v python3.13) && "$$p" -c '' 2>/dev/null && echo "$$p"; })

VENV     := .venv
PY       := $(VENV)/bin/python
SAMVENV  := .venv-sam
SAM      := $(SAMVENV)/bin/sam
PY313DIR := $(dir $(PY313))
# sam's python builder looks up `python3.13` on PATH.
SAM_ENV  := PATH="$(CURDIR)/$(SAMVENV)/bin:$(PY313DIR):$$PATH" SAM_CLI_TELEMETRY=0

.PHONY: help dev test test-fast test-deps lint build validate admin invoke receiver bench openapi fuzz load clean check-python

help:
	@echo "make dev       local API on http://127.0.0.1:$${PORT:-3000} (moto, no Docker, no AWS)"
	@echo "make test      the whole test suite (installs Debian's chromium for the browser tests if missing)"
	@echo "make test-fast the inner loop: unit + in-process integration tests, no slow matrices (~1.5 min)"
	@echo "make lint      ruff + mypy"
	@echo "make build     sam build (python3.13, arm64), then the artifacts' bytecode"
	@echo "make validate  sam validate --lint + cfn-lint + resource count after the SAM transform"
	@echo "make admin ARGS='tenant create --name Acme --prefix INV'"
	@echo "make invoke FN=<LogicalId> [EVENT=events/<file>.json]  run one function on one event (no Docker)"
	@echo "make receiver ARGS='--port 9000 --secret whsec_...'  a local webhook receiver that checks signatures"
	@echo "make bench     performance budgets -> bench/results.json"
	@echo "make openapi   regenerate docs/openapi.json"
	@echo "make fuzz      long schemathesis run of docs/openapi.json against a local stack"
	@echo "make load      5,000 mixed requests at concurrency 32 against a local stack, then recount"

check-python:
	@test -n "$(PY313)" || { echo "python3.13 not found on PATH or in pyenv" >&2; exit 1; }

$(VENV)/.stamp: requirements/dev.txt | check-python
	@test -x $(PY) && $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null || { rm -rf $(VENV); $(PY313) -m venv $(VENV); }
	$(PY) -m pip install -q --disable-pip-version-check -r requirements/dev.txt
	@touch $@

$(SAMVENV)/.stamp: requirements/sam.txt | check-python
	@test -x $(SAMVENV)/bin/python || $(PY313) -m venv $(SAMVENV)
	$(SAMVENV)/bin/pip install -q --disable-pip-version-check -r requirements/sam.txt
	@touch $@

dev: $(VENV)/.stamp
	$(PY) -m tools.devstack

test: $(VENV)/.stamp $(SAMVENV)/.stamp test-deps  # .venv-sam: tests/unit/test_stack_size.py runs the SAM transform there
	CHROMIUM=$(CHROMIUM) $(PY) -m pytest

# The inner loop: no local stack, no browser, no exhaustive matrices (tests marked `slow`).
test-fast: $(VENV)/.stamp $(SAMVENV)/.stamp
	$(PY) -m pytest tests/unit tests/integration -m 'not slow'

# What make test needs from the system: Debian's chromium (tests/browser drive it through Playwright) and curl
# (tests/e2e/test_readme.py runs the README's commands). Installed with apt-get, through sudo when not root,
# only when missing.
CHROMIUM ?= /usr/bin/chromium
test-deps:
	@missing=$$( [ -x "$(CHROMIUM)" ] || echo chromium; command -v curl >/dev/null || echo curl ); \
	missing=$$(echo $$missing); [ -z "$$missing" ] && exit 0; \
	fail() { echo "make test needs $$missing ($(CHROMIUM) for tests/browser, curl for tests/e2e/test_readme.py): $$1" >&2; exit 1; }; \
	command -v apt-get >/dev/null || fail "no apt-get here: install it yourself (a chromium elsewhere: CHROMIUM=/its/path)"; \
	sudo=; [ "$$(id -u)" = 0 ] || { command -v sudo >/dev/null || fail "run as root or install sudo"; sudo=sudo; }; \
	echo "installing $$missing with apt-get (make test needs it)"; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq || fail "apt-get update failed"; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing || fail "apt-get install failed"; \
	[ -x "$(CHROMIUM)" ] || fail "apt-get did not install $(CHROMIUM)"

lint: $(VENV)/.stamp
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

build: $(SAMVENV)/.stamp $(VENV)/.stamp  # then bytecode for every artifact: Lambda cannot cache it (tools/bytecode.py)
	$(SAM_ENV) $(SAM) build --parallel
	$(PY) -m tools.bytecode

validate: $(SAMVENV)/.stamp
	$(SAM_ENV) $(SAM) validate --lint
	@for t in stacks/*/template.yaml; do echo "sam validate --lint -t $$t"; $(SAM_ENV) $(SAM) validate --lint -t $$t || exit 1; done
	$(SAMVENV)/bin/cfn-lint template.yaml stacks/*/template.yaml
	$(SAMVENV)/bin/python -m tools.stack_size --check

admin: $(VENV)/.stamp
	$(PY) -m tools.admin $(ARGS)

invoke: $(VENV)/.stamp  # against the running make dev, else a throwaway moto with the same sample data
	@$(PY) -m tools.invoke $(FN) $(if $(EVENT),--event $(EVENT))

receiver: $(VENV)/.stamp
	$(PY) -m tools.receiver $(ARGS)

openapi: $(VENV)/.stamp
	$(PY) -m tools.openapi > docs/openapi.json

bench: $(VENV)/.stamp build  # artifact sizes are read from a fresh sam build
	$(PY) -m bench.run $(ARGS)

fuzz: $(VENV)/.stamp
	$(PY) -m tools.fuzz $(ARGS)

load: $(VENV)/.stamp
	$(PY) -m tools.load $(ARGS)

clean:
	rm -rf $(VENV) $(SAMVENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
