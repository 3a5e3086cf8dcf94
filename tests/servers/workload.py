"""The bank's credit-scoring ELT, run for real against PostgreSQL and MariaDB to produce query logs.

A query-log crawler is tested by what real servers write when real clients talk to them, so
this module drives the servers of ``postgres.py`` and ``mariadb.py`` the way the bank's
systems would: a schema migration, ingestion services loading ``raw``, the nightly ELT script
(``fixtures/demo/elt/nightly_credit_elt.sql``, made runnable) building ``staging``,
``features``, ``ml`` and the ``reporting.limit_decisions`` view, an analyst's ad-hoc session
with mistakes and rollbacks, the limit service's parameterized statements, and two batch
jobs that each fill a temporary table of the same name at the same time.

Each ``run_*_workload`` returns the lineage the log should yield, which is also kept in a
module constant (``POSTGRES_EXPECTED_LINEAGE``, ``MARIADB_EXPECTED_LINEAGE``) so tests can
assert a crawl against it without running a server; ``POSTGRES_EXPECTED_FEEDS`` and
``MARIADB_EXPECTED_FEEDS`` are the dataset-to-dataset edges of the statements that took
effect, with temporary tables resolved per session. Every literal is fake.

PostgreSQL names are ``credit.schema.table``; MariaDB names are ``database.table``. Temporary
tables are named ``credit.pg_temp.NAME`` (PostgreSQL) or ``DB.NAME`` (MariaDB, the current
database when created) and listed in ``Expected.temp``.

Only statements with table-level lineage are listed (the kinds of ``parsers.sql.tables``, plus
``COPY``): no DDL without data flow (``CREATE SCHEMA``, ``DROP``, ``TRUNCATE``, ``GRANT``),
no ``BEGIN``/``COMMIT``, no ``SET``, no statements that touch no table.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from tests.servers.mariadb import MariaDBServer
from tests.servers.postgres import PostgresServer

OK = "ok"
FAILED = "failed"  # the statement raised an error: it wrote nothing
ROLLED_BACK = "rolled_back"  # it ran, but its transaction was rolled back
ABORTED = "aborted"  # refused because an earlier statement had failed in its transaction (PostgreSQL)
OUTCOMES = (OK, FAILED, ROLLED_BACK, ABORTED)


class WorkloadError(RuntimeError):
    """A statement failed that should have worked, or one that should fail did not."""


@dataclasses.dataclass(frozen=True, slots=True)
class Expected:
    """One logged statement's table-level lineage: what it read, what it wrote, and whether it stuck.

    ``kind`` uses the parser's vocabulary (INSERT, UPDATE, DELETE, MERGE, CREATE TABLE,
    CREATE TABLE AS, CREATE VIEW, SELECT) plus COPY. ``sources`` are sorted. ``count`` is how
    many times the same statement (template) was executed, e.g. a prepared statement.
    ``session`` is the client's application name (PostgreSQL) or a label of the connection
    (MariaDB: its user and purpose), so tests can tell sessions apart.
    """

    kind: str
    sources: tuple[str, ...]
    target: str | None
    outcome: str = OK
    session: str = ""
    count: int = 1
    temp: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r}")
        if tuple(sorted(self.sources)) != self.sources:
            raise ValueError(f"sources must be sorted: {self.sources}")


def expected_feeds(statements: Iterable[Expected]) -> frozenset[tuple[str, str]]:
    """Dataset-to-dataset edges of the statements that took effect, through temporary tables.

    A temporary table is session-private: what one session wrote into ``batch`` feeds only that
    session's readers of ``batch``. Edges into or out of temporary tables are replaced by the
    persistent tables behind them.
    """
    behind: dict[tuple[str, str], set[str]] = {}
    feeds: set[tuple[str, str]] = set()
    for statement in statements:
        if statement.outcome != OK or statement.target is None:
            continue
        sources: set[str] = set()
        for source in statement.sources:
            if source in statement.temp:
                sources |= behind.get((statement.session, source), set())
            else:
                sources.add(source)
        if statement.target in statement.temp:
            behind.setdefault((statement.session, statement.target), set()).update(sources)
        else:
            feeds.update((source, statement.target) for source in sources)
    return frozenset(feeds)


# ---------------------------------------------------------------------------------------------
# Fake data, shared by both dialects
# ---------------------------------------------------------------------------------------------

FIRST_NAMES = ("Alex", "Sam", "Robin", "Jo", "Kim", "Lee", "Max", "Noa")
LAST_NAMES = ("Example", "Sample", "Placeholder", "Testperson")
CUSTOMERS = tuple(range(10001, 10025))
ERASED = (10003, 10017)
LENDERS = ("lender-a", "lender-b", "lender-c")
SCORING_CUSTOMERS = (10002, 10005, 10011, 10019, 10023)


def _name(customer: int) -> str:
    return f"{FIRST_NAMES[customer % len(FIRST_NAMES)]} {LAST_NAMES[customer % len(LAST_NAMES)]}"


def _customer_rows() -> list[tuple[int, str, dt.date, str, int, int]]:
    """(id, name, birth date, postcode, income, days since update); some customers twice (older row)."""
    rows = []
    for index, customer in enumerate(CUSTOMERS):
        birth = dt.date(1958, 1, 1) + dt.timedelta(days=index * 611)
        postcode = f"ZZ{index % 9 + 1} {index % 7 + 1}XX"
        rows.append((customer, _name(customer), birth, postcode, 21000 + 3500 * index, index % 5))
        if index % 6 == 0:
            rows.append((customer, _name(customer), birth, f"ZZ0 {index % 7 + 1}YY", 18000 + 3000 * index, 40))
    return rows


def _account_rows() -> list[tuple[int, int, int, int]]:
    """(account id, customer, credit limit, balance)."""
    rows = []
    for index, customer in enumerate(CUSTOMERS):
        limit = 1000 + 250 * (index % 8)
        rows.append((500000 + index, customer, limit, (index * 137) % limit))
    return rows


def _inquiry_rows() -> list[tuple[int, int, str, str]]:
    """(customer, days ago, lender, type): some inside the 90-day window, some outside."""
    rows = []
    for index, customer in enumerate(CUSTOMERS):
        for k in range(index % 3 + 1):
            rows.append((customer, (index * 13 + k * 41) % 150, LENDERS[(index + k) % 3], "hard" if k else "soft"))
    return rows


def _bureau_rows() -> list[tuple[int, int, int, bool]]:
    """(customer, score, days ago, is latest)."""
    rows = []
    for index, customer in enumerate(CUSTOMERS):
        rows.append((customer, 450 + (index * 37) % 400, 10 + index, True))
        rows.append((customer, 420 + (index * 53) % 400, 200 + index, False))
    return rows


def _outcome_rows() -> list[tuple[int, bool, int]]:
    """(customer, defaulted within 12 months, days ago observed)."""
    return [(customer, index % 6 == 0, 400 + index) for index, customer in enumerate(CUSTOMERS)]


def _values(rows: Iterable[Sequence[str]]) -> str:
    return ",\n    ".join("(" + ", ".join(row) + ")" for row in rows)


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------

PG_DB = "credit"
PG_ROLES = ("etl_nightly", "svc_ingest", "svc_limits", "ana_risk")
PG_SCHEMAS = ("raw", "staging", "features", "ml", "reporting")

PG_BOOTSTRAP = """\
CREATE ROLE credit_rw NOLOGIN;
CREATE ROLE etl_nightly LOGIN;
CREATE ROLE svc_ingest LOGIN IN ROLE credit_rw;
CREATE ROLE svc_limits LOGIN IN ROLE credit_rw;
CREATE ROLE ana_risk LOGIN IN ROLE credit_rw;
CREATE DATABASE credit OWNER etl_nightly;
"""

# table -> column definitions; created in this order by the schema migration.
PG_TABLES: dict[str, str] = {
    "raw.customers": "customer_id bigint NOT NULL, full_name text NOT NULL, date_of_birth date NOT NULL,\n"
                     "    postcode text, annual_income numeric(12,2), updated_at timestamptz NOT NULL DEFAULT now()",
    "raw.customer_erasure_requests": "customer_id bigint PRIMARY KEY, requested_at timestamptz NOT NULL DEFAULT now()",
    "raw.credit_inquiries": "customer_id bigint NOT NULL, inquiry_at timestamptz NOT NULL, lender text NOT NULL,\n"
                            "    inquiry_type text NOT NULL",
    "raw.card_accounts": "account_id bigint PRIMARY KEY, customer_id bigint NOT NULL,\n"
                         "    credit_limit numeric(12,2) NOT NULL, balance numeric(12,2) NOT NULL,\n"
                         "    opened_at date NOT NULL DEFAULT current_date",
    "raw.payments": "payment_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, account_id bigint NOT NULL,\n"
                    "    paid_at timestamptz NOT NULL, amount numeric(12,2) NOT NULL,\n"
                    "    days_late integer NOT NULL DEFAULT 0",
    "raw.bureau_reports": "customer_id bigint NOT NULL, score integer NOT NULL, reported_at date NOT NULL,\n"
                          "    is_latest boolean NOT NULL",
    "raw.default_outcomes": "customer_id bigint NOT NULL, defaulted_within_12m boolean NOT NULL,\n"
                            "    observed_at timestamptz NOT NULL",
    "staging.credit_inquiries": "customer_id bigint NOT NULL, inquiry_at timestamptz NOT NULL, lender text,\n"
                                "    inquiry_type text",
    "staging.payment_history": "account_id bigint PRIMARY KEY, customer_id bigint NOT NULL, late_30 bigint NOT NULL,\n"
                               "    last_paid_at timestamptz",
    "features.customer_features": "customer_id bigint PRIMARY KEY, age_years double precision,\n"
                                  "    annual_income numeric(12,2), inquiries_90d bigint, late_payments_30d numeric,\n"
                                  "    bureau_score integer, utilization numeric",
    "ml.credit_scores": "customer_id bigint NOT NULL, model_version text NOT NULL, score double precision NOT NULL,\n"
                        "    recommended_limit numeric(12,2) NOT NULL, scored_at timestamptz NOT NULL",
    "ml.prediction_log": "customer_id bigint NOT NULL, model_version text, score double precision,\n"
                         "    recommended_limit numeric(12,2), requested_at timestamptz NOT NULL",
    "ml.limit_overrides": "customer_id bigint NOT NULL, new_limit numeric(12,2) NOT NULL, reason text,\n"
                          "    created_at timestamptz NOT NULL DEFAULT now()",
    "reporting.score_bands": "band integer, customers bigint, computed_at timestamptz NOT NULL DEFAULT now()",
    "reporting.income_bands": "band integer, customers bigint, computed_at timestamptz NOT NULL DEFAULT now()",
}

PG_FUNCTIONS = """\
-- Stand-ins for the model server's scoring functions: pure SQL, they read no table.
CREATE FUNCTION ml.predict_default(model text, age double precision, income numeric, inquiries bigint,
                                   late numeric, bureau integer, utilization numeric)
