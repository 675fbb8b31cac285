# The two set-up commands: `make demo` and `make test`.
# Each creates .venv with Python 3.12 when missing and installs .[all,test] again
# only when pyproject.toml has changed since the last install.

PYTHON ?= python3.12
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test lint bench clean

demo: $(INSTALLED)
	$(BIN)/seqimaging demo

test: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(INSTALLED)
	$(BIN)/seqimaging bench convlstm-speed

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml $(BIN)/python
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[all,test]'
	touch $@

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
