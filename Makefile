# Shortcuts; the two commands in the README are all you need.
PYTHON ?= python3

.PHONY: start test lint format lock ci

start:
	$(PYTHON) scripts/dev.py start

test:
	$(PYTHON) scripts/dev.py test $(ARGS)

lint:
	$(PYTHON) scripts/dev.py setup
	.venv/bin/ruff check src tests scripts
	.venv/bin/ruff format --check src tests scripts

format:
	.venv/bin/ruff check --fix src tests scripts
	.venv/bin/ruff format src tests scripts

# Refresh the pins after changing dependencies in pyproject.toml (see CONTRIBUTING.md).
lock:
	.venv/bin/pip install -e ".[dev]"
	.venv/bin/pip freeze --exclude-editable > requirements.lock

ci:
	.ci/run
