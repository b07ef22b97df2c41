# Two commands do everything on a fresh machine: `make demo` and `make test`.
# The environment is created from the committed uv.lock (uv itself is pinned here).
PYTHON ?= python3.11
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
EMULATOR := tools/bigquery-emulator
DLT_PEER := tools/dlt-peer

.PHONY: setup emulator peer-dlt demo demo-outbox airflow airflow-stop test lint bench clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# --compile-bytecode: every process (the CLI, each task, dbt, the tests) starts from
# compiled modules, also where PYTHONDONTWRITEBYTECODE is set (as in many images), instead
# of compiling Airflow, dbt and GX from source each time (measured in benchmarks/README.md)
$(VENV)/.synced: uv.lock pyproject.toml Makefile | $(UV)
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	touch $@

setup: $(VENV)/.synced

# The BigQuery emulator has its own locked environment (it pins another duckdb).
$(EMULATOR)/.venv/.synced: $(EMULATOR)/uv.lock $(EMULATOR)/pyproject.toml | $(UV)
	cd $(EMULATOR) && ../../$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	touch $@

emulator: $(EMULATOR)/.venv/.synced

# dlt, the peer `onceonly bench --peer dlt` measures, in its own locked environment
$(DLT_PEER)/.venv/.synced: $(DLT_PEER)/uv.lock $(DLT_PEER)/pyproject.toml | $(UV)
	cd $(DLT_PEER) && ../../$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	touch $@

peer-dlt: $(DLT_PEER)/.venv/.synced

demo: setup
	$(VENV)/bin/onceonly demo

# the demo with its stock application writing through an outbox, on a throwaway
# PostgreSQL cluster (Debian's postgresql package, as the tests use)
demo-outbox: setup
	bash scripts/test-services.sh $(VENV)/bin/python scripts/with-postgres.py $(VENV)/bin/onceonly demo --outbox

# a real local Airflow (scheduler, dag-processor, API server on 127.0.0.1:8080, a
# PostgreSQL metadata database): docs/deploy.md
airflow: setup
	SERVICES=postgresql bash scripts/test-services.sh $(VENV)/bin/onceonly airflow start

airflow-stop: setup
	$(VENV)/bin/onceonly airflow stop

test: setup emulator peer-dlt
	bash scripts/test-services.sh $(VENV)/bin/pytest

lint: setup
	$(VENV)/bin/ruff check src tests dags benchmarks
	$(VENV)/bin/mypy src

bench: setup
	$(VENV)/bin/python benchmarks/bench_landing.py

clean:
	-$(VENV)/bin/onceonly airflow stop
	rm -rf $(VENV) $(TOOLS) $(EMULATOR)/.venv $(DLT_PEER)/.venv warehouse reports .airflow demo-landing
