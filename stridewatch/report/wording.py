"""Counted nouns in the words people read ("1 walk", "3 walks"): the one place for plurals,
used by the report's and the web app's templates (filter ``count_of``) and by Python text."""

from __future__ import annotations


def count_of(n: int, word: str, plural: str | None = None) -> str:
    """``n`` and the noun in the right number: ``count_of(1, "walk")`` is "1 walk"."""
    return f"{n} {word if n == 1 else (plural or word + 's')}"
