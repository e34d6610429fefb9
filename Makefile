# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app eventio
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run serve serve-proxy test test-sqlite test-postgres test-mariadb test-laravel lint format bench loadtest fuzz clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is needed" or 0)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

# Each step stops the run with one line saying what is wrong and how to fix it: the port
# first (before anything is written), then `python -m eventio.db`, which migrates a
# database the API manages (empty, or with alembic_version) and leaves an existing
# (Laravel-made) one as it is. `demo-token` prints the token kept in instance/demo-token
# while it is valid, and issues (and keeps) a new one only when it is not.
run: install  ## Migrate, load the demo world if empty, print a token, serve on 127.0.0.1:8000
	@$(BIN)/python -m eventio.cli.port_check $(HOST) $(PORT)
	@$(BIN)/python -m eventio.db
	@$(FLASK) demo --if-empty
	@$(FLASK) demo-token --port $(PORT) --or-hint
	LOG_FORMAT=$${LOG_FORMAT:-text} $(FLASK) run --host $(HOST) --port $(PORT)

serve: install  ## Production-style: gunicorn (gunicorn.conf.py) against DATABASE_URL / REDIS_URL
	@$(BIN)/python -m eventio.db
	$(BIN)/gunicorn --config gunicorn.conf.py wsgi:app

# Needs nginx: deploy/install-nginx installs Debian's (as root). gunicorn listens on a Unix
# socket and nginx (deploy/nginx/eventio.conf, filled at start) on HOST:PORT; every file
# either writes is under instance/proxy/. MAX_BODY_BYTES sets both body limits.
serve-proxy: install  ## Production topology: nginx in front of gunicorn on 127.0.0.1:8000
	@$(BIN)/python -m eventio.db
	HOST=$(HOST) PORT=$(PORT) $(BIN)/python -m deploy.proxy

# The suite runs in PYTEST_WORKERS processes (pytest-xdist; 0: in this one), each on a
# database and a Redis database of its own derived from TEST_DATABASE_URL / TEST_REDIS_URL
# (tests/support/workers.py); each module runs whole in one worker (`--dist loadscope`),
# its module-scoped servers and fixed names built once. docs/testing.md.
PYTEST_WORKERS ?= 2
PYTEST := $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadscope

test: install  ## The whole suite, on SQLite (TEST_DATABASE_URL / TEST_REDIS_URL select others)
	$(PYTEST) $(PYTEST_ARGS)

test-sqlite: install
	TEST_DATABASE_URL= TEST_REDIS_URL= $(PYTEST) $(PYTEST_ARGS)

test-postgres: install  ## The suite on the local PostgreSQL and Redis
	TEST_DATABASE_URL=postgresql://root@127.0.0.1:5432/test TEST_REDIS_URL=redis://127.0.0.1:6379/15 \
		$(PYTEST) $(PYTEST_ARGS)

test-mariadb: install  ## The suite on the local MariaDB (root, database test) and Redis
	TEST_DATABASE_URL=mysql://root@127.0.0.1/test TEST_REDIS_URL=redis://127.0.0.1:6379/15 \
		$(PYTEST) $(PYTEST_ARGS)

# The endpoint tests on the tables a Laravel app made (tests/support/laravel_schema.py), with
# no DDL from the API: on MariaDB, then on PostgreSQL with Sanctum 2's token table (there
# tests/auth writes tokens through the model, which names expires_at: tests/api only).
test-laravel: install  ## The endpoint tests on Laravel-made databases (MariaDB, PostgreSQL)
	TEST_SCHEMA=laravel TEST_DATABASE_URL=mysql://root@127.0.0.1/test \
		TEST_REDIS_URL=redis://127.0.0.1:6379/15 $(PYTEST) $(or $(PYTEST_ARGS),tests/api tests/auth tests/laravel)
	TEST_SCHEMA=laravel-sanctum2 TEST_DATABASE_URL=postgresql://root@127.0.0.1:5432/test \
		TEST_REDIS_URL=redis://127.0.0.1:6379/15 TEST_LARAVEL_SERVERS= \
		$(PYTEST) $(or $(PYTEST_ARGS),tests/api)

# The library-like packages are typed strictly: the query builder, auth, the HTTP pipeline
# and the database layer (docs/architecture.md).
STRICT = eventio/querybuilder eventio/auth eventio/http eventio/db

lint: install
	$(BIN)/ruff check eventio tests
	$(BIN)/ruff format --check eventio tests
	$(BIN)/mypy $(STRICT)

format: install
	$(BIN)/ruff check --fix eventio tests
	$(BIN)/ruff format eventio tests

# Needs wrk (apt-get install -y wrk), PostgreSQL on 127.0.0.1:5432 and Redis on :6379.
# Knobs: BENCH_DURATION (seconds per run, 10), BENCH_CONNECTIONS (wrk connections, 8),
# BENCH_WARMUP, BENCH_SLICES, BENCH_THREADS, BENCH_ONLY (regex over request keys); see docs/benchmarks.md.
# MariaDB too: BENCH_DATABASES=postgresql,mariadb (or =mariadb: only the API on MariaDB beside the
# API on PostgreSQL), BENCH_MARIADB_URL (mysql://root@127.0.0.1/eventio_bench, loaded when empty).
bench: install  ## The API against a hand-written floor under wrk; writes docs/benchmarks.md
	$(BIN)/python bench/run.py

# Needs wrk (apt-get install -y wrk), PostgreSQL on 127.0.0.1:5432 and redis-server (the run
# starts its own on a free port). Knobs: LOAD_SECONDS (60), LOAD_CONNECTIONS (16), LOAD_FAULTS
# (worker,redis,postgres), LOAD_DATABASE_URL (eventio_load, built once); see docs/reliability.md.
loadtest: install  ## gunicorn under wrk, clean then through faults; writes docs/reliability.md
	@command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install -y wrk (Debian/Ubuntu) or brew install wrk" >&2; exit 1; }
	$(BIN)/python -m reliability.loadtest

# The query fuzzer of tests/api/test_query_fuzz.py for FUZZ_SECONDS (300), in-process on a fresh
# SQLite file, or on FUZZ_DATABASE_URL (PostgreSQL: EMPTIED and migrated; FUZZ_REDIS_URL for the
# cache, flushed). Exits 1 on any 5xx or off-contract body; see docs/reliability.md.
fuzz: install  ## Fuzz every route's query grammar for minutes; writes docs/reliability.md
	$(BIN)/python -m reliability.fuzz

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