RETURNS double precision LANGUAGE sql IMMUTABLE AS $$
    SELECT least(0.99, greatest(0.01,
        0.05 + 0.04 * coalesce(inquiries, 0) + 0.02 * coalesce(late, 0)
        - coalesce(bureau, 600) / 20000.0 + 0.2 * coalesce(utilization, 0)))
$$;

CREATE FUNCTION ml.limit_for_score(score double precision, income numeric)
RETURNS numeric LANGUAGE sql IMMUTABLE AS $$
    SELECT round((coalesce(income, 0) * 0.2 * (1 - score))::numeric, -2)
$$;
"""


def _pg_migration() -> str:
    """Schemas, tables, functions and grants, as the owner ``etl_nightly`` would migrate them."""
    parts = [f"CREATE SCHEMA {schema};\n" for schema in PG_SCHEMAS]
    parts += [f"\nCREATE TABLE {table} (\n    {columns}\n);\n" for table, columns in PG_TABLES.items()]
    parts.append("\n" + PG_FUNCTIONS)
    schemas = ", ".join(PG_SCHEMAS)
    parts.append(
        f"\nGRANT USAGE ON SCHEMA {schemas} TO credit_rw;\n"
        "GRANT CREATE ON SCHEMA reporting TO credit_rw;\n"
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schemas} TO credit_rw;\n"
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schemas} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO credit_rw;\n"
    )
    return "".join(parts)


def _pg_ingest() -> str:
    """The ingestion services' loads: multi-row INSERTs, INSERT ... SELECT over generate_series, COPY."""
    customers = _values(
        (str(c), _text(name), f"date '{birth.isoformat()}'", _text(postcode), str(income),
         f"now() - interval '{days} days'")
        for c, name, birth, postcode, income, days in _customer_rows())
    accounts = _values((str(a), str(c), str(limit), str(balance)) for a, c, limit, balance in _account_rows())
    inquiries = _values((str(c), f"now() - interval '{days} days'", _text(lender), _text(kind))
                        for c, days, lender, kind in _inquiry_rows())
    outcomes = _values((str(c), "true" if d else "false", f"now() - interval '{days} days'")
                       for c, d, days in _outcome_rows())
    erasures = _values((str(c),) for c in ERASED)
    today = dt.date(2026, 11, 1)
    bureau = "".join(f"{c},{score},{(today - dt.timedelta(days=days)).isoformat()},{'t' if latest else 'f'}\n"
                     for c, score, days, latest in _bureau_rows())
    return f"""\
INSERT INTO raw.customers (customer_id, full_name, date_of_birth, postcode, annual_income, updated_at)
VALUES
    {customers};

INSERT INTO raw.customer_erasure_requests (customer_id) VALUES {erasures};

INSERT INTO raw.card_accounts (account_id, customer_id, credit_limit, balance)
VALUES
    {accounts};

-- twelve monthly payments per account
INSERT INTO raw.payments (account_id, paid_at, amount, days_late)
SELECT a.account_id,
       now() - g.month * interval '30 days',
       round(a.credit_limit * 0.05, 2),
       (a.account_id + g.month * 7) % 45
FROM raw.card_accounts AS a
CROSS JOIN generate_series(1, 12) AS g(month);

INSERT INTO raw.credit_inquiries (customer_id, inquiry_at, lender, inquiry_type)
VALUES
    {inquiries};

INSERT INTO raw.default_outcomes (customer_id, defaulted_within_12m, observed_at)
VALUES
    {outcomes};

COPY raw.bureau_reports (customer_id, score, reported_at, is_latest) FROM STDIN WITH (FORMAT csv);
{bureau}\\.
"""


PG_ELT = """\
-- Nightly ELT of the credit-limit scoring pipeline (database "credit").
-- Made runnable from fixtures/demo/elt/nightly_credit_elt.sql: the inquiry window goes through a
-- temporary table, the utilization update relies on search_path, scoring uses a subquery.

BEGIN;

CREATE TABLE IF NOT EXISTS staging.customers AS
SELECT DISTINCT ON (customer_id)
       customer_id, full_name, date_of_birth, postcode, annual_income, updated_at
FROM raw.customers
ORDER BY customer_id, updated_at DESC;

-- GDPR erasure requests remove people from everything downstream.
DELETE FROM staging.customers AS s
USING raw.customer_erasure_requests AS e
WHERE s.customer_id = e.customer_id;

CREATE TEMP TABLE recent_inquiries ON COMMIT DROP AS
SELECT customer_id, inquiry_at, lender, inquiry_type
FROM raw.credit_inquiries
WHERE inquiry_at >= now() - interval '90 days';

INSERT INTO staging.credit_inquiries (customer_id, inquiry_at, lender, inquiry_type)
WITH recent AS (
    SELECT customer_id, inquiry_at, lender, inquiry_type
    FROM recent_inquiries
)
SELECT r.customer_id, r.inquiry_at, r.lender, r.inquiry_type
FROM recent AS r
JOIN staging.customers AS c ON c.customer_id = r.customer_id;

MERGE INTO staging.payment_history AS h
USING (
    SELECT a.account_id, a.customer_id,
           count(*) FILTER (WHERE p.days_late > 30) AS late_30,
           max(p.paid_at) AS last_paid_at
    FROM raw.payments AS p
    JOIN raw.card_accounts AS a USING (account_id)
    GROUP BY a.account_id, a.customer_id
) AS p
ON h.account_id = p.account_id
WHEN MATCHED THEN
    UPDATE SET late_30 = p.late_30, last_paid_at = p.last_paid_at
WHEN NOT MATCHED THEN
    INSERT (account_id, customer_id, late_30, last_paid_at)
    VALUES (p.account_id, p.customer_id, p.late_30, p.last_paid_at);

TRUNCATE features.customer_features;

INSERT INTO features.customer_features
    (customer_id, age_years, annual_income, inquiries_90d, late_payments_30d, bureau_score)
WITH inquiries AS (
    SELECT customer_id, count(*) AS n FROM staging.credit_inquiries GROUP BY customer_id
), lateness AS (
    SELECT customer_id, sum(late_30) AS n FROM staging.payment_history GROUP BY customer_id
)
SELECT c.customer_id,
       date_part('year', age(c.date_of_birth)) AS age_years,
       c.annual_income,
       coalesce(i.n, 0) AS inquiries_90d,
       coalesce(l.n, 0) AS late_payments_30d,
       b.score AS bureau_score
FROM staging.customers AS c
LEFT JOIN inquiries AS i USING (customer_id)
LEFT JOIN lateness AS l USING (customer_id)
LEFT JOIN raw.bureau_reports AS b ON b.customer_id = c.customer_id AND b.is_latest;

SET search_path TO features, public;

UPDATE customer_features AS f
SET utilization = a.balance / nullif(a.credit_limit, 0)
FROM raw.card_accounts AS a
WHERE a.customer_id = f.customer_id;

RESET search_path;

DROP TABLE IF EXISTS ml.training_set;

CREATE TABLE ml.training_set AS
SELECT f.*, o.defaulted_within_12m AS label
FROM features.customer_features AS f
JOIN raw.default_outcomes AS o USING (customer_id)
WHERE o.observed_at < now() - interval '12 months';

INSERT INTO ml.credit_scores (customer_id, model_version, score, recommended_limit, scored_at)
SELECT s.customer_id, 'credit-limit-v7', s.score,
       ml.limit_for_score(s.score, s.annual_income) AS recommended_limit,
       now()
FROM (
    SELECT f.customer_id, f.annual_income,
           ml.predict_default('credit-limit-v7', f.age_years, f.annual_income, f.inquiries_90d,
                              f.late_payments_30d, f.bureau_score, f.utilization) AS score
    FROM features.customer_features AS f
) AS s;

CREATE OR REPLACE VIEW reporting.limit_decisions AS
SELECT s.customer_id, c.full_name, c.postcode, s.score, s.recommended_limit, s.scored_at
FROM ml.credit_scores AS s
JOIN staging.customers AS c USING (customer_id);

COMMIT;
"""

