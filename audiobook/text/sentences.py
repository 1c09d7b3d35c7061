"""Where sentences end: one rule for every stage that asks.

A sentence ends at ``.``, ``!``, ``?`` or ``…`` and whatever closes with it (quotes,
brackets, markdown emphasis), before white space; not after a title ("Mr. Darcy"),
where the period only abbreviates. Hand-written on purpose: nltk's Punkt, trained on
the story as the splitter would have to be, took 2.7 s on Pride and Prejudice against
a few hundredths for this (see ``benchmarks/sentences.py``), and our texts already
mark their abbreviations with the titles table.
"""

from __future__ import annotations

import re

from .strings import trim
from .titles import ABBREVIATED

_ENDERS = ".!?…"
# What may close around a sentence's end: quotes, brackets, markdown emphasis, a "~".
CLOSERS = "\"”’'»)]*_~"
# What may open a sentence before its first letter.
OPENERS = "\"“‘'«(["
_CLOSE = f"[{re.escape(CLOSERS)}]*"

# A sentence's end inside a text: its marks, then a space.
_END = re.compile(rf"[{_ENDERS}]+{_CLOSE}(?=\s)")
# Clauses also end at ";", and "?--" or ".—" ends one as a space would.
_CLAUSE_END = re.compile(rf"[{_ENDERS};]+{_CLOSE}(?=\s|--|—)")
_DASH = re.compile(r"--|—")


def sentence_spans(
    text: str, start: int = 0, end: int | None = None, *, clauses: bool = False
) -> list[tuple[int, int]]:
    """The sentences of ``text[start:end]`` as (start, end) offsets into ``text``, white
    space between them left out; text without a sentence end is one sentence.
    ``clauses``: cut at semicolons too, for finding who a clause is about ("he put it
    down; and, leaning back, muttered")."""
    end = len(text) if end is None else end
    out: list[tuple[int, int]] = []
    a = start
    for m in (_CLAUSE_END if clauses else _END).finditer(text, start, end):
        if _after_title(text, m.start(), a):
            continue
        out.append((a, m.end()))
        dash = _DASH.match(text, m.end(), end) if clauses else None
        a = dash.end() if dash else m.end()
    out.append((a, end))
    return [(x, y) for x, y in (trim(text, x, y) for x, y in out) if x < y]


def clause_texts(text: str) -> list[str]:
    """The clauses of ``text`` (sentences, cut at semicolons too) as strings: where a
    tag's subject or a beat's last actor is looked for."""
    return [text[a:b] for a, b in sentence_spans(text, clauses=True)]


def _after_title(text: str, dot: int, floor: int) -> bool:
    """Is the period at ``dot`` a title's ("Mr.", "Lt.") or an initial's ("J. R. Smith")?"""
    if text[dot] != ".":
        return False
    j = dot
    while j > floor and text[j - 1].isalpha():
        j -= 1
    word = text[j:dot]
    if not word or (j > floor and text[j - 1].isalnum()):
        return False
    return word.lower() in ABBREVIATED or (len(word) == 1 and word.isupper())


# A line that ends a sentence; a dash cut off by a closing quote counts.
_LINE_END = re.compile(rf"(?:[{_ENDERS}]{_CLOSE}|[—–-][\"”’'»]+)\s*$")


def ends_sentence(line: str) -> bool:
    """Does this line end a sentence (a dash cut off by a closing quote counts)?"""
    return _LINE_END.search(line) is not None


# Just before a sentence's first word.
_START_BEFORE = re.compile(rf"[{_ENDERS}]{_CLOSE}\s+$")


def sentence_starts_at(text: str, i: int) -> bool:
    """Does a sentence start at ``text[i]`` (only space before it, or a sentence end)?"""
    before = text[:i]
    return not before.strip() or _START_BEFORE.search(before) is not None


# Just after a sentence's last mark, when another sentence follows.
_NEXT_OPENS = re.compile(rf"\s+[{re.escape(OPENERS)}]?[A-Z]")
_ONLY_CLOSERS = re.compile(rf"[\s{re.escape(CLOSERS)}]*")


def sentence_ends_at(text: str, i: int) -> bool:
    """May a sentence end at ``i`` (after "etc.", say): only closing marks follow, or a
    new sentence opens with a capital."""
    return _ONLY_CLOSERS.fullmatch(text, i) is not None or _NEXT_OPENS.match(text, i) is not None
