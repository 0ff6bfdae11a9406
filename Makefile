# The two commands of the README: `make demo` runs Signpost on the fixture web, `make test` runs the tests.
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: install test demo lint bench-extraction clean

install: $(VENV)/.installed

# torch first and pinned: a looser requirement would pull several GB of CUDA packages. Where PyPI's torch is the
# CUDA build, TORCH_INDEX=https://download.pytorch.org/whl/cpu takes the CPU build instead.
TORCH_INDEX ?=
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

# Two pytest workers, a test file each at a time: much of the suite waits on servers and child processes, so
# this takes about two thirds of the time of one worker even on 2 cores. PYTEST_ARGS="-n 0" runs in one.
PYTEST_ARGS ?= -n 2 --dist loadfile

test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: install
	$(BIN)/signpost demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench-extraction: install
	$(BIN)/signpost bench extraction ../shared/data/extraction-dev

clean:
	rm -rf $(VENV) var
