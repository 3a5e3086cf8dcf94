"""A repeat of a template answered from the cache is still evidenced by its own text."""

from __future__ import annotations

import dataclasses
import re

import pytest

import parsers
from parsers import Origin, SourceRecord


def _record(sql: str, line: int) -> SourceRecord:
    return SourceRecord(source_type="postgres_log", text=sql, origin=Origin(path="/pg.log", line=line),
                        dialect="postgres", namespace="postgres://db:5432", database="credit")


def test_each_repeat_keeps_its_own_redacted_text() -> None:
    first = parsers.parse(_record("INSERT INTO mart.t SELECT * FROM raw.s WHERE id IN (1, 2)", 1)).events[0]
    again = parsers.parse(_record("INSERT INTO mart.t  SELECT * FROM raw.s WHERE id IN (7, 8, 9, 10);", 2)).events[0]
    assert first.job == again.job, "one template"
    assert first.evidence.sql == "INSERT INTO mart.t SELECT * FROM raw.s WHERE id IN (?, ?)"
    assert again.evidence.sql == "INSERT INTO mart.t  SELECT * FROM raw.s WHERE id IN (?, ?, ?, ?)"
    assert "7" not in again.evidence.sql


SECRET = "9137"  # stands in for any literal: an amount, an id, a name


@pytest.mark.parametrize(("dialect", "template"), [
    ("postgres", "INSERT INTO mart.t SELECT * FROM raw.s WHERE amount > -{}"),
    ("postgres", "INSERT INTO mart.t SELECT * FROM raw.s WHERE rate < .{}"),
    ("postgres", "INSERT INTO mart.t SELECT * FROM raw.s WHERE id = {}-3"),
    ("postgres", "INSERT INTO mart.t SELECT * FROM raw.s WHERE score = 1.5e{}"),
    ("postgres", "INSERT INTO mart.t SELECT \"it's\" FROM raw.s WHERE note = 'x{}'"),
    ("postgres", "INSERT INTO mart.t SELECT * FROM raw.s WHERE note = E'a\\'{}'"),
    ("postgres", "INSERT INTO mart.t SELECT * FROM raw.s WHERE id = 1 -- was {}"),
    ("postgres", "INSERT INTO mart.t SELECT * FROM raw.s WHERE note = 'unterminated {}"),
    ("mysql", 'INSERT INTO mart.t SELECT * FROM raw.s WHERE name = "n{}"'),
    ("mysql", "INSERT INTO mart.t SELECT * FROM raw.s WHERE name = 'a\\'{}'"),
    ("mysql", "INSERT INTO mart.t SELECT * FROM raw.s WHERE id = 0x{}"),
    ("mysql", "REPLACE INTO mart.t SELECT * FROM raw.s WHERE id = {} AND kind = 'k'"),
    ("tsql", "INSERT INTO mart.t SELECT [it's] FROM raw.s WHERE name = N'n{}'"),
    ("bigquery", "INSERT INTO mart.t SELECT * FROM raw.s WHERE name = \"n{}\""),
    ("bigquery", "INSERT INTO mart.t SELECT * FROM raw.s WHERE name = '''a' x{} 'b'''"),
    ("spark", "INSERT INTO mart.t SELECT * FROM raw.s WHERE id = {}L AND kind = 'k'"),
    ("spark", "INSERT INTO mart.t SELECT * FROM raw.s WHERE amount = 1.{}BD"),
    ("clickhouse", "INSERT INTO mart.t SELECT * FROM raw.s WHERE id = {}_000"),
    ("oracle", "INSERT INTO mart.t SELECT * FROM raw.s WHERE note = q'{{a' x{} 'b}}'"),
])
def test_no_literal_reaches_the_evidence_of_a_first_text_or_a_repeat(dialect: str, template: str) -> None:
    """The first text of a template, a repeat of it spaced otherwise (which the template cache
    answers with the first one's parse) and one after a comment each store their own text with no literal in it (as
    evidence, or as the snippet of an issue where the text does not parse)."""
    texts = [template.format(SECRET), template.replace(" FROM", "  FROM").format(SECRET),
             template.replace(" FROM", "  FROM").format(SECRET[::-1]),
             "/* nightly */\n" + template.format(SECRET)]
    for line, text in enumerate(texts, start=1):
        record = SourceRecord(source_type="sql_trace", text=text, origin=Origin(path="/q.log", line=line),
                              dialect=dialect, namespace=f"{dialect}://db", database="d")
        result = parsers.parse(record)
        stored = [event.evidence.sql for event in result.events] + [issue.snippet for issue in result.issues]
        assert stored and all("raw.s" in text for text in stored), stored
        assert not any(SECRET in text or SECRET[::-1] in text for text in stored), stored


