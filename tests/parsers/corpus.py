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
        """The aspects a case is scored on, each a set of lower-case names or (target, source)
        edges; column edges only where the case lists them."""
        found = {
            "sources": _lower(self.spec.get("sources", [])),
            "targets": _lower(self.spec.get("targets", [])),
            "lifecycle": {_event(e) for e in self.spec.get("lifecycle", [])},
        }
        found.update({aspect: _edges(self.spec[aspect]) for aspect in ("columns", "indirect") if aspect in self.spec})
        return found


def cases() -> list[Case]:
    found = []
    for path in sorted(CORPUS.glob("*.toml")):
        for spec in tomllib.loads(path.read_text(encoding="utf-8")).get("case", []):
            found.append(Case(dialect=path.stem, id=spec["id"], spec=spec))
    return found


def ours(case: Case) -> dict[str, set[Any]]:
    """What our engine finds, in the corpus's terms."""
    doc = describe(case.spec["sql"], case.context(), source_id=case.key)
    flows = doc["column_lineage"]
    return {"sources": _lower(doc["sources"]), "targets": _lower(doc["targets"]),
            "columns": {(f["target"].lower(), s.lower()) for f in flows if f["kind"] == "direct" for s in f["sources"]},
            "indirect": {(f["target"].lower(), s.lower()) for f in flows if f["kind"] == "indirect"
                         for s in f["sources"]},
            "lifecycle": {_event(e) for e in doc["lifecycle"]}}


def differences(case: Case, found: dict[str, set[Any]]) -> dict[str, tuple[list[Any], list[Any]]]:
    """Per aspect, (missing, extra) where ours differs from the expected: tables, lifecycle and,
    where the case lists them, direct column edges (indirect ones are scored, not required)."""
    expected = case.expected()
    return {aspect: (sorted(expected[aspect] - found[aspect], key=str),
                     sorted(found[aspect] - expected[aspect], key=str))
            for aspect in ("sources", "targets", "lifecycle", "columns")
            if aspect in expected and expected[aspect] != found[aspect]}


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