PG_ADHOC = """\
-- An analyst's psql session: a typo, a missing table, a half-done transaction, an undo.
SELEC customer_id, score FRM ml.credit_scores;

INSERT INTO reporting.limit_summary (postcode, avg_limit)
SELECT c.postcode, avg(s.recommended_limit)
FROM ml.credit_scores AS s JOIN staging.customers AS c USING (customer_id)
GROUP BY c.postcode;

CREATE TABLE reporting.daily_limit_summary AS
SELECT date_trunc('day', s.scored_at) AS day, c.postcode,
       count(*) AS customers, avg(s.recommended_limit) AS avg_limit
FROM ml.credit_scores AS s
JOIN staging.customers AS c USING (customer_id)
GROUP BY 1, 2;

BEGIN;
INSERT INTO reporting.daily_limit_summary (day, postcode, customers, avg_limit)
SELECT current_date, postcode, count(*), avg(recommended_limit)
FROM reporting.limit_decisions
GROUP BY postcode;
INSERT INTO reporting.postcode_limits (postcode, max_limit)
SELECT postcode, max(recommended_limit) FROM reporting.limit_decisions GROUP BY postcode;
SELECT count(*) FROM reporting.daily_limit_summary;
ROLLBACK;

BEGIN;
DELETE FROM ml.credit_scores WHERE recommended_limit < 500;
UPDATE staging.customers AS c
SET postcode = e.postcode
FROM (SELECT customer_id, 'ZZ0 0ZZ'::text AS postcode FROM raw.customer_erasure_requests) AS e
WHERE c.customer_id = e.customer_id;
ROLLBACK;

SELECT customer_id, full_name, recommended_limit
FROM reporting.limit_decisions
WHERE recommended_limit > 1000
ORDER BY recommended_limit DESC
LIMIT 5;
"""


def _q(*names: str) -> tuple[str, ...]:
    """Fully qualified, sorted PostgreSQL names."""
    return tuple(sorted(f"{PG_DB}.{name}" for name in names))


def _t(name: str) -> str:
    return f"{PG_DB}.{name}"


PG_TEMP_INQUIRIES = _t("pg_temp.recent_inquiries")
PG_TEMP_BATCH = _t("pg_temp.batch")

# The staging refresh (etl_nightly / staging-refresh), on one connection, statement by statement;
# the risk review (ana_risk / risk-review) runs on another while the refresh's temporary tables
# exist. Both set ``search_path TO staging, raw, public``: PostgreSQL resolves a bare name to
# the first schema holding a table of that name (staging.customers and staging.credit_inquiries,
# but raw.bureau_reports), a bare CREATE goes to the first schema, and a session's temporary
# table (pg_temp comes first) shadows a real table of its name in that session alone.
PG_REFRESH_SEARCH_PATH = "SET search_path TO staging, raw, public"
PG_REFRESH_BEFORE_REVIEW = (
    PG_REFRESH_SEARCH_PATH,
    # staging.credit_inquiries and raw.credit_inquiries both exist: the first schema's
    "CREATE TEMP TABLE inquiries_30d (LIKE credit_inquiries)",
    "INSERT INTO inquiries_30d\nSELECT * FROM credit_inquiries WHERE inquiry_at >= now() - interval '30 days'",
    # only raw has card_accounts: this session's temporary table of that name shadows it
    "CREATE TEMP TABLE card_accounts (LIKE raw.card_accounts INCLUDING DEFAULTS)",
    "INSERT INTO card_accounts SELECT * FROM raw.card_accounts WHERE balance > 0",
    "CREATE LOCAL TEMPORARY TABLE latest_bureau AS\nSELECT customer_id, score FROM bureau_reports WHERE is_latest",
    "SELECT customer_id, score INTO TEMP TABLE low_bureau FROM latest_bureau WHERE score < 600",
    "CREATE TABLE customer_activity AS\n"
    "SELECT c.customer_id, count(DISTINCT i.lender) AS lenders_30d, coalesce(sum(a.balance), 0) AS balance\n"
    "FROM customers AS c\n"
    "LEFT JOIN inquiries_30d AS i USING (customer_id)\n"
    "LEFT JOIN card_accounts AS a USING (customer_id)\n"
    "GROUP BY c.customer_id",
)
PG_REVIEW = (
    PG_REFRESH_SEARCH_PATH,
    # card_accounts is raw's here: the refresh's temporary table is not this session's
    "CREATE TABLE reporting.exposure_review AS\n"
    "SELECT a.customer_id, a.balance, c.credit_limit\n"
    "FROM customer_activity AS a\n"
    "JOIN card_accounts AS c USING (customer_id)",
)
PG_REFRESH_AFTER_REVIEW = (
    # a swap: the new table built, the old dropped, the new renamed into its place
    "CREATE TABLE reporting.customer_watch_new AS\n"
    "SELECT a.customer_id, a.lenders_30d, l.score\n"
    "FROM customer_activity AS a\n"
    "JOIN low_bureau AS l USING (customer_id)",
    "DROP TABLE IF EXISTS reporting.customer_watch",
    "ALTER TABLE reporting.customer_watch_new RENAME TO customer_watch",
    # a swap the other way: the old renamed away, the new renamed in, then the old dropped
    "CREATE TABLE reporting.activity_summary AS\nSELECT count(*) AS customers, sum(balance) AS balance\n"
    "FROM customer_activity",
    "CREATE TABLE reporting.activity_summary_new AS\n"
    "SELECT count(*) AS customers, sum(a.balance) AS balance, avg(b.score) AS mean_score\n"
    "FROM customer_activity AS a\n"
    "JOIN latest_bureau AS b USING (customer_id)",
    "ALTER TABLE reporting.activity_summary RENAME TO activity_summary_old",
    "ALTER TABLE reporting.activity_summary_new RENAME TO activity_summary",
    "DROP TABLE reporting.activity_summary_old",
)

PG_TEMP_INQUIRIES_30D = _t("pg_temp.inquiries_30d")
PG_TEMP_CARD_ACCOUNTS = _t("pg_temp.card_accounts")
PG_TEMP_LATEST_BUREAU = _t("pg_temp.latest_bureau")
PG_TEMP_LOW_BUREAU = _t("pg_temp.low_bureau")
_PG_REFRESH_TEMP = (PG_TEMP_INQUIRIES_30D, PG_TEMP_CARD_ACCOUNTS, PG_TEMP_LATEST_BUREAU, PG_TEMP_LOW_BUREAU)


def _refresh(kind: str, sources: Sequence[str], target: str | None) -> Expected:
    return Expected(kind, tuple(sorted(sources)), target, session="staging-refresh", temp=_PG_REFRESH_TEMP)


