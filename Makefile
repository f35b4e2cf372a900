# Triops: make run (serve the app), make test (the whole suite), make test-fast (the inner loop),
# make run-cluster (PostgreSQL, REPLICAS app replicas and nginx on one machine), make bench.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PORT    ?= 8501
# The labs' tools run as an unprivileged sandbox UID, so they live in a venv made from Debian's
# /usr/bin/python3 in a folder every UID can read (TRIOPS_LABS_VENV).
LABS_VENV ?= $(or $(TRIOPS_LABS_VENV),/var/tmp/triops-labs-venv)

.PHONY: install run run-cluster nginx test test-fast bench lint browser clean

install: $(STAMP)
	@bash scripts/labs-venv.sh $(LABS_VENV)

# Reinstall only when the project's metadata changes; editable install picks up code edits.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet 'torch==2.13.0'
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/streamlit run app.py --server.headless true --server.port $(PORT) --browser.gatherUsageStats false

# The multi-replica deployment on one machine (docs/OPERATIONS.md): a PostgreSQL 15 server with
# its data in .triops/cluster/postgres, REPLICAS app processes (deploy/replica.py) on ports
# 8511 and up, and nginx (deploy/nginx/triops.conf: websocket upgrade, sticky sessions) on
# CLUSTER_PORT, and WORKERS `triops worker` processes for lab runs and index builds
# (docs/WORKERS.md). Runs in the foreground until Ctrl-C.
REPLICAS     ?= 2
WORKERS      ?= 1
CLUSTER_PORT ?= 8080
run-cluster: install nginx
	$(BIN)/python scripts/run-cluster.py --replicas $(REPLICAS) --workers $(WORKERS) --port $(CLUSTER_PORT)

# Makes sure Debian's nginx is there for run-cluster and the cluster tests (installs it where it
# can); without it those tests skip, or fail when TRIOPS_REQUIRE_NGINX=1.
nginx:
	@bash scripts/cluster-nginx.sh

# Makes sure Debian's chromium is there for the browser tests (installs it where it can);
# without it the browser tests skip with a reason, or fail when TRIOPS_REQUIRE_BROWSER=1.
browser:
	@bash scripts/ensure-chromium.sh

# Both test targets run on two workers (pytest-xdist; XDIST_WORKERS=0 runs in one process).
# `--dist loadgroup`: tests/conftest.py puts a module's model, sandbox and browser tests in one
# group (its module fixtures and browser server made once) and the lab-check modules in one group
# (each lab side checked once per run); the run's one course index is built in a background
# process from the start of a run that needs it (tests/course_build.py), and
# `--no-loadscope-reorder` keeps the order tests/conftest.py's `order_groups` gives: the groups
# that need the index are handed out after the others, when it is ready. PYTHONDONTWRITEBYTECODE
# is cleared for pytest so the rewritten test modules and compiled sources are cached for the
# next run.
XDIST_WORKERS ?= 2
PYTEST  := PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n $(XDIST_WORKERS) --dist loadgroup \
	--no-loadscope-reorder

test: install browser nginx
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
	$(PYTEST) --durations=15

# The inner loop: every test but those that load the model, build an index or start an app server
# (slow), drive chromium (browser) or run the sandbox (sandbox); tests/conftest.py applies the
# markers from the fixtures a test uses (the cluster and exam-load tests mark themselves). The
# subset is CPU-bound: 1,810 tests in a median of 155 s wall and 266 CPU s against 165 s and 278 CPU
# s for the code at 1fc9ad1, three runs of each in turn on 2026-12-07 23:35-23:53 (the layering
# test's graph built by its tests, not at collection; a test home's state file copied from the
# migrated template; shorter test waits), on a machine slower that hour than at 22:36, when the
# code at 1fc9ad1 took 105 s and 174 CPU s. Earlier: a median of 138 s wall and 202 CPU s
# against 151 s and 230 CPU s for the code at ab2d842, three runs of each in turn on 2026-12-07 17:50-18:05 (loaders without a
# cache of their own share one per root, pytest without its logging plugin); 1,809 in 141 s and 143
# s, about 255 CPU s, on a quieter machine at 14:50. Measured back to back on 2026-12-07 04:46-05:01
# (load 0.5-2.3): 1,801 tests in 163 s and 185 s wall, 253 and 295 CPU s, against 216 s and 224 s,
# 355 and 373 CPU s for the same subset at the session's start (one readiness simulation per seed
# for both mocks, the bank loaded once per process in the blueprint tests, xdist groups that take
# effect, fewer garbage collections). The target is 90 s: about 150-170 CPU s on two cores.
# 1,810 tests in 107 s and 184 CPU s on a quiet machine on 2026-12-08 at 00:37. The whole suite
# (make test): 2,130 tests in 15 min 12 s in CI on a clean clone on 2026-12-08 01:28-01:51
# (the browser tests' chromium lighter: triops.testing.launch_chromium). Earlier, on two
# workers: 2,129 tests in 16 min 33 s and 19 min 10 s, two CI runs
# on a clean clone of the same code, 2026-12-07 21:03-21:55 (eval children encode with the saved
# query encoder; every heavy test 20-40 % slower in the second: the machine; 18 min 46 s at
# 18:09-18:33, 17 min 12 s at 14:57-15:14 on a quieter machine), with the index
# built in the background (2,112 in 18 min 19 s at 05:47-06:05, with the xdist groups in effect;
# 2,103 in 24 min 18 s at 03:01-03:25 without them; 2,037 in 15 min 58 s on 2026-12-06 on another
# machine of the same size; 1,930 in 12 min 20 s before the hands-on tasks, replicas, workers and
# load-test tests were added).
test-fast: $(STAMP)
	$(PYTEST) -q -m "not slow and not browser and not sandbox"

bench: install browser
	$(BIN)/python -m bench

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
