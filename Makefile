# One command per habit, the same locally and in CI.
#   make demo   set up .venv and run the main job on the embedded default
#   make test   set up .venv, lint, and run the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# torch is installed first and pinned, so that nothing pulls an unpinned, multi-GB CUDA
# build on a CPU-only machine. Where pip does not already find a CPU wheel, point
# TORCH_INDEX_URL at PyTorch's CPU wheel index.
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX_URL ?=

.PHONY: setup lint format test test-unit demo bench bench-serve clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check $(TORCH_SPEC) \
		$(if $(TORCH_INDEX_URL),--index-url $(TORCH_INDEX_URL))
	$(PY) -m pip install -q --disable-pip-version-check -e '.[cpu,dev]'
	touch $(STAMP)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The suite runs with a private TMPDIR, removed afterwards; anything it leaves in the system
# temp folder fails the run (tests/_tmp_guard.py).
test: lint
	$(PY) tests/_tmp_guard.py $(PY) -m pytest -q -p no:cacheprovider --durations=25

test-unit: setup
	$(PY) -m pytest -q -p no:cacheprovider tests/unit

demo: setup
	PYTHONUNBUFFERED=1 $(PY) examples/demo.py

bench: setup
	$(PY) bench/train_scaling.py

bench-serve: setup
	$(PY) bench/serve_latency.py

clean:
	rm -rf $(VENV) raymaker_data .pytest_cache .ruff_cache