PG_REFRESH_EXPECTED: tuple[Expected, ...] = (
    _refresh("CREATE TABLE LIKE", (), PG_TEMP_INQUIRIES_30D),
    _refresh("INSERT", [_t("staging.credit_inquiries")], PG_TEMP_INQUIRIES_30D),
    _refresh("CREATE TABLE LIKE", (), PG_TEMP_CARD_ACCOUNTS),
    _refresh("INSERT", [_t("raw.card_accounts")], PG_TEMP_CARD_ACCOUNTS),
    _refresh("CREATE TABLE AS", [_t("raw.bureau_reports")], PG_TEMP_LATEST_BUREAU),
    _refresh("SELECT INTO", [PG_TEMP_LATEST_BUREAU], PG_TEMP_LOW_BUREAU),
    _refresh("CREATE TABLE AS", [_t("staging.customers"), PG_TEMP_INQUIRIES_30D, PG_TEMP_CARD_ACCOUNTS],
             _t("staging.customer_activity")),
    Expected("CREATE TABLE AS", _q("raw.card_accounts", "staging.customer_activity"),
             _t("reporting.exposure_review"), session="risk-review"),
    _refresh("CREATE TABLE AS", [_t("staging.customer_activity"), PG_TEMP_LOW_BUREAU],
             _t("reporting.customer_watch_new")),
    # a rename moves the data: the table renamed feeds the name it takes
    _refresh("ALTER TABLE", [_t("reporting.customer_watch_new")], _t("reporting.customer_watch")),
    _refresh("CREATE TABLE AS", [_t("staging.customer_activity")], _t("reporting.activity_summary")),
    _refresh("CREATE TABLE AS", [_t("staging.customer_activity"), PG_TEMP_LATEST_BUREAU],
             _t("reporting.activity_summary_new")),
    _refresh("ALTER TABLE", [_t("reporting.activity_summary")], _t("reporting.activity_summary_old")),
    _refresh("ALTER TABLE", [_t("reporting.activity_summary_new")], _t("reporting.activity_summary")),
)

POSTGRES_EXPECTED_LINEAGE: tuple[Expected, ...] = (
    # schema migration (etl_nightly / schema-migrate)
    *(Expected("CREATE TABLE", (), _t(table), session="schema-migrate") for table in PG_TABLES),
    # ingestion (svc_ingest / core-banking-sync)
    Expected("INSERT", (), _t("raw.customers"), session="core-banking-sync"),
    Expected("INSERT", (), _t("raw.customer_erasure_requests"), session="core-banking-sync"),
    Expected("INSERT", (), _t("raw.card_accounts"), session="core-banking-sync"),
    Expected("INSERT", _q("raw.card_accounts"), _t("raw.payments"), session="core-banking-sync"),
    Expected("INSERT", (), _t("raw.credit_inquiries"), session="core-banking-sync"),
    Expected("INSERT", (), _t("raw.default_outcomes"), session="core-banking-sync"),
    Expected("COPY", (), _t("raw.bureau_reports"), session="core-banking-sync"),
    # nightly ELT (etl_nightly / nightly_credit_elt), one transaction, committed
    Expected("CREATE TABLE AS", _q("raw.customers"), _t("staging.customers"), session="nightly_credit_elt"),
    Expected("DELETE", _q("raw.customer_erasure_requests"), _t("staging.customers"), session="nightly_credit_elt"),
    Expected("CREATE TABLE AS", _q("raw.credit_inquiries"), PG_TEMP_INQUIRIES, session="nightly_credit_elt",
             temp=(PG_TEMP_INQUIRIES,)),
    Expected("INSERT", tuple(sorted((PG_TEMP_INQUIRIES, _t("staging.customers")))), _t("staging.credit_inquiries"),
             session="nightly_credit_elt", temp=(PG_TEMP_INQUIRIES,)),
    Expected("MERGE", _q("raw.card_accounts", "raw.payments"), _t("staging.payment_history"),
             session="nightly_credit_elt"),
    Expected("INSERT", _q("raw.bureau_reports", "staging.credit_inquiries", "staging.customers",
                          "staging.payment_history"), _t("features.customer_features"), session="nightly_credit_elt"),
    # bare customer_features: resolved through "SET search_path TO features, public" earlier in the session
    Expected("UPDATE", _q("raw.card_accounts"), _t("features.customer_features"), session="nightly_credit_elt"),
    Expected("CREATE TABLE AS", _q("features.customer_features", "raw.default_outcomes"), _t("ml.training_set"),
             session="nightly_credit_elt"),
    Expected("INSERT", _q("features.customer_features"), _t("ml.credit_scores"), session="nightly_credit_elt"),
    Expected("CREATE VIEW", _q("ml.credit_scores", "staging.customers"), _t("reporting.limit_decisions"),
             session="nightly_credit_elt"),
    # analyst (ana_risk / psql); "SELEC ... FRM" is a syntax error: logged as ERROR + STATEMENT only
    Expected("INSERT", _q("ml.credit_scores", "staging.customers"), _t("reporting.limit_summary"), FAILED, "psql"),
    Expected("CREATE TABLE AS", _q("ml.credit_scores", "staging.customers"), _t("reporting.daily_limit_summary"),
             session="psql"),
    Expected("INSERT", _q("reporting.limit_decisions"), _t("reporting.daily_limit_summary"), ROLLED_BACK, "psql"),
    Expected("INSERT", _q("reporting.limit_decisions"), _t("reporting.postcode_limits"), FAILED, "psql"),
    Expected("SELECT", _q("reporting.daily_limit_summary"), None, ABORTED, "psql"),
    Expected("DELETE", (), _t("ml.credit_scores"), ROLLED_BACK, "psql"),
    Expected("UPDATE", _q("raw.customer_erasure_requests"), _t("staging.customers"), ROLLED_BACK, "psql"),
    Expected("SELECT", _q("reporting.limit_decisions"), None, session="psql"),
    # limit service (svc_limits / limit-service), psycopg, extended protocol
    Expected("SELECT", _q("ml.credit_scores"), None, session="limit-service", count=len(SCORING_CUSTOMERS)),
    Expected("INSERT", _q("ml.credit_scores"), _t("ml.prediction_log"), session="limit-service",
             count=len(SCORING_CUSTOMERS)),
    Expected("INSERT", (), _t("ml.limit_overrides"), session="limit-service", count=3),
    Expected("SELECT", _q("reporting.limit_decisions"), None, session="limit-service"),
    Expected("INSERT", _q("ml.credit_scores"), _t("ml.prediction_log"), FAILED, "limit-service"),
    Expected("INSERT", _q("ml.credit_scores"), _t("ml.prediction_log"), ROLLED_BACK, "limit-service"),
    # one simple-protocol message holding two statements: one log record
    Expected("INSERT", (), _t("ml.limit_overrides"), session="limit-service"),
    Expected("DELETE", (), _t("ml.limit_overrides"), session="limit-service"),
    # two concurrent batch jobs, each with its own temp table "batch"
    Expected("CREATE TABLE", (), PG_TEMP_BATCH, session="band-report-scores", temp=(PG_TEMP_BATCH,)),
    Expected("CREATE TABLE", (), PG_TEMP_BATCH, session="band-report-income", temp=(PG_TEMP_BATCH,)),
    Expected("INSERT", _q("ml.credit_scores"), PG_TEMP_BATCH, session="band-report-scores", temp=(PG_TEMP_BATCH,)),
    Expected("INSERT", _q("features.customer_features"), PG_TEMP_BATCH, session="band-report-income",
             temp=(PG_TEMP_BATCH,)),
    Expected("INSERT", (PG_TEMP_BATCH,), _t("reporting.score_bands"), session="band-report-scores",
             temp=(PG_TEMP_BATCH,)),
    Expected("INSERT", (PG_TEMP_BATCH,), _t("reporting.income_bands"), session="band-report-income",
             temp=(PG_TEMP_BATCH,)),
    *PG_REFRESH_EXPECTED,
)
POSTGRES_EXPECTED_FEEDS = expected_feeds(POSTGRES_EXPECTED_LINEAGE)
PG_SCRATCH = """\
-- An analyst's scratch session, for the test that crawls its log in two parts (cut before the
-- ROLLBACK): the search_path and the temporary table it sets up before the cut are relied on
-- after it, and the transaction open at the cut is rolled back after it.
SET search_path TO reporting, public;
CREATE TEMP TABLE low_scores AS
SELECT customer_id, score FROM ml.credit_scores WHERE score < 0.2;
BEGIN;
INSERT INTO score_bands (band, customers)
SELECT floor(score * 10)::int, count(*) FROM low_scores GROUP BY 1;
DELETE FROM score_bands WHERE band IS NULL;
ROLLBACK;
INSERT INTO score_bands (band, customers)
SELECT floor(score * 10)::int, count(*) FROM low_scores GROUP BY 1;
"""

