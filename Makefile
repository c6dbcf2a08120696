# qa — two commands: `make run` (set up from nothing, then the chat) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
QUESTION ?= 2020年全年签约了多少个项目？

.PHONY: run setup install model index ask serve test test-unit clean

run: setup index serve

setup: install model

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(BIN)/pip install -q --disable-pip-version-check torch==2.13.0
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'

model: install
	$(BIN)/qa model pull

index: install
	$(BIN)/qa index build

ask: install
	$(BIN)/qa ask "$(QUESTION)"

serve: install
	$(BIN)/qa serve

test: setup
	$(BIN)/python -m pytest -q

test-unit: install
	$(BIN)/python -m pytest -q tests/unit

clean:
	rm -rf index/current index/builds index/.lock
