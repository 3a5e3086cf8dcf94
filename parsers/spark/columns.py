"""Column lineage from a formatted physical plan: attributes (``name#id``) flow from the scans
that output them, through the expressions that define new ones (``upper(name#17) AS n#23``,
``sum(amount#3)#25 AS total#26``), to the write's input, column by column.

Only direct flows (a value computed from another); what filters, joins and groupings read is
left at table level. Where a plan does not show the flow (no ``WriteFiles`` input, columns
counted differently), no column edge is guessed.

>>> plan = '''(1) Scan parquet spark_catalog.db.t1
... Output [2]: [id#16L, name#17]
... Location: InMemoryFileIndex [file:/wh/db.db/t1]
...
... (3) Project [codegen id : 1]
... Output [2]: [id#16L, upper(name#17) AS n#23]
...
... (4) WriteFiles
... Input [2]: [id#16L, n#23]
... '''
>>> [(scan.table, columns) for scan, columns in scan_columns(plan)]
[('spark_catalog.db.t1', {'16': 'id', '17': 'name'})]
>>> definitions(plan)
{'23': {'17'}}
>>> write_input(plan)
['16', '23']
"""

from __future__ import annotations

import re

from parsers.spark import plans

_DEFINED = re.compile(r" AS [`\w]+#(\d+)L?")
_ATTRIBUTE_ID = re.compile(r"\b[A-Za-z_][\w]*#(\d+)L?")
_OPENERS, _CLOSERS = "([{", ")]}"


def scan_columns(description: str) -> list[tuple[plans.Scan, dict[str, str]]]:
    """Each scan section's read, with the attributes it outputs: {attribute id: column}."""
    found = []
    for section in plans.sections(description):
        if not section.name.startswith(("Scan ", "BatchScan")):
            continue
        output = section.fields.get("Output", "")
        scan = plans.scan_of(section.name, f"{output}", section.fields)
        if scan is not None:
            found.append((scan, {match[1]: match[0].split("#")[0] for match in _ATTRIBUTE_ID.finditer(output)}))
    return found


def definitions(description: str) -> dict[str, set[str]]:
    """Attributes defined by expressions, with the attributes each expression reads."""
    defined: dict[str, set[str]] = {}
    for match in _DEFINED.finditer(description):
        expression = description[_expression_start(description, match.start()):match.start()]
        sources = set(_ATTRIBUTE_ID.findall(expression)) - {match[1]}
        defined.setdefault(match[1], set()).update(sources)
    return defined


def _expression_start(text: str, end: int) -> int:
    """Where the expression ending at ``end`` begins: after the bracket or comma that opens it."""
    depth = 0
    for index in range(end - 1, max(end - 5000, 0) - 1, -1):
        char = text[index]
        if char in _CLOSERS:
            depth += 1
        elif char in _OPENERS:
            if depth == 0:
                return index + 1
            depth -= 1
        elif (char == "," and depth == 0) or char == "\n":
            return index + 1
    return max(end - 5000, 0)


def write_input(description: str) -> list[str]:
    """The attributes a file write takes, in order (its ``WriteFiles`` section's input)."""
    for section in plans.sections(description):
        if section.name == "WriteFiles":
            return _ATTRIBUTE_ID.findall(section.fields.get("Input", ""))
    return []


def origins(attribute: str, defined: dict[str, set[str]], limit: int = 10_000) -> set[str]:
    """The attributes ``attribute`` is computed from that no expression defines (scans' outputs)."""
    found: set[str] = set()
    seen: set[str] = set()
    stack = [attribute]
    while stack and len(seen) < limit:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        sources = defined.get(current)
        if sources is None:
            found.add(current)
        else:
            stack.extend(sources)
    return found