# psql error lines each script must print: a wrong count means the workload itself is broken.
_PG_EXPECTED_ERRORS = {"adhoc": 4}


def run_postgres_workload(server: PostgresServer, *, pause: float = 0.0) -> tuple[Expected, ...]:
    """Run every PostgreSQL session of the scenario; returns ``POSTGRES_EXPECTED_LINEAGE``.

    ``pause`` seconds between sessions spread them over time as a real night would (fixtures
    use it; tests leave it at 0 for speed).
    """
    _psql(server, PG_BOOTSTRAP, user="postgres", dbname="postgres", app="schema-setup")
    _psql(server, _pg_migration(), user="etl_nightly", app="schema-migrate")
    time.sleep(pause)
    _psql(server, _pg_ingest(), user="svc_ingest", app="core-banking-sync")
    time.sleep(pause)
    _psql(server, PG_ELT, user="etl_nightly", app="nightly_credit_elt")
    time.sleep(pause)
    _psql(server, PG_ADHOC, user="ana_risk", app="psql", errors=_PG_EXPECTED_ERRORS["adhoc"])
    time.sleep(pause)
    _pg_limit_service(server)
    time.sleep(pause)
    _run_concurrently(server, _pg_band_report, [("band-report-scores", "ml.credit_scores", "score", "0.2",
                                                 "reporting.score_bands"),
                                                ("band-report-income", "features.customer_features",
                                                 "annual_income", "20000", "reporting.income_bands")])
    time.sleep(pause)
    _pg_staging_refresh(server)
    return POSTGRES_EXPECTED_LINEAGE


def run_postgres_scratch(server: PostgresServer) -> None:
    """The schema, then the analyst's scratch session (``PG_SCRATCH``) alone."""
    _psql(server, PG_BOOTSTRAP, user="postgres", dbname="postgres", app="schema-setup")
    _psql(server, _pg_migration(), user="etl_nightly", app="schema-migrate")
    _psql(server, PG_SCRATCH, user="ana_risk", app="scratch")


def _psql(server: PostgresServer, sql: str, *, user: str, app: str, dbname: str = PG_DB, errors: int = 0) -> None:
    result = server.psql(sql, user=user, dbname=dbname, application_name=app)
    _check_errors(app, result, result.stderr.count("ERROR:"), errors)


def _check_errors(label: str, result: subprocess.CompletedProcess[str], found: int, expected: int) -> None:
    if found != expected or (expected == 0 and result.returncode != 0):
        raise WorkloadError(f"{label}: expected {expected} errors, got {found} (exit {result.returncode}):\n"
                            f"{result.stderr}")


def _pg_limit_service(server: PostgresServer) -> None:
    """The limit service: prepared (named) statements, an unnamed one, executemany, failures."""
    import psycopg

    with server.connect(user="svc_limits", dbname=PG_DB, application_name="limit-service") as conn:
        for customer in SCORING_CUSTOMERS:
            conn.execute("SELECT score, recommended_limit FROM ml.credit_scores WHERE customer_id = %s "
                         "ORDER BY scored_at DESC LIMIT 1", (customer,), prepare=True)
            conn.execute("INSERT INTO ml.prediction_log (customer_id, model_version, score, recommended_limit, "
                         "requested_at)\nSELECT customer_id, model_version, score, recommended_limit, now()\n"
                         "FROM ml.credit_scores WHERE customer_id = %s", (customer,), prepare=True)
        with conn.cursor() as cursor:
            cursor.executemany("INSERT INTO ml.limit_overrides (customer_id, new_limit, reason) VALUES (%s, %s, %s)",
                               [(10002, 1500, "manual review"), (10005, 800, "fraud hold"), (10011, 2500, "vip")])
        conn.execute("SELECT full_name, recommended_limit FROM reporting.limit_decisions WHERE customer_id = %s",
                     (10019,))
        _expect_failure(lambda: conn.execute(
            "INSERT INTO ml.prediction_log (customer_id, model_version, score, recommended_limit, requested_at) "
            "SELECT customer_id, model_version, score, recommended_limit, now() FROM ml.credit_scores "
            "WHERE customer_id = %s", ("not-a-number",), prepare=True), psycopg.Error)
        _expect_failure(lambda: _pg_rolled_back_insert(conn), _Rollback)
        conn.execute("INSERT INTO ml.limit_overrides (customer_id, new_limit, reason) VALUES (10023, 0, 'closed');\n"
                     "DELETE FROM ml.limit_overrides WHERE new_limit = 0 AND reason = 'closed';")


def _pg_staging_refresh(server: PostgresServer) -> None:
    """The staging refresh, with the risk review on a second connection half way through."""
    with server.connect(user="etl_nightly", dbname=PG_DB, application_name="staging-refresh") as refresh:
        for statement in PG_REFRESH_BEFORE_REVIEW:
            refresh.execute(statement)
        with server.connect(user="ana_risk", dbname=PG_DB, application_name="risk-review") as review:
            for statement in PG_REVIEW:
                review.execute(statement)
        for statement in PG_REFRESH_AFTER_REVIEW:
            refresh.execute(statement)


class _Rollback(Exception):
    """Raised inside a transaction block to make the client roll it back."""


def _pg_rolled_back_insert(conn: Any) -> None:
    with conn.transaction():
        conn.execute("INSERT INTO ml.prediction_log (customer_id, model_version, score, recommended_limit, "
                     "requested_at) SELECT customer_id, model_version, score, recommended_limit, now() "
                     "FROM ml.credit_scores WHERE customer_id = %s", (10023,), prepare=True)
        raise _Rollback


def _expect_failure(action: Callable[[], object], error: type[BaseException]) -> None:
    try:
        action()
    except error:
        return
    raise WorkloadError(f"expected {error.__name__}, nothing was raised")


def _pg_band_report(server: PostgresServer, barrier: threading.Barrier, app: str, source: str, column: str,
                    width: str, target: str) -> None:
    """One batch job: temp table ``batch`` filled from ``source``, then summarized into ``target``.

    The barrier makes both jobs create, fill and read their ``batch`` in lockstep, so the log
    interleaves two sessions using the same temp table name at the same time.
    """
    with server.connect(user="svc_limits", dbname=PG_DB, application_name=app) as conn:
        conn.execute("CREATE TEMP TABLE batch (customer_id bigint, value numeric)")
        barrier.wait()
        conn.execute(f"INSERT INTO batch (customer_id, value)\nSELECT customer_id, {column}\nFROM {source}")
        barrier.wait()
        conn.execute(f"INSERT INTO {target} (band, customers)\n"
                     f"SELECT floor(value / {width})::int AS band, count(*)\nFROM batch\nGROUP BY 1")
        barrier.wait()


def _run_concurrently(server: Any, job: Callable[..., None], jobs: Sequence[tuple[str, ...]]) -> None:
    """Run ``job(server, barrier, *args)`` for each args tuple in its own thread; re-raise the first error."""
    barrier = threading.Barrier(len(jobs), timeout=60)
    errors: list[BaseException] = []

    def guarded(*args: str) -> None:
        try:
            job(server, barrier, *args)
        except BaseException as error:  # handed to the main thread, which re-raises it
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=guarded, args=args, name=args[0]) for args in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if any(thread.is_alive() for thread in threads):
        raise WorkloadError("concurrent jobs did not finish within 120 s")
    if errors:
        raise WorkloadError(f"concurrent job failed: {errors[0]!r}") from errors[0]


# ---------------------------------------------------------------------------------------------
# MariaDB
# ---------------------------------------------------------------------------------------------

MARIADB_DATABASES = ("raw", "staging", "features", "ml", "reporting")
MARIADB_USERS = ("etl_nightly", "svc_ingest", "svc_limits", "ana_risk")

