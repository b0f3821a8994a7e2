# Two commands from a fresh clone (python3 3.11+ and make are all it needs):
#   make demo   install and run the demo
#   make test   install and run every check CI runs
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint typecheck unit eval bench serve clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Nudge needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: install
	$(BIN)/nudge demo

test: install lint typecheck unit eval

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest

# Measured quality on held-out splits: fails below the targets (issue #19).
eval: install
	$(BIN)/python -m eval.acts --check

bench: install
	$(BIN)/python -m bench.instant_reply
	$(BIN)/python -m bench.cadence
	$(BIN)/python -m bench.reports
	$(BIN)/python -m bench.events
	$(BIN)/python -m bench.console_live
	$(BIN)/python -m bench.lead_import
	$(BIN)/python -m bench.acts

serve: install
	$(BIN)/nudge serve

clean:
	rm -rf $(VENV) .nudge .mypy_cache .ruff_cache .pytest_cache
