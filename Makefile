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
# Where Debian's chromium and chromium-driver packages put them (the browser target).
CHROMIUM ?= /usr/bin/chromium
CHROMEDRIVER ?= /usr/bin/chromedriver

.PHONY: setup browser lint format test test-unit demo bench bench-serve clean

setup: $(STAMP) browser

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check $(TORCH_SPEC) \
		$(if $(TORCH_INDEX_URL),--index-url $(TORCH_INDEX_URL))
	$(PY) -m pip install -q --disable-pip-version-check -e '.[cpu,dev]'
	@# DeepSpeed JIT-compiles its shared-memory collective op the first time a run on this
	@# machine initialises it (84 s of g++ here, the run's other workers waiting on the build
	@# lock): build it once at install time, as DS_BUILD_OPS=1 would. Not fatal: a run builds
	@# it itself where this fails.
	$(PY) -c "from deepspeed.comm.torch import build_shm_op; build_shm_op()" >/dev/null 2>&1 || \
		echo "setup: DeepSpeed's shm op did not build now; the first DeepSpeed run builds it"
	touch $(STAMP)

# The web console's browser tests (tests/unit/console/test_browser.py) drive the OS's Chromium
# through its chromedriver: install both from the distribution where either is missing (never a
# browser downloaded at run time). Idempotent; as root or through sudo; where neither works (or
# there is no apt-get) it says so and the browser tests skip, naming this target.
browser:
	@if [ -x $(CHROMIUM) ] && [ -x $(CHROMEDRIVER) ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null; then \
		echo "browser: no apt-get here; install Chromium and its chromedriver yourself"; exit 0; fi; \
	SUDO=; if [ "$$(id -u)" != 0 ]; then \
		if command -v sudo >/dev/null; then SUDO=sudo; else \
		echo "browser: not root and no sudo; run as root: apt-get install -y chromium chromium-driver"; \
		exit 0; fi; fi; \
	echo "browser: installing chromium chromium-driver with apt-get (the console's browser tests)"; \
	$$SUDO apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
		chromium chromium-driver || \
	echo "browser: apt-get failed; the console's browser tests will skip"

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The suite runs with a private TMPDIR, removed afterwards; anything it leaves in the system
# temp folder fails the run (tests/_tmp_guard.py). Two pytest processes: the unit tier (Ray
# refused; CPU-bound, one core) runs beside the integration tier (one local Ray shared by the
# session; mostly waiting on Ray, Serve and servers), each tier whole in one process
# (tests/conftest.py: a scheduler by tier); the integration modules that start a Ray of their
# own (OWN_RAY_MODULES there) run in the unit tier's process after it. TEST_WORKERS=0 runs
# everything in this process.
TEST_WORKERS ?= 2
PYTEST_SPLIT := $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS))

test: lint
	$(PY) tests/_tmp_guard.py $(PY) -m pytest -q -p no:cacheprovider --durations=25 $(PYTEST_SPLIT)

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