MARIADB_TABLES: dict[str, str] = {
    "raw.customers": "customer_id BIGINT NOT NULL, full_name VARCHAR(100) NOT NULL, date_of_birth DATE NOT NULL,\n"
                     "    postcode VARCHAR(10), annual_income DECIMAL(12,2), updated_at DATETIME NOT NULL",
    "raw.customer_erasure_requests": "customer_id BIGINT PRIMARY KEY,\n"
                                     "    requested_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP",
    "raw.credit_inquiries": "customer_id BIGINT NOT NULL, inquiry_at DATETIME NOT NULL, lender VARCHAR(40) NOT NULL,\n"
                            "    inquiry_type VARCHAR(10) NOT NULL",
    "raw.card_accounts": "account_id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL,\n"
                         "    credit_limit DECIMAL(12,2) NOT NULL, balance DECIMAL(12,2) NOT NULL",
    "raw.payments": "payment_id BIGINT AUTO_INCREMENT PRIMARY KEY, account_id BIGINT NOT NULL,\n"
                    "    paid_at DATETIME NOT NULL, amount DECIMAL(12,2) NOT NULL, days_late INT NOT NULL DEFAULT 0",
    "raw.bureau_reports": "customer_id BIGINT NOT NULL, score INT NOT NULL, reported_at DATE NOT NULL,\n"
                          "    is_latest BOOLEAN NOT NULL",
    "raw.default_outcomes": "customer_id BIGINT NOT NULL, defaulted_within_12m BOOLEAN NOT NULL,\n"
                            "    observed_at DATETIME NOT NULL",
    "staging.credit_inquiries": "customer_id BIGINT NOT NULL, inquiry_at DATETIME NOT NULL, lender VARCHAR(40),\n"
                                "    inquiry_type VARCHAR(10)",
    "staging.payment_history": "account_id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL, late_30 BIGINT NOT NULL,\n"
                               "    last_paid_at DATETIME",
    "features.customer_features": "customer_id BIGINT PRIMARY KEY, age_years INT, annual_income DECIMAL(12,2),\n"
                                  "    inquiries_90d BIGINT, late_payments_30d DECIMAL(12,0), bureau_score INT,\n"
                                  "    utilization DECIMAL(8,4)",
    "ml.credit_scores": "customer_id BIGINT NOT NULL, model_version VARCHAR(40) NOT NULL, score DOUBLE NOT NULL,\n"
                        "    recommended_limit DECIMAL(12,2) NOT NULL, scored_at DATETIME NOT NULL",
    "ml.prediction_log": "customer_id BIGINT NOT NULL, model_version VARCHAR(40), score DOUBLE,\n"
                         "    recommended_limit DECIMAL(12,2), requested_at DATETIME NOT NULL",
    "ml.limit_overrides": "customer_id BIGINT NOT NULL, new_limit DECIMAL(12,2) NOT NULL, reason VARCHAR(100),\n"
                          "    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP",
    "reporting.score_bands": "band INT, customers BIGINT, computed_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP",
    "reporting.income_bands": "band INT, customers BIGINT, computed_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP",
}


def _mariadb_bootstrap() -> str:
    """Databases and accounts, by root over the unix socket (accounts have no password: test only)."""
    parts = [f"CREATE DATABASE {db};\n" for db in MARIADB_DATABASES]
    parts += [f"CREATE USER {user}@'%';\n" for user in MARIADB_USERS]
    users = ", ".join(f"{user}@'%'" for user in MARIADB_USERS)
    parts += [f"GRANT ALL PRIVILEGES ON {db}.* TO {users};\n" for db in MARIADB_DATABASES]
    return "".join(parts)


def _mariadb_migration() -> str:
    """Tables (qualified, then bare after a USE) and the scoring functions (DELIMITER is client-side)."""
    parts = []
    current = "raw"
    for table, columns in MARIADB_TABLES.items():
        database, name = table.split(".")
        if database == "staging":
            if current != "staging":
                parts.append("USE staging;\n")
                current = "staging"
            parts.append(f"CREATE TABLE {name} (\n    {columns}\n);\n")
        else:
            parts.append(f"CREATE TABLE {table} (\n    {columns}\n);\n")
    parts.append("""
DELIMITER //
CREATE FUNCTION ml.predict_default(inquiries BIGINT, late DECIMAL(12,0), bureau INT, utilization DECIMAL(8,4))
RETURNS DOUBLE DETERMINISTIC
BEGIN
    DECLARE p DOUBLE;
    SET p = 0.05 + 0.04 * COALESCE(inquiries, 0) + 0.02 * COALESCE(late, 0)
            - COALESCE(bureau, 600) / 20000.0 + 0.2 * COALESCE(utilization, 0);
    RETURN LEAST(0.99, GREATEST(0.01, p));
END//
DELIMITER ;

CREATE FUNCTION ml.limit_for_score(score DOUBLE, income DECIMAL(12,2))
RETURNS DECIMAL(12,2) DETERMINISTIC
RETURN ROUND(COALESCE(income, 0) * 0.2 * (1 - score), -2);
""")
    return "".join(parts)


def _mariadb_ingest() -> str:
    """Ingestion into ``raw`` with bare table names (the session's database is ``raw``)."""
    customers = _values(
        (str(c), _text(name), _text(birth.isoformat()), _text(postcode), str(income),
         f"NOW() - INTERVAL {days} DAY")
        for c, name, birth, postcode, income, days in _customer_rows())
    accounts = _values((str(a), str(c), str(limit), str(balance)) for a, c, limit, balance in _account_rows())
    inquiries = _values((str(c), f"NOW() - INTERVAL {days} DAY", _text(lender), _text(kind))
                        for c, days, lender, kind in _inquiry_rows())
    bureau = _values((str(c), str(score), f"CURRENT_DATE - INTERVAL {days} DAY", "TRUE" if latest else "FALSE")
                     for c, score, days, latest in _bureau_rows())
    outcomes = _values((str(c), "TRUE" if d else "FALSE", f"NOW() - INTERVAL {days} DAY")
                       for c, d, days in _outcome_rows())
    erasures = _values((str(c),) for c in ERASED)
    return f"""\
INSERT INTO customers (customer_id, full_name, date_of_birth, postcode, annual_income, updated_at)
VALUES
    {customers};
INSERT INTO customer_erasure_requests (customer_id) VALUES {erasures};
INSERT INTO card_accounts (account_id, customer_id, credit_limit, balance)
VALUES
    {accounts};
-- twelve monthly payments per account
INSERT INTO payments (account_id, paid_at, amount, days_late)
WITH RECURSIVE months (n) AS (
    SELECT 1 UNION ALL SELECT n + 1 FROM months WHERE n < 12
)
SELECT a.account_id, NOW() - INTERVAL (30 * m.n) DAY, ROUND(a.credit_limit * 0.05, 2),
       (a.account_id + m.n * 7) % 45
FROM card_accounts AS a
CROSS JOIN months AS m;
INSERT INTO credit_inquiries (customer_id, inquiry_at, lender, inquiry_type)
VALUES
    {inquiries};
INSERT INTO bureau_reports (customer_id, score, reported_at, is_latest)
VALUES
    {bureau};
INSERT INTO default_outcomes (customer_id, defaulted_within_12m, observed_at)
VALUES
    {outcomes};
"""


