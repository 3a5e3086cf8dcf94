"""Real errors of the crawler: bad configuration, missing inputs. Bad *content* is a ParseIssue."""

from __future__ import annotations


class CrawlerError(Exception):
    """Root of the errors this package raises; the CLI prints them as one line."""


class ConfigError(CrawlerError):
    """A crawl configuration or option that cannot work."""


class SourceNotFoundError(CrawlerError):
    """A path given to crawl that does not exist or matches nothing."""
