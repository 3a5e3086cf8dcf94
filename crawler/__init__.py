"""Find and read sources, drive crawls, and host the `lineage` command-line program."""

from __future__ import annotations

import crawler.formats.joblogs  # noqa: F401  (registers the job log readers: Airflow, Spark driver, app)
import crawler.formats.mlflow  # noqa: F401  (registers the MLflow tracking store reader)
import crawler.formats.openlineage  # noqa: F401  (registers the OpenLineage events reader)
import crawler.formats.predictions  # noqa: F401  (registers the prediction log reader)
import crawler.formats.spark  # noqa: F401  (registers the Spark event log reader)
import crawler.logs  # noqa: F401  (registers the database log readers)
import crawler.sources  # noqa: F401  (registers the SQL file and trace readers)
import crawler.supplements  # noqa: F401  (registers the readers of side exports of warehouses)
import crawler.warehouses  # noqa: F401  (registers the warehouse query-history readers)
from crawler.crawl import CrawlReport, crawl
from crawler.registry import FieldMap, SourceSpec

__all__ = ["CrawlReport", "FieldMap", "SourceSpec", "crawl"]