MARIADB_ELT = """\
-- Nightly ELT, MariaDB edition: databases instead of schemas, run as
--   mariadb --force --database=staging < nightly_credit_elt.sql
DROP TABLE IF EXISTS staging.customers;
CREATE TABLE staging.customers AS
SELECT customer_id, full_name, date_of_birth, postcode, annual_income, updated_at
FROM (
    SELECT c.*, ROW_NUMBER() OVER (PARTITION BY c.customer_id ORDER BY c.updated_at DESC) AS rn
    FROM raw.customers AS c
) AS latest
WHERE rn = 1;

-- GDPR erasure requests remove people from everything downstream.
DELETE s
FROM staging.customers AS s
JOIN raw.customer_erasure_requests AS e ON e.customer_id = s.customer_id;

CREATE TEMPORARY TABLE recent_inquiries AS
SELECT customer_id, inquiry_at, lender, inquiry_type
FROM raw.credit_inquiries
WHERE inquiry_at >= NOW() - INTERVAL 90 DAY;

INSERT INTO credit_inquiries (customer_id, inquiry_at, lender, inquiry_type)
SELECT r.customer_id, r.inquiry_at, r.lender, r.inquiry_type
FROM recent_inquiries AS r
JOIN customers AS c ON c.customer_id = r.customer_id;

INSERT INTO staging.payment_history (account_id, customer_id, late_30, last_paid_at)
SELECT a.account_id, a.customer_id, SUM(p.days_late > 30), MAX(p.paid_at)
FROM raw.payments AS p
JOIN raw.card_accounts AS a ON a.account_id = p.account_id
GROUP BY a.account_id, a.customer_id
ON DUPLICATE KEY UPDATE late_30 = VALUES(late_30), last_paid_at = VALUES(last_paid_at);

USE features;

TRUNCATE TABLE customer_features;

INSERT INTO customer_features
    (customer_id, age_years, annual_income, inquiries_90d, late_payments_30d, bureau_score)
WITH inquiries AS (
    SELECT customer_id, COUNT(*) AS n FROM staging.credit_inquiries GROUP BY customer_id
), lateness AS (
    SELECT customer_id, SUM(late_30) AS n FROM staging.payment_history GROUP BY customer_id
)
SELECT c.customer_id,
       TIMESTAMPDIFF(YEAR, c.date_of_birth, CURRENT_DATE) AS age_years,
       c.annual_income,
       COALESCE(i.n, 0) AS inquiries_90d,
       COALESCE(l.n, 0) AS late_payments_30d,
       b.score AS bureau_score
FROM staging.customers AS c
LEFT JOIN inquiries AS i ON i.customer_id = c.customer_id
LEFT JOIN lateness AS l ON l.customer_id = c.customer_id
LEFT JOIN raw.bureau_reports AS b ON b.customer_id = c.customer_id AND b.is_latest;

UPDATE customer_features AS f
JOIN raw.card_accounts AS a ON a.customer_id = f.customer_id
SET f.utilization = a.balance / NULLIF(a.credit_limit, 0);

DROP TABLE IF EXISTS ml.training_set;
CREATE TABLE ml.training_set AS
SELECT f.*, o.defaulted_within_12m AS label
FROM customer_features AS f
JOIN raw.default_outcomes AS o ON o.customer_id = f.customer_id
WHERE o.observed_at < NOW() - INTERVAL 12 MONTH;

INSERT INTO ml.credit_scores (customer_id, model_version, score, recommended_limit, scored_at)
SELECT s.customer_id, 'credit-limit-v7', s.score, ml.limit_for_score(s.score, s.annual_income), NOW()
FROM (
    SELECT f.customer_id, f.annual_income,
           ml.predict_default(f.inquiries_90d, f.late_payments_30d, f.bureau_score, f.utilization) AS score
    FROM customer_features AS f
) AS s;

CREATE OR REPLACE VIEW reporting.limit_decisions AS
SELECT s.customer_id, c.full_name, c.postcode, s.score, s.recommended_limit, s.scored_at
FROM ml.credit_scores AS s
JOIN staging.customers AS c ON c.customer_id = s.customer_id;
"""

MARIADB_ADHOC = """\
-- An analyst's session (database reporting): a missing table, a transaction rolled back.
INSERT INTO limit_summary (postcode, avg_limit)
SELECT postcode, AVG(recommended_limit) FROM limit_decisions GROUP BY postcode;

CREATE TABLE daily_limit_summary AS
SELECT DATE(s.scored_at) AS day, c.postcode, COUNT(*) AS customers, AVG(s.recommended_limit) AS avg_limit
FROM ml.credit_scores AS s
JOIN staging.customers AS c ON c.customer_id = s.customer_id
GROUP BY DATE(s.scored_at), c.postcode;

START TRANSACTION;
DELETE FROM ml.credit_scores WHERE recommended_limit < 500;
INSERT INTO postcode_limits (postcode, max_limit)
SELECT postcode, MAX(recommended_limit) FROM limit_decisions GROUP BY postcode;
ROLLBACK;

SELECT customer_id, full_name, recommended_limit
FROM limit_decisions
WHERE recommended_limit > 1000
ORDER BY recommended_limit DESC
LIMIT 5;
"""


def _m(*names: str) -> tuple[str, ...]:
    return tuple(sorted(names))


MARIADB_TEMP_INQUIRIES = "staging.recent_inquiries"
MARIADB_TEMP_BATCH = "reporting.batch"

# The late-payers refresh (etl_nightly, PyMySQL, connected to database staging): temporary tables
# made LIKE another and by CREATE ... SELECT (no AS), then USE reporting, where a bare name is
# reporting's and the temporary tables are still staging's, and a swap by one RENAME TABLE.
MARIADB_REFRESH_IN_STAGING = (
    "CREATE TEMPORARY TABLE late_payments LIKE raw.payments",
    "INSERT INTO late_payments SELECT * FROM raw.payments WHERE days_late > 30",
    "CREATE TEMPORARY TABLE late_accounts\n"
    "SELECT account_id, COUNT(*) AS n, MAX(paid_at) AS last_late FROM late_payments GROUP BY account_id",
)
MARIADB_REFRESH_IN_REPORTING = (
    "CREATE TABLE late_payers AS\n"
    "SELECT a.customer_id, SUM(l.n) AS late_payments\n"
    "FROM staging.late_accounts AS l\n"
    "JOIN raw.card_accounts AS a ON a.account_id = l.account_id\n"
    "GROUP BY a.customer_id",
    "CREATE TABLE late_payers_new AS\n"
    "SELECT a.customer_id, SUM(l.n) AS late_payments, MAX(l.last_late) AS last_late, MAX(c.postcode) AS postcode\n"
    "FROM staging.late_accounts AS l\n"
    "JOIN raw.card_accounts AS a ON a.account_id = l.account_id\n"
    "JOIN staging.customers AS c ON c.customer_id = a.customer_id\n"
    "GROUP BY a.customer_id",
    "RENAME TABLE late_payers TO late_payers_old, late_payers_new TO late_payers",
    "DROP TABLE late_payers_old",
)
MARIADB_TEMP_LATE_PAYMENTS = "staging.late_payments"
MARIADB_TEMP_LATE_ACCOUNTS = "staging.late_accounts"
_MARIADB_REFRESH_TEMP = (MARIADB_TEMP_LATE_PAYMENTS, MARIADB_TEMP_LATE_ACCOUNTS)


def _late(kind: str, sources: Sequence[str], target: str | None) -> Expected:
    return Expected(kind, tuple(sorted(sources)), target, session="etl_nightly:late-payers",
                    temp=_MARIADB_REFRESH_TEMP)


MARIADB_REFRESH_EXPECTED: tuple[Expected, ...] = (
    _late("CREATE TABLE LIKE", (), MARIADB_TEMP_LATE_PAYMENTS),
    _late("INSERT", ["raw.payments"], MARIADB_TEMP_LATE_PAYMENTS),
    _late("CREATE TABLE AS", [MARIADB_TEMP_LATE_PAYMENTS], MARIADB_TEMP_LATE_ACCOUNTS),
    _late("CREATE TABLE AS", [MARIADB_TEMP_LATE_ACCOUNTS, "raw.card_accounts"], "reporting.late_payers"),
    _late("CREATE TABLE AS", [MARIADB_TEMP_LATE_ACCOUNTS, "raw.card_accounts", "staging.customers"],
          "reporting.late_payers_new"),
    # one RENAME TABLE, two renames, each moving its data
    _late("RENAME", ["reporting.late_payers"], "reporting.late_payers_old"),
    _late("RENAME", ["reporting.late_payers_new"], "reporting.late_payers"),
)

