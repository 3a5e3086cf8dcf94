"""What the README shows a newcomer runs as shown: its config example loads, its Python example
runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crawler import config

README = Path(__file__).resolve().parent.parent / "README.md"


def _block(language: str) -> str:
    found = re.findall(rf"```{language}\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(found) == 1, f"one {language} example in the README"
    return found[0]


def test_the_config_example_loads(tmp_path: Path) -> None:
    for folder in ("elt", "traces", "var-log"):
        (tmp_path / folder).mkdir()
    text = _block("toml").replace("/var/log/postgresql/", f"{tmp_path / 'var-log'}/")
    (tmp_path / "crawl.toml").write_text(text, encoding="utf-8")
    settings = config.load(str(tmp_path / "crawl.toml"), {})
    trace = settings.sources[-1]
    assert (trace.type, trace.fields.query, trace.fields.application) == ("sql_trace", "query_text",
                                                                          "application_name")
    assert settings.sources[1].exclude == {"user": ("monitoring",), "kind": ("SELECT",)}
    assert settings.sources[2].type == "app_log" and settings.sources[2].rules[0]["direction"] == "write"


def test_the_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "etl").mkdir()
    (tmp_path / "etl" / "load.sql").write_text(
        "CREATE TABLE mart.order_report AS SELECT * FROM orders o JOIN customers c ON o.cid = c.id;",
        encoding="utf-8")
    (tmp_path / "columns.csv").write_text(
        "TABLE_CATALOG,TABLE_SCHEMA,TABLE_NAME,COLUMN_NAME,ORDINAL_POSITION\n"
        "ANALYTICS,PUBLIC,ORDERS,CID,1\nANALYTICS,PUBLIC,CUSTOMERS,ID,1\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    names: dict[str, object] = {}
    exec(compile(_block("python"), str(README), "exec"), names)  # noqa: S102  (our own README's example)
    assert names["doc"]["targets"] == ["ANALYTICS.MART.ORDER_REPORT"]  # type: ignore[index]
    assert {"target": "ANALYTICS.MART.ORDER_REPORT.CID", "sources": ["ANALYTICS.PUBLIC.ORDERS.CID"],
            "kind": "direct"} in names["doc"]["column_lineage"]  # type: ignore[index]