def test_the_quick_keys_redaction_is_the_tokenizers_on_the_corpus() -> None:
    """Where the quick key answers without the tokenizer, its expressions find exactly the
    literals the tokenizer finds (up to a string's prefix letter: N'x' is N? there)."""
    from parsers.dialects import resolve
    from parsers.sql.lineage import quick_key, redacted_repeat
    from parsers.sql.statements import split
    from tests.parsers.corpus import cases

    compared = 0
    for case in cases():
        dialect = resolve(None if case.dialect == "generic" else case.dialect)
        sql = case.spec["sql"].strip()
        if quick_key(sql, dialect) is None:
            continue
        statement = split(sql, dialect)[0]
        other = dataclasses.replace(statement, text="")  # as if the cache answered for another text
        assert _unprefixed(redacted_repeat(sql, other, dialect)) == _unprefixed(statement.redacted), case.key
        compared += 1
    assert compared > 300


def _unprefixed(text: str) -> str:
    return re.sub(r"\b[NnXxBbEe]\?", "?", text)


def test_texts_after_a_command_word_have_their_own_templates() -> None:
    """sqlglot keeps what follows MySQL's REPLACE as one string: all REPLACEs were one template,
    and the second one here was given the first one's tables."""
    first, second = (
        parsers.parse(SourceRecord(source_type="sql_trace", text=text, origin=Origin(path="/q.log", line=1),
                                   dialect="mysql", namespace="mysql://db")).events[0]
        for text in ("REPLACE INTO a SELECT * FROM b WHERE x = 1", "REPLACE INTO c SELECT * FROM d WHERE x = 1"))
    assert first.job != second.job
    assert [d.name for d in second.inputs] == ["d"] and [d.name for d in second.outputs] == ["c"]


def test_repeats_answered_by_the_fingerprint_cache_share_one_shape() -> None:
    """Texts the quick key leaves to the tokenizer ($1 placeholders, comments) are answered by
    the fingerprint cache with a copy of the first parse: their events still share one shape,
    which is what lets the graph fold them as a span."""
    found = [parsers.parse(_record(f"/* run {n} */ INSERT INTO mart.t SELECT a FROM raw.s WHERE id = $1", n)).events[0]
             for n in (1, 2)]
    assert found[0].job is found[1].job and found[0].column_edges is found[1].column_edges
    assert found[0].dataset_facets is found[1].dataset_facets and found[0].inputs is found[1].inputs


def test_renames_named_by_literals_are_not_one_template() -> None:
    """EXEC sp_rename names its tables in string literals: two renames are two renames."""
    from parsers import NameContext
    from parsers.sql import TemplateCache, analyze

    cache = TemplateCache()
    texts = ("EXEC sp_rename 'dbo.orders', 'orders_old'", "EXEC sp_rename 'dbo.customers', 'customers_old'")
    renamed = [(change.dataset.name, change.other.name if change.other else None)
               for sql in texts
               for change in analyze(sql, NameContext.of("tsql", database="d"), cache)[0].lifecycle]
    assert renamed == [("d.dbo.orders", "d.dbo.orders_old"), ("d.dbo.customers", "d.dbo.customers_old")]


def test_rewrites_of_long_texts_that_do_not_match_end_at_once() -> None:
    """A string with doubled quotes in OPTIONS, or a long run of spaces, in a text the rewrite
    does not match: the expressions must not try every way of reading it (it took minutes)."""
    import time

    from parsers.sql import commands

    texts = ["INSERT OVERWRITE DIRECTORY USING csv OPTIONS (path 's3://b/o', c '" + "it''s " * 40
             + "', f map('a','b')) SELECT a FROM t",
             "DELETE FROM dbo.orders OUTPUT deleted.id" + " " * 50_000 + "x WHERE a = 1",
             "CREATE TABLE t " + "nologging " * 50_000, "MERGE INTO t USING s ON a " + "DELETE WHERE " * 20_000,
             "ALTER TABLE t UPDATE a = 1" + " " * 40_000 + "WHERE x = 1",
             "ALTER TABLE t DELETE IN PARTITION " + "x " * 20_000]
    started = time.process_time()
    for text in texts:
        commands.rewritten(text)
    assert time.process_time() - started < 5.0, "(milliseconds now; minutes to hours before)"