MARIADB_EXPECTED_LINEAGE: tuple[Expected, ...] = (
    *(Expected("CREATE TABLE", (), table, session="etl_nightly:migrate") for table in MARIADB_TABLES),
    Expected("INSERT", (), "raw.customers", session="svc_ingest:ingest"),
    Expected("INSERT", (), "raw.customer_erasure_requests", session="svc_ingest:ingest"),
    Expected("INSERT", (), "raw.card_accounts", session="svc_ingest:ingest"),
    Expected("INSERT", _m("raw.card_accounts"), "raw.payments", session="svc_ingest:ingest"),
    Expected("INSERT", (), "raw.credit_inquiries", session="svc_ingest:ingest"),
    Expected("INSERT", (), "raw.bureau_reports", session="svc_ingest:ingest"),
    Expected("INSERT", (), "raw.default_outcomes", session="svc_ingest:ingest"),
    # nightly ELT, autocommit; session database staging, then features after "USE features"
    Expected("CREATE TABLE AS", _m("raw.customers"), "staging.customers", session="etl_nightly:elt"),
    Expected("DELETE", _m("raw.customer_erasure_requests"), "staging.customers", session="etl_nightly:elt"),
    Expected("CREATE TABLE AS", _m("raw.credit_inquiries"), MARIADB_TEMP_INQUIRIES, session="etl_nightly:elt",
             temp=(MARIADB_TEMP_INQUIRIES,)),
    Expected("INSERT", _m(MARIADB_TEMP_INQUIRIES, "staging.customers"), "staging.credit_inquiries",
             session="etl_nightly:elt", temp=(MARIADB_TEMP_INQUIRIES,)),
    Expected("INSERT", _m("raw.card_accounts", "raw.payments"), "staging.payment_history", session="etl_nightly:elt"),
    Expected("INSERT", _m("raw.bureau_reports", "staging.credit_inquiries", "staging.customers",
                          "staging.payment_history"), "features.customer_features", session="etl_nightly:elt"),
    Expected("UPDATE", _m("raw.card_accounts"), "features.customer_features", session="etl_nightly:elt"),
    Expected("CREATE TABLE AS", _m("features.customer_features", "raw.default_outcomes"), "ml.training_set",
             session="etl_nightly:elt"),
    Expected("INSERT", _m("features.customer_features"), "ml.credit_scores", session="etl_nightly:elt"),
    Expected("CREATE VIEW", _m("ml.credit_scores", "staging.customers"), "reporting.limit_decisions",
             session="etl_nightly:elt"),
    # analyst (database reporting); MariaDB keeps a transaction open after an error
    Expected("INSERT", _m("reporting.limit_decisions"), "reporting.limit_summary", FAILED, "ana_risk:adhoc"),
    Expected("CREATE TABLE AS", _m("ml.credit_scores", "staging.customers"), "reporting.daily_limit_summary",
             session="ana_risk:adhoc"),
    Expected("DELETE", (), "ml.credit_scores", ROLLED_BACK, "ana_risk:adhoc"),
    Expected("INSERT", _m("reporting.limit_decisions"), "reporting.postcode_limits", FAILED, "ana_risk:adhoc"),
    Expected("SELECT", _m("reporting.limit_decisions"), None, session="ana_risk:adhoc"),
    # limit service (PyMySQL, database ml): client-side interpolated queries and SQL-level PREPARE/EXECUTE
    Expected("SELECT", _m("ml.credit_scores"), None, session="svc_limits:limit-service",
             count=len(SCORING_CUSTOMERS)),
    Expected("INSERT", _m("ml.credit_scores"), "ml.prediction_log", session="svc_limits:limit-service",
             count=len(SCORING_CUSTOMERS)),
    Expected("INSERT", (), "ml.limit_overrides", session="svc_limits:limit-service"),
    Expected("SELECT", _m("reporting.limit_decisions"), None, session="svc_limits:limit-service"),
    Expected("SELECT", _m("ml.credit_score_history"), None, FAILED, "svc_limits:limit-service"),
    Expected("INSERT", _m("ml.credit_scores"), "ml.prediction_log", ROLLED_BACK, "svc_limits:limit-service"),
    # two concurrent connections, each with its own temporary table reporting.batch
    Expected("CREATE TABLE", (), MARIADB_TEMP_BATCH, session="svc_limits:band-report-scores",
             temp=(MARIADB_TEMP_BATCH,)),
    Expected("CREATE TABLE", (), MARIADB_TEMP_BATCH, session="svc_limits:band-report-income",
             temp=(MARIADB_TEMP_BATCH,)),
    Expected("INSERT", _m("ml.credit_scores"), MARIADB_TEMP_BATCH, session="svc_limits:band-report-scores",
             temp=(MARIADB_TEMP_BATCH,)),
    Expected("INSERT", _m("features.customer_features"), MARIADB_TEMP_BATCH, session="svc_limits:band-report-income",
             temp=(MARIADB_TEMP_BATCH,)),
    Expected("INSERT", (MARIADB_TEMP_BATCH,), "reporting.score_bands", session="svc_limits:band-report-scores",
             temp=(MARIADB_TEMP_BATCH,)),
    Expected("INSERT", (MARIADB_TEMP_BATCH,), "reporting.income_bands", session="svc_limits:band-report-income",
             temp=(MARIADB_TEMP_BATCH,)),
    *MARIADB_REFRESH_EXPECTED,
)
MARIADB_EXPECTED_FEEDS = expected_feeds(MARIADB_EXPECTED_LINEAGE)


def run_mariadb_workload(server: MariaDBServer, *, pause: float = 0.0) -> tuple[Expected, ...]:
    """Run every MariaDB session of the scenario; returns ``MARIADB_EXPECTED_LINEAGE``.

    ``pause`` as for PostgreSQL; above one second it gives each session its own ``# Time:``
    header in the slow log and its own time stamp in the general log (both have 1 s resolution).
    """
    _mariadb_cli(server, _mariadb_bootstrap(), user="root", tcp=False, label="bootstrap")
    _mariadb_cli(server, _mariadb_migration(), user="etl_nightly", database="raw", label="migrate")
    time.sleep(pause)
    _mariadb_cli(server, _mariadb_ingest(), user="svc_ingest", database="raw", label="ingest")
    time.sleep(pause)
    _mariadb_cli(server, MARIADB_ELT, user="etl_nightly", database="staging", label="elt")
    time.sleep(pause)
    _mariadb_cli(server, MARIADB_ADHOC, user="ana_risk", database="reporting", label="adhoc", errors=2)
    time.sleep(pause)
    _mariadb_limit_service(server)
    time.sleep(pause)
    _run_concurrently(server, _mariadb_band_report, [("band-report-scores", "ml.credit_scores", "score", "0.2",
                                                      "score_bands"),
                                                     ("band-report-income", "features.customer_features",
                                                      "annual_income", "20000", "income_bands")])
    time.sleep(pause)
    _mariadb_late_payers(server)
    return MARIADB_EXPECTED_LINEAGE


def _mariadb_late_payers(server: MariaDBServer) -> None:
    """Connected to staging, then ``USE reporting`` (a Query, where the CLI sends Init DB)."""
    conn = server.connect(user="etl_nightly", database="staging")
    try:
        with conn.cursor() as cursor:
            for statement in MARIADB_REFRESH_IN_STAGING:
                cursor.execute(statement)
            cursor.execute("USE reporting")
            for statement in MARIADB_REFRESH_IN_REPORTING:
                cursor.execute(statement)
    finally:
        conn.close()


def _mariadb_cli(server: MariaDBServer, sql: str, *, user: str, label: str, database: str | None = None,
                 tcp: bool = True, errors: int = 0) -> None:
    result = server.client(sql, user=user, database=database, tcp=tcp)
    _check_errors(label, result, result.stderr.count("ERROR "), errors)


def _mariadb_limit_service(server: MariaDBServer) -> None:
    """PyMySQL interpolates parameters client-side; server-side prepared statements are SQL PREPARE/EXECUTE."""
    import pymysql

    conn = server.connect(user="svc_limits", database="ml")
    try:
        with conn.cursor() as cursor:
            cursor.execute("PREPARE log_prediction FROM 'INSERT INTO ml.prediction_log (customer_id, model_version, "
                           "score, recommended_limit, requested_at) SELECT customer_id, model_version, score, "
                           "recommended_limit, NOW() FROM ml.credit_scores WHERE customer_id = ?'")
            for customer in SCORING_CUSTOMERS:
                cursor.execute("SELECT score, recommended_limit FROM credit_scores WHERE customer_id = %s "
                               "ORDER BY scored_at DESC LIMIT 1", (customer,))
                cursor.execute("SET @customer = %s", (customer,))
                cursor.execute("EXECUTE log_prediction USING @customer")
            cursor.executemany("INSERT INTO limit_overrides (customer_id, new_limit, reason) VALUES (%s, %s, %s)",
                               [(10002, 1500, "manual review"), (10005, 800, "fraud hold"), (10011, 2500, "vip")])
            conn.select_db("reporting")
            cursor.execute("SELECT full_name, recommended_limit FROM limit_decisions WHERE customer_id = %s",
                           (10019,))
            cursor.execute("USE ml")
            _expect_failure(lambda: cursor.execute("SELECT * FROM credit_score_history WHERE customer_id = %s",
                                                   (10019,)), pymysql.err.ProgrammingError)
            conn.begin()
            cursor.execute("EXECUTE log_prediction USING 10023")
            conn.rollback()
            cursor.execute("DEALLOCATE PREPARE log_prediction")
    finally:
        conn.close()


def _mariadb_band_report(server: MariaDBServer, barrier: threading.Barrier, app: str, source: str, column: str,
                         width: str, target: str) -> None:
    """One batch job on its own connection: temporary table ``batch`` in database ``reporting``."""
    conn = server.connect(user="svc_limits", database="reporting")
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"/* {app} */ CREATE TEMPORARY TABLE batch (customer_id BIGINT, value DECIMAL(14,4))")
            barrier.wait()
            cursor.execute(f"INSERT INTO batch (customer_id, value)\nSELECT customer_id, {column}\nFROM {source}")
            barrier.wait()
            cursor.execute(f"INSERT INTO {target} (band, customers)\n"
                           f"SELECT FLOOR(value / {width}) AS band, COUNT(*)\nFROM batch\nGROUP BY 1")
            barrier.wait()
    finally:
        conn.close()
