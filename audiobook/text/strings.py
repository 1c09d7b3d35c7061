"""Small helpers on a story's text that several stages need the same way."""

from __future__ import annotations

import re
import unicodedata

_WORDS = re.compile(r"[^\W_]+")  # letters and digits: "_Tide_" is "Tide"


def trim(text: str, a: int, b: int) -> tuple[int, int]:
    """Shrink ``[a, b)`` to its first..last non-space character (empty stays empty).
    Offsets, not a new string: the script points back into the story."""
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def folded_words(text: str) -> str:
    """The words of ``text``, case and width folded, one space apart: what two
    printings of one title share ("CHAPTER 1." and "Chapter 1", "# The *Tide*")."""
    return " ".join(_WORDS.findall(unicodedata.normalize("NFKC", text).casefold()))
