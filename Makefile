# Two commands do everything on a fresh machine: `make demo` and `make test`.
# The environment is created from the committed uv.lock (uv itself is pinned here).
PYTHON ?= python3.11
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv

.PHONY: setup demo test lint bench clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

setup: $(VENV)/.synced

demo: setup
	$(VENV)/bin/onceonly demo

test: setup
	bash scripts/test-services.sh $(VENV)/bin/pytest

lint: setup
	$(VENV)/bin/ruff check src tests dags benchmarks
	$(VENV)/bin/mypy src

bench: setup
	$(VENV)/bin/python benchmarks/bench_landing.py

clean:
	rm -rf $(VENV) $(TOOLS) warehouse reports .airflow demo-landing
