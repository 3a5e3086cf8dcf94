from __future__ import annotations

import pytest

from parsers.naming import NameContext, cluster_path, cluster_table, file_ref, parse_table, table_ref


@pytest.mark.parametrize(
    ("path", "cluster"),
    [
        ("/lake/events/dt=2024-01-01/part-0001.parquet", "/lake/events/{dt}"),
        ("/lake/events/dt=2024-01-02/hour=03/part-00007-1f0c.snappy.parquet", "/lake/events/{dt}/{hour}"),
        ("/lake/events/dt=2024-01-02/_SUCCESS", "/lake/events/{dt}"),
        ("/exports/2024-05-01.csv", "/exports/{date}.csv"),
        ("/exports/20240501T0300/report.csv", "/exports/{date}/report.csv"),
        ("/runs/3f2b8c1e-9d4a-4e5b-8c7d-1a2b3c4d5e6f/metrics.json", "/runs/{uuid}/metrics.json"),
        ("/models/credit-limit/1.4.2/model.pkl", "/models/credit-limit/{version}/model.pkl"),
        ("/builds/a1b2c3d4e5f6/out.tar", "/builds/{hex}/out.tar"),
        ("/logs/web-03.prod.bank.internal/access.log", "/logs/{host}/access.log"),
        ("/shards/users-00042-of-00100.avro", "/shards/users-{shard}.avro"),
        ("/data/customers.csv", "/data/customers.csv"),
    ],
    ids=lambda value: value if value.startswith("/lake") is False else value[:40],
)
def test_paths_cluster_to_one_stable_pattern(path: str, cluster: str) -> None:
    assert cluster_path(path) == cluster
    assert cluster_path(cluster) == cluster, "a cluster is its own cluster"


@pytest.mark.parametrize(
    ("name", "cluster"),
    [
        ("analytics.events_20240101", "analytics.events_{date}"),
        ("analytics.events_2024_01_01", "analytics.events_2024_01_01"),
        ("shop.orders_shard_07", "shop.orders_{shard}"),
        ("logs.requests_001", "logs.requests_{shard}"),
        ("credit.ml.credit_scores", "credit.ml.credit_scores"),
        ("db.table2", "db.table2"),
    ],
)
def test_table_shards_cluster(name: str, cluster: str) -> None:
    assert cluster_table(name) == cluster


def test_a_member_keeps_its_concrete_name_but_not_its_identity() -> None:
    a = file_ref("s3://lake/events/dt=2024-01-01/part-0001.parquet")
    b = file_ref("s3://lake/events/dt=2024-01-02/part-0009.parquet")
    assert a == b and hash(a) == hash(b)
    assert (a.member, b.member) == ("events/dt=2024-01-01/part-0001.parquet", "events/dt=2024-01-02/part-0009.parquet")


def test_sql_tables_cluster_too() -> None:
    context = NameContext.of("bigquery")
    ref = table_ref(parse_table("proj.analytics.events_20240101", context), context)
    assert (ref.name, ref.member) == ("proj.analytics.events_{date}", "proj.analytics.events_20240101")
