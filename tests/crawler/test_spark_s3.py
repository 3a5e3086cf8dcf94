"""A crawl of logs in an S3 bucket (`lineage crawl s3a://... --engine spark`), through Hadoop's
s3a filesystem, against a real S3-compatible server (moto's), configured as docs/spark-engine.md
says: SPARK_CONF_DIR holding spark.jars.packages (hadoop-aws of pyspark's Hadoop) and fs.s3a.*.

Heavy: hadoop-aws brings the AWS SDK bundle (about 690 MB from Maven Central, once per Ivy
cache), so `make test` skips it; `make test-s3` runs it (LINEAGE_TEST_S3=1, with moto[server]
in a virtualenv of its own: LINEAGE_MOTO_SERVER names its `moto_server`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.registry import SourceSpec
from tests.crawler.test_parallel import PG, _write_csvlog
from tests.crawler.test_spark_engine import FIXTURES, _crawled, _facts
from tests.processes import answering, free_port

pytestmark = pytest.mark.skipif(not os.environ.get("LINEAGE_TEST_S3"),
                                reason="run by `make test-s3` (LINEAGE_TEST_S3=1)")

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "lake"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}


def pyspark_hadoop_version() -> str:
    """The Hadoop version pyspark's jars are of (hadoop-aws must match it)."""
    import pyspark

    jars = Path(pyspark.__file__).parent / "jars"
    (api,) = jars.glob("hadoop-client-api-*.jar")
    return api.name.removeprefix("hadoop-client-api-").removesuffix(".jar")


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto S3 server on a free port, with an empty bucket; its endpoint."""
    server = os.environ.get("LINEAGE_MOTO_SERVER") or shutil.which("moto_server")
    if not server:
        pytest.fail("no moto_server: `make test-s3` installs moto[server] (or set LINEAGE_MOTO_SERVER)")
    endpoint = f"http://127.0.0.1:{free_port()}"
    argv = [server, "-H", "127.0.0.1", "-p", endpoint.rsplit(":", 1)[1]]
    with answering(argv, lambda: _put(f"{endpoint}/{BUCKET}", b""), tmp_path_factory.mktemp("moto") / "moto.log"):
        yield endpoint


def _put(url: str, data: bytes) -> None:
    """An object (or, without a key, the bucket) on the S3 server; moto takes it unsigned."""
    request = urllib.request.Request(url, data=data, method="PUT", headers={"Content-Type": "application/octet-stream"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


# Maven Central alone: Spark's default Ivy settings look in ~/.m2 first, and a module found there
# whose jars are not (a partial local repository) fails the resolution.
IVY_SETTINGS = """<ivysettings><settings defaultResolver="central"/><resolvers>
<ibiblio name="central" m2compatible="true" root="https://repo1.maven.org/maven2/"/></resolvers></ivysettings>
"""


def _spark_conf(folder: Path, endpoint: str) -> Path:
    folder.mkdir()
    (folder / "ivysettings.xml").write_text(IVY_SETTINGS)
    ivy = os.environ.get("LINEAGE_TEST_IVY")  # (an Ivy home that has the jars already; else Ivy's default)
    (folder / "spark-defaults.conf").write_text(
        f"spark.jars.packages org.apache.hadoop:hadoop-aws:{pyspark_hadoop_version()}\n"
        f"spark.jars.ivySettings {folder / 'ivysettings.xml'}\n"
        + (f"spark.jars.ivy {ivy}\n" if ivy else "") +
        f"spark.hadoop.fs.s3a.endpoint {endpoint}\n"
        "spark.hadoop.fs.s3a.path.style.access true\n"
        "spark.hadoop.fs.s3a.connection.ssl.enabled false\n"
        "spark.hadoop.fs.s3a.endpoint.region us-east-1\n")
    return folder


def _crawl_s3(uri: str, url: str, conf: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **CREDENTIALS, "SPARK_CONF_DIR": str(conf), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "crawler", "crawl", uri, "--namespace", PG, "--dialect", "postgres",
                           "--stale-after", "0", "--store", url, "--engine", "spark", "--spark-master", "local[2]",
                           "--json"], env=env, capture_output=True, text=True, timeout=1200, check=False)


def test_logs_in_an_s3_bucket_crawl_as_local_files_do(s3: str, tmp_path: Path) -> None:
    local = tmp_path / "local"
    local.mkdir()
    shutil.copy(FIXTURES / "querylogs" / "postgres" / "csvlog.csv", local / "csvlog.csv")
    _write_csvlog(local / "postgresql-2026-11-25.csv", 400, 0)
    for name in ("csvlog.csv", "postgresql-2026-11-25.csv"):
        _put(f"{s3}/{BUCKET}/logs/{name}", (local / name).read_bytes())
    conf, url = _spark_conf(tmp_path / "conf", s3), f"sqlite:///{tmp_path / 's3.db'}"
    crawled = _crawl_s3(f"s3a://{BUCKET}/logs", url, conf)
    assert crawled.returncode in (0, 1), crawled.stderr[-3000:]
    report = crawled.stdout[crawled.stdout.index("{\n"):]  # (after what Ivy says of the jars it fetched)
    assert json.loads(report)["files"] == 2
    reference = f"sqlite:///{tmp_path / 'local.db'}"
    _crawled(reference, [SourceSpec(path=str(local), namespace=PG, dialect="postgres")], stale_after=None)
    assert _facts(url) == _facts(reference)
