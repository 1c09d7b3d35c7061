"""What the TTS engine is given to say for a segment.

Only light clean-up lives here: unwrapping lines, dropping Markdown marks, and making
headings sound like headings ("CHAPTER IV." is read "Chapter 4.").
"""

from __future__ import annotations

import re

from audiobook.model import Segment

_SPACES = re.compile(r"\s+")
_STARS = re.compile(r"\*+")
# "_" marks emphasis at a word edge; inside a word (snake_case) it stays.
_UNDERSCORES = re.compile(r"(?<![^\W_])_+|_+(?![^\W_])")
_DASHES = re.compile(r"(?<!-)-{2,3}(?!-)")
_DOUBLE_QUOTES = re.compile(r"[\"“”«»„]")
_HASHES = re.compile(r"^[ \t]*#+[ \t]*", re.MULTILINE)
_ABBREV_RE = re.compile(r"\b(ch|vol)\.[ \t]*(?=[0-9ivxlcdm])", re.IGNORECASE)
_ROMAN_RE = re.compile(
    r"\b(chapter|part|book|volume|act)(\s+)"
    r"(?=[mdclxvi]+\b)(m{0,4}(?:cm|cd|d?c{0,3})(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3}))\b",
    re.IGNORECASE,
)
_CAPS_KEYWORD_RE = re.compile(r"\b(CHAPTER|PART|BOOK|VOLUME|ACT|PROLOGUE|EPILOGUE)\b")
_ABBREV = {"ch": "Chapter ", "vol": "Volume "}
_ROMAN_VALUES = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100, "d": 500, "m": 1000}
_PAUSE_END = (".", "!", "?", "…", ":", ";")


def spoken_text(segment: Segment) -> str:
    """The words to speak for ``segment``; "" when nothing speakable is left."""
    if segment.kind == "skip":
        return ""
    s = segment.text
    if segment.kind == "heading":
        s = _HASHES.sub("", s)
        s = "\n".join(ln for ln in s.splitlines() if any(c.isalnum() for c in ln))
        s = _ABBREV_RE.sub(lambda m: _ABBREV[m.group(1).lower()], s)
        s = _ROMAN_RE.sub(_heading_number, s)
        s = _CAPS_KEYWORD_RE.sub(lambda m: m.group(1).capitalize(), s)
    s = _DASHES.sub("—", s)
    s = _STARS.sub("", s)
    s = _UNDERSCORES.sub("", s)
    s = _DOUBLE_QUOTES.sub("", s)
    s = _SPACES.sub(" ", s).strip()
    if not any(c.isalnum() for c in s):
        return ""
    if segment.kind == "heading" and not s.endswith(_PAUSE_END):
        s += "."  # so the engine pauses after the title
    return s


def _heading_number(m: re.Match[str]) -> str:
    kw = m.group(1)
    kw = kw.capitalize() if kw.isupper() else kw
    return f"{kw}{m.group(2)}{_roman_to_int(m.group(3))}"


def _roman_to_int(s: str) -> int:
    values = [_ROMAN_VALUES[c] for c in s.lower()]
    total = 0
    for i, v in enumerate(values):
        total += -v if i + 1 < len(values) and values[i + 1] > v else v
    return total
