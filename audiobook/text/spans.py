"""Offsets into a text, kept as (start, end) pairs so the script can point back into
the story after every rewrite."""

from __future__ import annotations


def trim(text: str, a: int, b: int) -> tuple[int, int]:
    """Shrink ``[a, b)`` to its first..last non-space character (empty stays empty)."""
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b
