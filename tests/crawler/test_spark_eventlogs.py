"""Real Spark event logs (fixtures/spark/, written by PySpark 4.x and 3.5 with
fixtures/spark/make_eventlogs.py) crawled into lineage, application by application.

Two checks per Spark version: a golden file (``goldens/spark/<version>.json``: each application's
reads, writes, failed executions and column edges, as we name them; regenerate with
``--update-goldens`` and review the diff), and the fixture's own ``expected.json``, written from
what each job does, not from any reader, against which every read and write is checked.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from crawler import SourceSpec, crawl
from graph import Store, open_store

ROOT = Path(__file__).resolve().parent.parent.parent
SPARK = ROOT / "fixtures" / "spark"
GOLDENS = ROOT / "tests" / "goldens" / "spark"
VERSIONS = sorted(path.name for path in SPARK.glob("spark-*") if path.is_dir())
EXPECTED = json.loads((SPARK / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module", params=VERSIONS)
def crawled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Store, Any]:
    version = str(request.param)
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp(version) / 'lineage.db'}")
    report = crawl([SourceSpec(path=str(SPARK / version))], store)
    return version, store, report


def _name(node_id: str) -> str:
    """A dataset's id as the golden spells it: namespace, then name."""
    return node_id.removeprefix("dataset:")


def _by_application(store: Store) -> dict[str, dict[str, Any]]:
    apps: dict[str, dict[str, Any]] = defaultdict(lambda: {"reads": set(), "writes": set(), "columns": set()})
    for edge in store.edges(["READS", "WRITES"]):
        if edge.kind == "READS":
            apps[edge.dst.rsplit("spark:", 1)[-1]]["reads"].add(_name(edge.src))
        else:
            apps[edge.src.rsplit("spark:", 1)[-1]]["writes"].add(_name(edge.dst))
    columns = {(edge.src.removeprefix("column:"), edge.dst.removeprefix("column:"))
               for edge in store.edges(["DERIVES"])}
    for app in apps.values():
        app["columns"] = {f"{src} -> {dst}" for src, dst in columns if dst.split("#")[0] in app["writes"]}
    runs: dict[str, list[str]] = defaultdict(list)
    for run in store.nodes("run"):
        runs[run.props["job"].rsplit("spark:", 1)[-1]].append(run.props.get("statement_kind", ""))
    return {app: {"reads": sorted(value["reads"]), "writes": sorted(value["writes"]),
                  "columns": sorted(value["columns"]), "runs": sorted(runs[app])}
            for app, value in sorted(apps.items())}


