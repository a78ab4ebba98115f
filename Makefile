# Fapiao Sentinel. `make help` lists the targets. Everything installs what it needs itself.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help venv run stop status test test-unit lint services-up services-down tools bench screenshots clean bi bi-stop

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP) ## create the virtualenv and install the project

services-up: ## provision and start Kafka (KRaft) and ClickHouse on 127.0.0.1
	bash deploy/local/stack.sh up

tools: ## what the tests use besides the servers (docker-compose, CJK fonts, chromium, PostgreSQL binaries)
	bash deploy/local/tools.sh

services-down: ## stop Kafka and ClickHouse
	bash deploy/local/stack.sh down

run: $(STAMP) services-up ## the whole stack + worker + API + demo feed; prints the URL
	bash deploy/local/run.sh start

stop: ## stop the app processes and the servers
	-bash deploy/local/run.sh stop
	bash deploy/local/stack.sh down

status: ## what is running
	-bash deploy/local/stack.sh status
	-bash deploy/local/run.sh status

lint: $(STAMP) ## ruff (lint and format) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy fapiao schemas streams services

test: $(STAMP) services-up tools lint ## every test: unit, chdb, and integration against the real servers
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile

test-unit: $(STAMP) ## the tests that need no server
	$(BIN)/python -m pytest -q -m "not integration"

bench: $(STAMP) services-up ## the benchmarks under bench/ (see docs/benchmarks.md)
	$(BIN)/python -m bench

bi: services-up ## Apache Superset on :8088 (own virtualenv .local/bi-venv) with the Fapiao Sentinel dashboard
	bash deploy/bi/superset.sh all

bi-stop: ## stop Superset
	bash deploy/bi/superset.sh stop

screenshots: $(STAMP) ## the web app's pages at 375 px and 1280 px into docs/screenshots (needs `make run`)
	$(BIN)/python -m services.web.screenshots

clean: ## remove the virtualenv and local server data
	-bash deploy/local/run.sh stop
	-bash deploy/local/stack.sh down
	rm -rf $(VENV) .local
