"""Reading and checking the hand-written corpus of tests/corpus (see its README): shared by
tests/parsers/test_corpus.py and bench/accuracy.py."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

from parsers.catalog import Catalog
from parsers.naming import NameContext
from parsers.sql.report import describe

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


@dataclasses.dataclass(frozen=True, slots=True)
class Case:
    dialect: str
    id: str
    spec: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.dialect}/{self.id}"

    def context(self) -> NameContext:
        context = NameContext.of(None if self.dialect == "generic" else self.dialect,
                                 database=self.spec.get("default_db"), schema=self.spec.get("default_schema"))
        if self.spec.get("schema"):
            context = dataclasses.replace(context, catalog=Catalog.from_mapping(self.spec["schema"], context))
        return context

    def expected(self) -> dict[str, set[Any]]:
        return {
            "sources": _lower(self.spec.get("sources", [])),
            "targets": _lower(self.spec.get("targets", [])),
            "columns": _edges(self.spec.get("columns", [])),
            "lifecycle": {_event(e) for e in self.spec.get("lifecycle", [])},
        }


def cases() -> list[Case]:
    found = []
    for path in sorted(CORPUS.glob("*.toml")):
        for spec in tomllib.loads(path.read_text(encoding="utf-8")).get("case", []):
            found.append(Case(dialect=path.stem, id=spec["id"], spec=spec))
    return found


def ours(case: Case) -> dict[str, set[Any]]:
    """What our engine finds, in the corpus's terms."""
    doc = describe(case.spec["sql"], case.context(), source_id=case.key)
    direct = [f"{flow['target']} <- {', '.join(flow['sources'])}" for flow in doc["column_lineage"]
              if flow["kind"] == "direct"]
    return {"sources": _lower(doc["sources"]), "targets": _lower(doc["targets"]), "columns": _edges(direct),
            "lifecycle": {_event(e) for e in doc["lifecycle"]}}


def differences(case: Case, found: dict[str, set[Any]]) -> dict[str, tuple[list[Any], list[Any]]]:
    """Per aspect, (missing, extra) where ours differs from the expected. Column edges are
    checked only when the case lists them."""
    expected = case.expected()
    aspects = ["sources", "targets", "lifecycle"] + (["columns"] if "columns" in case.spec else [])
    return {aspect: (sorted(expected[aspect] - found[aspect], key=str),
                     sorted(found[aspect] - expected[aspect], key=str))
            for aspect in aspects if expected[aspect] != found[aspect]}


def _lower(names: list[str]) -> set[str]:
    return {name.lower() for name in names}


def _edges(lines: list[str]) -> set[tuple[str, str]]:
    edges = set()
    for line in lines:
        target, _, sources = line.partition("<-")
        edges |= {(target.strip().lower(), source.strip().lower()) for source in sources.split(",") if source.strip()}
    return edges


def _event(event: dict[str, str]) -> tuple[str, str, str]:
    return (event["event"], event["dataset"].lower(), event.get("to", "").lower())