def test_each_application_gives_its_golden_lineage(crawled: tuple[str, Store, Any], update_goldens: bool) -> None:
    version, store, report = crawled
    actual = {"applications": _by_application(store), "failed_executions": report.statements_failed,
              "issues": report.issues_by_code}
    golden = GOLDENS / f"{version}.json"
    if update_goldens or not golden.exists():
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(json.dumps(actual, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        if not update_goldens:
            pytest.fail(f"wrote missing golden {golden.name}: review it, then run again")
    assert actual == json.loads(golden.read_text(encoding="utf-8"))


def _expected_name(name: str, hive: bool) -> str:
    """expected.json's names (raw paths, spark_catalog.db.table, jdbc:TABLE) as datasets."""
    if name.startswith("jdbc:"):
        return "jdbc/" + name.removeprefix("jdbc:").lower()
    if name.startswith("spark_catalog."):
        return ("hive://default/" if hive else "spark://default/") + name.removeprefix("spark_catalog.")
    return "file/" + name


def _matches(expected: str, actual: set[str]) -> bool:
    """A path is its dataset, or the cluster of its partitions (``/lake/orders/{dt}``)."""
    return expected in actual or any(name.startswith(expected + "/{") for name in actual)


# What a job does that its event log does not say, and so no reader of logs can find.
GAPS = {
    # Spark 3.5's LogisticRegression.fit reads its data through Dataset.rdd, which posts no SQL
    # execution: the log's RDD infos name the scan ("Scan parquet "), not the path. In 4.x the
    # fit runs SQL executions, whose plans name it.
    ("spark-3.5", "credit_model_train", "reads"),
}


def test_every_read_and_write_the_jobs_do_is_found_and_nothing_else(crawled: tuple[str, Store, Any]) -> None:
    version, store, _ = crawled
    found = _by_application(store)
    for app in EXPECTED[version]["apps"]:
        name = app["app_name"]
        hive = name.startswith("hive_")
        ours = found.get(name, {"reads": [], "writes": []})
        writes = [target for target in app["writes"] if not _rdd_write(app, target)]
        for kind, expected in (("reads", app["reads"]), ("writes", writes)):
            names = {_expected_name(item, hive) for item in expected}
            actual = set(ours[kind])
            if (version, name, kind) in GAPS:
                assert not actual, "a gap the log no longer has: take it off GAPS"
                continue
            assert all(_matches(item, actual) for item in names), (name, kind, names, actual)
            assert len(actual) == len(names), (name, kind, names, actual)


def _rdd_write(app: dict[str, Any], target: str) -> bool:
    """saveAsTextFile leaves no path in an event log (README): not expected of any reader."""
    return any(write["target"] == target and write.get("kind") == "rdd_path" for write in app.get("sql_writes", [])) \
        or target.endswith("/rdd/error_lines")


def test_failed_writes_give_no_lineage_and_are_counted(crawled: tuple[str, Store, Any]) -> None:
    version, store, report = crawled
    failed = [write for app in EXPECTED[version]["apps"] for write in app.get("sql_writes", [])
              if write.get("status") == "failed"]
    assert failed and report.statements_failed == len(failed)
    written = {_name(edge.dst) for edge in store.edges(["WRITES"])}
    for write in failed:
        assert not _matches(_expected_name(write["target"], hive=False), written)


def test_no_secret_reaches_the_store(crawled: tuple[str, Store, Any], tmp_path: Path) -> None:
    """Spark masks what its own redaction pattern names; the crawler masks more (an api key in a
    script's arguments, a catalog's credential), planted here in a real log's environment."""
    version, _, _ = crawled
    source = next(path for path in sorted((SPARK / version).rglob("*")) if path.is_file()
                  and not path.name.startswith((".", "appstatus")) and path.suffix != ".zstd")
    lines = source.read_bytes().splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.startswith(b'{"Event":"SparkListenerEnvironmentUpdate"'):
            event = json.loads(line)
            event["System Properties"]["sun.java.command"] += " --api-key FIXTURE-SECRET-91 --day 2024-01-01"
            event["Spark Properties"]["spark.sql.catalog.lake.s3.access-key"] = "FIXTURE-SECRET-92"
            event["Spark Properties"]["spark.sql.catalog.lake.uri"] = "jdbc:postgresql://u:FIXTURE-SECRET-93@db/x"
            lines[index] = json.dumps(event).encode() + b"\n"
    planted = tmp_path / "logs" / source.name
    planted.parent.mkdir()
    planted.write_bytes(b"".join(lines))
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    crawl([SourceSpec(path=str(planted.parent))], open_store(url))
    store = open_store(url, read_only=True)
    (job,) = store.nodes("job")
    assert "--api-key ***" in job.props["command"] and "--day 2024-01-01" in job.props["command"]
    store.close()
    assert b"FIXTURE-SECRET" not in b"".join(path.read_bytes() for path in tmp_path.glob("lineage.db*"))


def test_a_password_in_a_readable_command_line_is_masked(crawled: tuple[str, Store, Any]) -> None:
    """rdd_text_copy's command line is one Spark does not mask: a password sits in a URI there."""
    version, store, _ = crawled
    (job,) = [node for node in store.nodes("job") if node.name == "spark:rdd_text_copy"]
    assert "postgresql://etl:***@db.example:5432/crm" in job.props["command"]
    assert "FIXTURE-PW" not in json.dumps([node.props for node in store.nodes()])


@pytest.mark.parametrize("codec", ["lz4", "lzf", "snappy"])
def test_a_log_in_a_codec_no_python_library_reads_is_said_so(codec: str, tmp_path: Path) -> None:
    log = tmp_path / f"app-20240101010101-0001.{codec}"
    log.write_bytes(b"LZ4Block\x26\x00\x01\x00\x00" if codec == "lz4" else b"\x82SNAPPY\x00\x00\x00\x00\x01")
    report = crawl([SourceSpec(path=str(tmp_path))], open_store(f"sqlite:///{tmp_path / 'lineage.db'}"))
    assert report.files == 1 and report.issues_by_code == {"unsupported_codec": 1}
    assert "spark.eventLog.compression.codec=zstd" in report.issue_sample[0].message
