# One obvious way to run things. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_STORE := sqlite:///.demo/lineage.db
PORT ?= 8050

.PHONY: help venv demo test test-s3 bench lint browser java tools servers neo4j-start neo4j-stop clean

help:
	@echo "make demo   - set up, crawl fixtures/demo into $(DEMO_STORE), serve the dashboard on 127.0.0.1:$(PORT)"
	@echo "make test   - set up everything the tests need and run the whole suite"
	@echo "make test-s3 - crawl an S3 bucket (moto's server) through s3a on Spark: fetches hadoop-aws (~690 MB, once)"
	@echo "make bench  - run the benchmarks in bench/ against the peer tools"
	@echo "make lint   - ruff and mypy over the packages"
	@echo "make neo4j-start / neo4j-stop - a local Neo4j 5.26 on 127.0.0.1:7687 (prints its store URL)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstalled whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,spark,ml]'
	touch $@

venv: $(VENV)/.installed

# Chromium and its driver, from Debian, for the dashboard's browser tests and screenshots.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }

# Java 17 from Debian: Neo4j runs on it, and PySpark's live jobs and --engine spark need it.
java:
	@command -v java >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless; }

# logrotate from Debian: tests/test_docs.py rotates logs with docs/nightly's example.
tools:
	@command -v logrotate >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq logrotate; }

# PostgreSQL and MariaDB from Debian, for the tests that crawl real servers' logs.
servers:
	bash tests/servers/install.sh

# Neo4j Community 5.26, built from Maven Central jars and started embedded (graph/neo4j_server/).
neo4j-start:
	@bash graph/neo4j_server/neo4j.sh start

neo4j-stop:
	@bash graph/neo4j_server/neo4j.sh stop

# The demo needs the package alone (no Spark, no test tools): about a minute on a fresh machine.
$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# Crawls are incremental and idempotent: a second `make demo` crawls into the same store (which a
# running dashboard may be reading) and finds nothing new; `make clean` starts afresh.
demo: $(VENV)/.core
	@# (exit status 1: the crawl completed with records in the quarantine, as the demo's bad lines are)
	$(BIN)/lineage crawl --config fixtures/demo/crawl.toml --store $(DEMO_STORE) --wait 60 || [ $$? -eq 1 ]
	$(BIN)/lineage serve --store $(DEMO_STORE) --host 127.0.0.1 --port $(PORT)

# The suite runs against a real Neo4j (started here, stopped after, whatever the outcome) and
# real PostgreSQL/MariaDB servers, which the tests start themselves.
test: venv browser java tools servers
	@url=$$(bash graph/neo4j_server/neo4j.sh start) || exit 1; \
	status=0; LINEAGE_TEST_NEO4J="$$url" LINEAGE_REQUIRE_SERVERS=1 $(BIN)/python -m pytest || status=$$?; \
	bash graph/neo4j_server/neo4j.sh stop; exit $$status

# moto's server in a virtualenv of its own (its dependencies stay out of the project's).
MOTO := .venv-moto
$(MOTO)/bin/moto_server:
	$(PYTHON) -m venv $(MOTO)
	$(MOTO)/bin/python -m pip install --quiet 'moto[server]>=5,<6'

test-s3: venv java $(MOTO)/bin/moto_server
	LINEAGE_TEST_S3=1 LINEAGE_MOTO_SERVER=$(MOTO)/bin/moto_server $(BIN)/python -m pytest tests/crawler/test_spark_s3.py

# acryl-datahub in a virtualenv of its own (it pins another sqlglot than ours), for bench/datahub_bench.py;
# sqlparse too, which its query aggregator's usage statistics format SQL with.
DATAHUB := .venv-datahub
$(DATAHUB)/bin/python:
	$(PYTHON) -m venv $(DATAHUB)
	$(DATAHUB)/bin/python -m pip install --quiet 'acryl-datahub[sql-parser]>=1.7,<1.8' 'sqlparse>=0.6,<1'

lint: venv
	$(BIN)/ruff check parsers crawler graph dashboard tests bench
	$(BIN)/mypy

# About 90 minutes: table-level SQL lineage vs sqlglot and the peers, accuracy on the SQL corpus
# (tests/corpus, ~1 min), TPC-H/TPC-DS throughput (~8 min), DataHub's parsing and query aggregator
# side by side (~17 min), the 1M-edge graph on both stores
# (Neo4j started here), a 1M-statement PostgreSQL log crawled end to end (and on Spark, local[2]), a 1 GB
# Spark event log, 100,000 fuzzed inputs per source type (~30 min on 2 cores), and the dashboard on a
# 1M-edge store in headless Chromium (~7 min).
bench: venv browser $(DATAHUB)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run.py
	$(BIN)/python bench/accuracy.py
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/datahub_bench.py --datahub-python $(DATAHUB)/bin/python
	@# Graph stores: one run to warm a fresh Neo4j (its first ingest is about 3x slower), then the
	@# README's 100k (with whole views) and 1M columns; the 1M run also times the server's bare-create pace.
	@url=$$(bash graph/neo4j_server/neo4j.sh start) || exit 1; status=0; \
	$(BIN)/python bench/graph_bench.py --edges 100000 --neo4j "$$url" --no-view --floor 0 > /dev/null || status=$$?; \
	$(BIN)/python bench/graph_bench.py --edges 100000 --neo4j "$$url" --floor 0 || status=$$?; \
	$(BIN)/python bench/graph_bench.py --edges 1000000 --neo4j "$$url" --no-view || status=$$?; \
	bash graph/neo4j_server/neo4j.sh stop; exit $$status
	$(BIN)/python bench/querylog_bench.py
	$(BIN)/python bench/querylog_bench.py --statements 1000000 --files 8 --workers 2
	$(BIN)/python bench/spark_engine_bench.py --statements 1000000 --files 8 --master 'local[2]'
	$(BIN)/python bench/spark_eventlog_bench.py --size-mb 1024
	$(BIN)/python bench/dashboard_bench.py --edges 1000000
	$(BIN)/python bench/fuzz.py --examples 100000

clean:
	-bash graph/neo4j_server/neo4j.sh stop 2>/dev/null
	rm -rf $(VENV) .demo .lineage .neo4j .pytest_cache .mypy_cache .ruff_cache
