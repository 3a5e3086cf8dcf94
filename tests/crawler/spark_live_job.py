"""A small PySpark application for tests/crawler/test_spark_live.py: it writes its event log to
the folder given, with its data under the root given.

    python spark_live_job.py EVENTS_DIR DATA_ROOT --token SECRET
"""

from __future__ import annotations

import contextlib
import sys

from pyspark.sql import SparkSession
from pyspark.sql.functions import udf


def main(events: str, root: str) -> None:
    spark = (SparkSession.builder.master("local[1]").appName("live_orders_etl")
             .config("spark.eventLog.enabled", "true").config("spark.eventLog.dir", events)
             .config("spark.sql.warehouse.dir", f"{root}/warehouse").config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "2").config("spark.myapp.db.password", "LIVE-SECRET-1")
             .getOrCreate())
    orders = spark.createDataFrame([(1, "ann", 10.0, "2024-01-01"), (2, "bob", 5.5, "2024-01-02")],
                                   ["id", "customer", "amount", "dt"])
    orders.write.mode("overwrite").partitionBy("dt").parquet(f"{root}/lake/orders")
    daily = spark.read.parquet(f"{root}/lake/orders").where("dt = '2024-01-01'")
    spark.sql("CREATE DATABASE IF NOT EXISTS sales")
    daily.groupBy("customer").sum("amount").withColumnRenamed("sum(amount)", "total") \
        .write.mode("overwrite").saveAsTable("sales.customer_totals")
    spark.sql("CREATE TABLE sales.big_customers AS SELECT customer, upper(customer) AS name, total "
              "FROM sales.customer_totals WHERE total > 1")
    fail = udf(lambda value: 1 // 0)
    # The failure is the point: its execution ends with an error message in the log.
    with contextlib.suppress(Exception):
        spark.table("sales.customer_totals").select(fail("total").alias("x")).write.mode("overwrite") \
            .parquet(f"{root}/lake/never_written")
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
