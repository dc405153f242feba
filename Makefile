# Upstream: one-command set-up. `make study` runs the default study, `make test` the test suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STUDY  ?= studies/agent_vs_system.yaml
# Test processes side by side (pytest-xdist); a module's tests stay in one process (its fixtures run once). Three on
# two cores: the suite keeps both busy with three (1.94 cores on average, its kernels and CLI runs included), and a
# fourth only adds contention: 449 CPU-s and 3:50 with three, 484 CPU-s and 4:10 with four, 433 and 3:53 with two.
# The slowest modules start first (tests/conftest.py SLOWEST_MODULES; --no-loadscope-reorder keeps that order).
TEST_WORKERS ?= 3
# GX, papermill and friends must never reach the network at run time.
export GX_ANALYTICS_ENABLED := False
export PYDEVD_DISABLE_FILE_VALIDATION := 1
# Python writes the bytecode of what it imports (src/, tests/) once, where a machine's PYTHONDONTWRITEBYTECODE would
# have each of the test run's ~100 processes (workers, runners, kernels) compile the package's modules again.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: study test test-spark lab install dev spark kernel bench lock reference sample clean

$(VENV)/bin/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed: set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet -c requirements.lock uv || echo "uv could not be installed: pip installs the dependencies"

KERNEL_INSTALL := $(PY) -m ipykernel install --sys-prefix --name upstream --display-name "Python (upstream)" >/dev/null
# The installer does not compile (pip compiles on one core: 41 s for the dev install from a fresh clone); compileall
# writes the bytecode on all cores (16 + 12 s), skipping the packages' own test suites (2,511 of 8,840 modules, never
# imported here; one that is would be compiled on first import): 14.3 -> 9.6 s. Files already compiled are skipped.
PIP_INSTALL := $(PIP) install --quiet --no-compile -c requirements.lock
# uv (pinned in requirements.lock, put in the venv when it is made) installs the locked tree: 2.7 s against pip's 17 s
# from a fresh clone with warm caches (pip fetches and unpacks one package at a time). It trusts the system's
# certificates, as pip does (a TLS-inspecting proxy's CA is there; uv's own roots refuse it). uv reads no pip.conf:
# where it cannot reach an index only pip is told about (or a venv made before has no uv), pip installs instead.
# `$(INSTALL) <requirements>`: a shell function, so that uv and pip get the same arguments whole.
UV := $(VENV)/bin/uv
INSTALL = install() { $(UV) pip install --quiet --system-certs --python $(PY) -c requirements.lock "$$@" \
	|| $(PIP_INSTALL) "$$@"; }; install
COMPILE := $(PY) -m compileall -q -j 0 -x 'site-packages/(.*/)?tests?/' \
	"$$($(PY) -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" >/dev/null

$(VENV)/.installed: $(VENV)/bin/python pyproject.toml requirements.lock
	$(INSTALL) -e .
	$(COMPILE)
	$(KERNEL_INSTALL)
	@touch $@

# One install for the package and its test tools (two cost more from a fresh clone).
$(VENV)/.installed-dev: $(VENV)/bin/python pyproject.toml requirements.lock
	$(INSTALL) -e '.[dev]'
	$(COMPILE)
	$(KERNEL_INSTALL)
	@touch $(VENV)/.installed $@

# JupyterLab (the lab extra) for `make lab`.
$(VENV)/.installed-lab: $(VENV)/.installed
	$(INSTALL) -e '.[lab]'
	$(COMPILE)
	@touch $@

# The test tools and pyspark (only make test-spark and the Spark engine need it; Java 17 too).
$(VENV)/.installed-spark: $(VENV)/.installed-dev
	$(INSTALL) -e '.[dev,spark]'
	$(COMPILE)
	@touch $@

install: $(VENV)/.installed
dev: $(VENV)/.installed-dev
spark: $(VENV)/.installed-spark
kernel: $(VENV)/.installed

## Run the default study on the bundled sample data and print the HTML index path.
study: $(VENV)/.installed
	$(VENV)/bin/upstream run $(STUDY)

## Lint (ruff) and run the test suite.
test: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check src tests benchmarks
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder -m "not spark"

## Spark local mode against DuckDB for every study (tests/test_spark.py, about 2 minutes); .ci/run runs it after
## `make test`.
test-spark: $(VENV)/.installed-spark
	$(PY) -m pytest -q -m spark tests/test_spark.py

## JupyterLab on notebooks/ with the project kernel.
lab: $(VENV)/.installed-lab
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

## Benchmarks (on demand; not part of the tests).
bench: $(VENV)/.installed-dev
	$(PY) benchmarks/run_all.py

## Regenerate the bundled sample from the simulator (deterministic).
sample: $(VENV)/.installed
	$(VENV)/bin/upstream simulate --preset sample --out data/sample

## Regenerate the R reference fixtures (needs R with lme4, lmerTest, pbkrtest, ordinal; not needed by the tests).
## CASES=... names the cases to rerun, e.g. `make reference CASES=insteval_agent_vs_system_reml` (~1 min).
reference:
	Rscript tests/reference/make_reference.R $(CASES)

## Re-pin the full dependency tree after changing pyproject.toml.
lock: $(VENV)/.installed-spark $(VENV)/.installed-lab
	$(PIP) freeze --exclude-editable | grep -v '^upstream' | sed '1i # Full pinned dependency tree for Python 3.11 on Linux; used as a pip constraints file by the Makefile.\n# Regenerate with: make lock' > requirements.lock

clean:
	rm -rf $(VENV) reports/*/ .pytest_cache
