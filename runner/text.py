"""Small wording helpers shared by everything that prints counts."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``1 model``, ``3 models``, ``1,234 rows``: the count and the noun in agreement."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"
