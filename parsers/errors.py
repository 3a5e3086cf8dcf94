"""Real errors of the parsers package: misuse, not bad input (bad input is a ParseIssue)."""

from __future__ import annotations


class ParsersError(Exception):
    """Root of the errors this package raises."""


class SchemaVersionError(ParsersError):
    """A serialized record was written by an incompatible schema version."""


class UnknownDialectError(ParsersError):
    """The dialect name is not one sqlglot knows."""


class UnknownSourceTypeError(ParsersError):
    """No parser is registered for a record's source type."""


class RuleError(ParsersError):
    """A job-log extraction rule that cannot work: a bad regex, no dataset group, no direction."""
