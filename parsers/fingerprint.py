"""Stable short digests used as identities and cache keys."""

from __future__ import annotations

import hashlib


def digest(text: str, size: int = 8) -> str:
    """Hex digest of ``text``, ``size`` bytes long.

    >>> digest("select 1")
    'f75f3a553799629e'
    """
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=size).hexdigest()
