"""Spark's names for datasets as :class:`DatasetRef`: paths as plans print them, catalog tables,
and managed tables' locations in the warehouse directory.

A plan prints one path three ways (``file:/x``, ``file:///x``, ``/x``): all are one name. Object
stores keep OpenLineage's namespaces (``s3a://b/k`` is ``s3://b`` + ``k``, as the OpenLineage Spark
integration names it). A partitioned write or a read of partition directories is the Goods
cluster of its files (``/lake/events/{dt}``).

>>> path_ref("file:/lake/orders").name, path_ref("file:///lake/orders").name, path_ref("/lake/orders").name
('/lake/orders', '/lake/orders', '/lake/orders')
>>> path_ref("file:/lake/events", partition_columns=("dt",)).name
'/lake/events/{dt}'
>>> path_ref("file:/lake/events/dt=2024-01-01").name
'/lake/events/{dt}'
>>> ref = path_ref("s3a://bucket/raw/orders")
>>> ref.namespace, ref.name
('s3://bucket', 'raw/orders')
>>> normal_path("s3a://AKIAKEY:secret@bucket/raw")
's3://bucket/raw'
>>> table_ref("spark_catalog.sales.orders", "spark://default").name
'sales.orders'
>>> table_ref("orders", "spark://default").name
'default.orders'
>>> warehouse_table("file:/wh/sales.db/orders", "file:/wh"), warehouse_table("/wh/orders", "/wh")
('sales.orders', 'default.orders')
"""

from __future__ import annotations

import re

from parsers import naming
from parsers.model import DatasetRef

SESSION_CATALOG = "spark_catalog"
DEFAULT_DATABASE = "default"
# Object stores' Hadoop schemes, named as OpenLineage names the store.
_SCHEMES = {"s3a": "s3", "s3n": "s3", "wasbs": "wasbs", "abfss": "abfss", "gs": "gs"}


def normal_path(path: str, default_fs: str | None = None) -> str:
    """``file:/x``, ``file:///x`` and ``/x`` as one URI; a bare path on the default file system."""
    path = path.strip()
    if path.startswith("file:"):
        return "file://" + "/" + path[len("file:"):].lstrip("/")
    if path.startswith("/"):
        if default_fs and not default_fs.startswith("file:"):
            return default_fs.rstrip("/") + path
        return "file://" + path
    scheme, sep, rest = path.partition("://")
    if sep:
        authority, slash, key = rest.partition("/")
        rest = authority.rsplit("@", 1)[-1] + slash + key  # never a name with credentials in it
        return f"{_SCHEMES.get(scheme, scheme)}://{rest}"
    return path


def path_ref(path: str, default_fs: str | None = None, partition_columns: tuple[str, ...] = ()) -> DatasetRef:
    """The dataset a path names; a path written or read by partition columns is the cluster of
    its partition directories."""
    uri = normal_path(path, default_fs).rstrip("/") or "/"
    if partition_columns:
        uri += "".join(f"/{column}=*" for column in partition_columns)
    ref = naming.file_ref(uri)
    if partition_columns:  # the member is the root written, not a made-up partition
        return DatasetRef(namespace=ref.namespace, name=ref.name, member=normal_path(path, default_fs))
    return ref


def table_ref(name: str, namespace: str) -> DatasetRef:
    """A catalog table: the session catalog's tables by ``database.table`` (as Hive and Spark SQL
    logs name them), other catalogs' with the catalog first."""
    parts = [part.strip("`").lower() for part in name.split(".")]
    if parts[0] == SESSION_CATALOG and len(parts) > 2:
        parts = parts[1:]
    if len(parts) == 1:
        parts = [DEFAULT_DATABASE, *parts]
    return naming.clustered(DatasetRef(namespace=namespace, name=".".join(parts)))


def jdbc_ref(name: str) -> DatasetRef:
    """A table of a database Spark reached over JDBC, as the plan names it. Spark redacts the
    JDBC URL in plans, so the server is unknown: the namespace is ``jdbc``.

    >>> jdbc_ref("CRM.CUSTOMERS")
    DatasetRef(namespace='jdbc', name='crm.customers', member=None)
    """
    return naming.clustered(DatasetRef(namespace="jdbc", name=name.strip().strip('"`').lower()))


def warehouse_table(path: str, warehouse: str | None) -> str | None:
    """The managed table whose location ``path`` is: ``<warehouse>/<db>.db/<table>``, or
    ``<warehouse>/<table>`` for the default database."""
    if not warehouse:
        return None
    root = normal_path(warehouse).rstrip("/") + "/"
    full = normal_path(path).rstrip("/")
    if not full.startswith(root):
        return None
    rest = full[len(root):].split("/")
    if len(rest) == 2 and rest[0].endswith(".db"):
        return f"{rest[0][:-3]}.{rest[1]}".lower()
    if len(rest) == 1 and not rest[0].endswith(".db"):
        return f"{DEFAULT_DATABASE}.{rest[0]}".lower()
    return None


def model_root(path: str) -> str | None:
    """The root of a saved Spark ML model or pipeline, from the path of one of its parts
    (``<root>/metadata``, ``<root>/data``, ``<root>/stages/1_LogisticRegression_ab12/data``)."""
    match = re.match(r"^(?P<root>.+?)/stages/\d+_[^/]+(?:/.*)?$", path) or re.match(
        r"^(?P<root>.+?)/(?:metadata|data|treesMetadata|bestModel|estimator|evaluator)(?:/.*)?$", path)
    return match["root"] if match else None
