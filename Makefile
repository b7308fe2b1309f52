# Gatehouse: `make run` starts the portal with demo data; `make test` runs the whole suite.
# Both create .venv on first use and refresh it when pyproject.toml changes.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# The embedded default needs DEBUG on for the demo accounts; override with DEBUG=false in production.
RUN_ENV := DEBUG=$${DEBUG:-true}

.PHONY: run test lint check clean demo bench-data bench-load bench-mlflow

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(RUN_ENV) $(PY) manage.py migrate --noinput
	$(RUN_ENV) $(PY) manage.py demo_data
	$(RUN_ENV) $(PY) manage.py serve

demo: $(VENV)/.installed-run
	$(RUN_ENV) $(PY) manage.py migrate --noinput
	$(RUN_ENV) $(PY) manage.py demo_data

test: $(VENV)/.installed-test
	-$(PY) tests/imports/mlflow_venv.py  # MLflow for the import tests, once (cached in var/); they skip without it
	$(PY) -m pytest $(PYTEST_ARGS)

# The style and the architecture: ruff (lint and format), the layer contracts (docs/architecture.md), and no
# model change without its migration.
lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	SECRET_KEY=$${SECRET_KEY:-lint-only} $(PY) manage.py makemigrations --check --dry-run

# bench/ (bench/README.md): 10,000 models in PostgreSQL, pages under load, the registry API beside MLflow's.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/gatehouse_bench
BENCH_ENV := DATABASE_URL=$(BENCH_DATABASE_URL) SECRET_KEY=$${SECRET_KEY:-bench}

bench-data: $(VENV)/.installed-run
	$(BENCH_ENV) $(PY) -u bench/generate.py --yes-destroy-data

bench-load: $(VENV)/.installed-run
	$(BENCH_ENV) $(PY) -u bench/load.py

bench-mlflow: $(VENV)/.installed-run
	$(PY) -u bench/compare_mlflow.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
