# Two commands cover a fresh Linux machine (see README):
#   make quickstart   build .venv, install latentscm, run the main job
#   make test         build .venv with the dev extras, lint, run the test suite
#
# torch is installed first and pinned: an open "torch" requirement makes pip resolve a
# multi-GB CUDA build, while torch==2.13.0 takes the CPU wheel. Override with
#   make test TORCH_SPEC="torch==2.5.1 --index-url https://download.pytorch.org/whl/cu121"
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
BIN = $(VENV)/bin
OUT ?= quickstart

.PHONY: quickstart test lint install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.torch: | $(BIN)/python
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	touch $@

$(VENV)/.runtime: pyproject.toml $(VENV)/.torch
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev: pyproject.toml $(VENV)/.torch
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.runtime

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

quickstart: install
	$(BIN)/latentscm quickstart --out $(OUT)

lint: install-dev
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest -q -n 2

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
