"""Cut the structured text into segments: headings, narration and dialogue.

A dialogue segment covers the words inside the quotation marks; the marks themselves
belong to no segment. Every letter and digit of the text ends up in exactly one
segment (skipped front matter included, as ``skip`` segments), so nothing is lost.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

from audiobook.model import Block, Document, Segment, SegmentKind, Structure
from audiobook.text.sentences import sentence_spans
from audiobook.text.strings import trim

_OPEN_PUNCT = '([{<—–-/"“«'
_DOUBLE_OPEN = "“«"
_CURLY_DOUBLE = "“”«»"
_CURLY_RE = re.compile(f"[{_CURLY_DOUBLE}]")
_MARK_RE = re.compile("[\"“”‘’'«»]")
_SINGLE = "‘'"
_SINGLE_CLOSE = "’'"
_STRONG_BEFORE_CLOSE = ",.!?…—–-"
# Words that start with an apostrophe, so a single quote before them opens nothing.
_ELISIONS = {
    "alf",
    "appen",
    "ave",
    "bout",
    "cause",
    "cept",
    "cos",
    "course",
    "coz",
    "cuz",
    "d",
    "eard",
    "ello",
    "em",
    "ere",
    "fore",
    "fraid",
    "gainst",
    "im",
    "kay",
    "ll",
    "m",
    "midst",
    "n",
    "neath",
    "nother",
    "ow",
    "re",
    "round",
    "s",
    "scuse",
    "spose",
    "t",
    "til",
    "till",
    "tis",
    "twas",
    "twere",
    "twill",
    "ve",
    "ye",
}


@dataclass
class _Quote:
    open: int  # the opening mark
    a: int  # first char inside
    b: int  # end of the inside (exclusive)
    close: int | None  # the closing mark, None when the quote runs to the paragraph end


def segment(doc: Document, structure: Structure) -> list[Segment]:
    """The script's segments in text order (``speaker`` still unset)."""
    text = doc.text
    paras = [
        text[b.start : b.end]
        for b in [*structure.front, *(b for ch in structure.chapters for b in ch.blocks)]
        if b.kind == "paragraph"
    ]
    singles = _single_style(paras)
    out: list[Segment] = []
    number = 0
    for b in structure.front:
        _emit_block(out, text, b, 0, number, 0, singles, None, False)
        number += 1
    for ch in structure.chapters:
        scene = 0
        open_prev = False
        for i, b in enumerate(ch.blocks):
            if b.kind == "break":
                scene += 1
            nxt = ch.blocks[i + 1] if i + 1 < len(ch.blocks) else None
            open_prev = _emit_block(out, text, b, ch.index, number, scene, singles, nxt, open_prev)
            number += 1
    out.sort(key=lambda s: s.start)
    return out


def _emit_block(
    out: list[Segment],
    text: str,
    b: Block,
    chapter: int,
    number: int,
    scene: int,
    singles: bool,
    nxt: Block | None,
    open_prev: bool,
) -> bool:
    """Append ``b``'s segments; returns whether it ends inside an open quotation."""

    def add(kind: SegmentKind, a: int, e: int, sieve: str | None = None) -> None:
        for x, y in _pieces(text, *trim(text, a, e)):
            out.append(
                Segment(
                    kind,
                    x,
                    y,
                    text[x:y],
                    chapter,
                    number,
                    scene,
                    sieve=sieve,
                    continued=sieve == "continued",
                )
            )

    if b.kind == "heading":
        a, e = _heading_span(text, b.start, b.end)
        add("heading", a, e)
        return False
    if b.kind in ("front", "skip") or (b.kind == "break" and _has_alnum(text, b.start, b.end)):
        add("skip", b.start, b.end)
        return False
    if b.kind != "paragraph":
        return False
    s = text[b.start : b.end]
    next_opens = (
        nxt is not None
        and nxt.kind == "paragraph"
        and _starts_with_opener(text[nxt.start : nxt.end], singles)
    )
    quotes, open_end = _quotes(s, singles=singles, next_opens=next_opens)
    # A paragraph that reopens a quotation left open by the previous one continues it.
    lead = len(s) - len(s.lstrip())
    continued = open_prev and bool(quotes) and quotes[0].open == lead
    pos = 0
    for k, q in enumerate(quotes):
        if _has_alnum(s, pos, q.open):
            add("narration", b.start + pos, b.start + q.open)
        if _has_alnum(s, q.a, q.b):
            add(
                "dialogue",
                b.start + q.a,
                b.start + q.b,
                "continued" if continued and k == 0 else None,
            )
        pos = q.close + 1 if q.close is not None else q.b
    if _has_alnum(s, pos, len(s)):
        add("narration", b.start + pos, b.start + len(s))
    return open_end


