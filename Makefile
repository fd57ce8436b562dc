# The two set-up commands of the README; each creates the virtualenv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench

$(BIN)/charon: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/charon

## Install Charon and run the main job on the embedded default (local engine, embedded PostgreSQL).
demo: $(BIN)/charon
	$(BIN)/charon run fetch_calls_pipeline lang=en call_quantity=20 start_date=-7d --wait

## Run the whole test suite (the same command CI runs).
test: $(BIN)/charon
	$(BIN)/pytest -q

lint: $(BIN)/charon
	$(BIN)/ruff check .
	$(BIN)/mypy bot commands pipelines components

bench: $(BIN)/charon
	$(BIN)/python -m bench.bench_parse
	$(BIN)/python -m bench.bench_local_overhead
	$(BIN)/python -m bench.bench_slack_ack
	$(BIN)/python -m bench.bench_poller
