# huddlebot: `make run` tries it in a terminal, `make test` runs every check. Both set themselves up.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run serve test lint format migrate check-config clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: migrate the SQLite database and start the console with the example organisation
run: $(STAMP)
	$(BIN)/huddlebot migrate
	$(BIN)/huddlebot console

## serve: run the web server (Slack and Teams endpoints, /healthz) and the scheduled jobs
serve: $(STAMP)
	$(BIN)/huddlebot serve

## test: ruff, then pytest (PostgreSQL tests too when HUDDLEBOT_TEST_DATABASE_URL is set)
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate: $(STAMP)
	$(BIN)/huddlebot migrate

check-config: $(STAMP)
	$(BIN)/huddlebot check-config

clean:
	rm -rf $(VENV) huddlebot.db huddlebot.db-wal huddlebot.db-shm .pytest_cache .ruff_cache