# The most one segment may hold. Text without sentence punctuation (a run-on, a list,
# a scrape) would otherwise be one request to the voice of any length: its memory and
# time grow with it, and one failure loses all of it.
MAX_SEGMENT_CHARS = 4000
_CLAUSE_END = re.compile(r"[,;:\u2014\u2013)\]]\s+|\s[-\u2013\u2014]+\s")
_SPACE = re.compile(r"\s+")


def _pieces(text: str, a: int, e: int) -> list[tuple[int, int]]:
    """``[a, e)`` as spans of at most MAX_SEGMENT_CHARS, cut after the last sentence
    in reach, else after the last clause mark, else at the last space, else (one
    enormous word) anywhere; the spaces at a cut belong to neither piece, so the
    pieces still tile the text."""
    out: list[tuple[int, int]] = []
    while e - a > MAX_SEGMENT_CHARS:
        limit = a + MAX_SEGMENT_CHARS
        floor = a + MAX_SEGMENT_CHARS // 2  # never a tiny piece when a clause ends early
        cut = (
            _last_sentence_end(text, floor, limit)
            or _last_match(_CLAUSE_END, text, floor, limit)
            or _last_match(_SPACE, text, floor, limit)
        )
        end, start = cut if cut else (limit, limit)
        out.append(trim(text, a, end))
        a = trim(text, start, e)[0]
    if a < e:
        out.append((a, e))
    return [(x, y) for x, y in out if x < y]


def _last_sentence_end(text: str, lo: int, hi: int) -> tuple[int, int] | None:
    """(where the piece ends, where the next begins) at the last sentence end in [lo, hi)."""
    spans = sentence_spans(text, lo, hi)
    return (spans[-2][1], spans[-1][0]) if len(spans) > 1 else None


def _last_match(pattern: re.Pattern[str], text: str, lo: int, hi: int) -> tuple[int, int] | None:
    """(where the piece ends, where the next begins) at the last match in [lo, hi)."""
    last = None
    for m in pattern.finditer(text, lo, hi):
        last = m
    if last is None:
        return None
    mark = last.group()
    kept = len(mark) - len(mark.lstrip(",;:\u2014\u2013)]"))  # the mark ends its clause
    return last.start() + kept, last.end()


def _has_alnum(s: str, a: int, b: int) -> bool:
    return any(c.isalnum() for c in s[a:b])


def _heading_span(text: str, a: int, b: int) -> tuple[int, int]:
    """The heading's words: no ``#`` marks, no Setext underline."""
    while True:
        nl = text.rfind("\n", a, b)
        if nl == -1 or _has_alnum(text, nl, b):
            break
        b = nl
    a, b = trim(text, a, b)
    while a < b and text[a] == "#":
        a += 1
    e = b
    while e > a and text[e - 1] == "#":
        e -= 1
    if e < b and (e == a or text[e - 1].isspace()):
        b = e  # closing "##" of an ATX heading, not "C#"
    return trim(text, a, b)


# --- quotation marks --------------------------------------------------------------------


def _single_style(paragraphs: list[str]) -> bool:
    """Does the text use single quotes for dialogue (‘...’ / '...', British style)?"""
    singles = doubles = 0
    for s in paragraphs:
        qs, _ = _quotes(s, singles=True, doubles=False)
        singles += sum(q.close is not None for q in qs)
        doubles += len(_quotes(s, singles=False)[0])
    return singles > 0 and singles > 2 * doubles


def _word_after(s: str, i: int) -> str:
    j = i
    while j < len(s) and s[j].isalpha():
        j += 1
    return s[i:j].casefold()


def _single_opener(s: str, i: int) -> bool:
    """A ‘ or ' that opens speech, not an apostrophe ('em, 'tis, rock 'n' roll, '90s)."""
    if i > 0 and not (s[i - 1].isspace() or s[i - 1] in _OPEN_PUNCT):
        return False
    if i + 1 >= len(s) or s[i + 1].isspace() or s[i + 1].isdigit():
        return False
    if s[i + 1] in "’'":  # ‘’Tis: speech opening on an elided word
        return i + 2 < len(s) and s[i + 2].isalpha()
    return _word_after(s, i + 1) not in _ELISIONS


def _may_close(s: str, i: int) -> bool:
    return i > 0 and not s[i - 1].isspace() and (i + 1 >= len(s) or not s[i + 1].isalnum())


def _opens_here(s: str, i: int) -> bool:
    before = i == 0 or s[i - 1].isspace() or s[i - 1] in _OPEN_PUNCT
    return before and i + 1 < len(s) and not s[i + 1].isspace()


def _starts_with_opener(s: str, singles: bool) -> bool:
    i = len(s) - len(s.lstrip())
    if i >= len(s):
        return False
    c = s[i]
    if c in '"“«':
        return True
    if c == "”":
        return _opens_here(s, i)
    return singles and c in _SINGLE and _single_opener(s, i)


def _quotes(
    s: str, *, singles: bool, doubles: bool = True, next_opens: bool = False
) -> tuple[list[_Quote], bool]:
    """The quotations of one paragraph, and whether the last one is left open.

    Double quotes nest single ones (and the reverse in single-quote texts). In a
    paragraph with curly quotes a straight ``"`` counts only when it pairs with
    another one, so OCR noise cannot flip what is speech.
    """
    n = len(s)
    curly = _CURLY_RE.search(s) is not None
    # Where a single quote could close, for look-ahead without rescanning.
    marks = [m.start() for m in _MARK_RE.finditer(s)]  # only quote marks change the state
    closers = [k for k in marks if s[k] in _SINGLE_CLOSE and _may_close(s, k)] if singles else []
    strong = [k for k in closers if s[k - 1] in _STRONG_BEFORE_CLOSE]

    def later(points: list[int], j: int) -> bool:
        return bisect_left(points, j) < len(points)

    def single_closes(i: int) -> bool:
        if not _may_close(s, i):
            return False
        j = i + 1
        while j < n and s[j].isspace():
            j += 1
        if s[i - 1].isalpha() and j > i + 1 and j < n and s[j].islower():
            # "goin’ home", "the Joneses’ dog": an apostrophe if a surer close follows.
            return not later(strong, i + 1)
        return True

    out: list[_Quote] = []
    state: tuple[str, int, str] | None = None  # (kind, open position, mark)
    for i in marks:
        c = s[i]
        if state is None:
            if doubles and _double_opens(s, i, curly):
                state = ("d", i, c)
            elif (
                singles
                and c in _SINGLE
                and _single_opener(s, i)
                and (later(closers, i + 1) or next_opens)
            ):
                state = ("s", i, c)
        elif state[0] == "d":
            mark = state[2]
            if _closes_double(mark, c):
                out.append(_Quote(state[1], state[1] + 1, i, i))
                state = None
            elif c in _DOUBLE_OPEN and mark in _DOUBLE_OPEN:
                # A new “ before the last one closed: the close was lost; start over.
                out.append(_Quote(state[1], state[1] + 1, i, None))
                state = ("d", i, c)
        elif c in _SINGLE_CLOSE and single_closes(i):
            out.append(_Quote(state[1], state[1] + 1, i, i))
            state = None
    if state is not None:
        out.append(_Quote(state[1], state[1] + 1, n, None))
        return out, True
    return out, False


def _double_opens(s: str, i: int, curly: bool) -> bool:
    c = s[i]
    if c in _DOUBLE_OPEN:
        return True
    if c == "”":
        return _opens_here(s, i)  # some texts open with ” too
    return c == '"' and not _inch_mark(s, i) and (not curly or _straight_pair(s, i))


def _closes_double(mark: str, c: str) -> bool:
    if mark == '"':
        return c in '"”'
    if mark == "“":
        return c == "”"
    if mark == "«":
        return c == "»"
    return c in "”“"  # ” used as an opening mark


def _inch_mark(s: str, i: int) -> bool:
    """6'2" tall: a straight quote right after a digit is a unit, not speech."""
    return i > 0 and s[i - 1].isdigit() and (i + 1 >= len(s) or not s[i + 1].isalnum())


def _straight_pair(s: str, i: int) -> bool:
    j = s.find('"', i + 1)
    return j != -1 and not any(c in _CURLY_DOUBLE for c in s[i + 1 : j])
