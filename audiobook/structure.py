"""Chapters, paragraphs, scene breaks and front matter of a ``Document``.

Plain-text stories come in many shapes (hard-wrapped at ~70 columns, one line per
paragraph, Markdown, AO3 exports), so the rules here are heuristics. When unsure, text
stays a story paragraph: reading a stray note aloud is better than skipping story.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise
from pathlib import Path

from audiobook.matter import (
    Byline,
    byline,
    end_kind,
    has_dialogue,
    is_authorial,
    is_closing,
    is_signoff,
)
from audiobook.model import Block, BlockKind, BookMeta, Chapter, Document, Structure
from audiobook.text.sentences import ends_sentence
from audiobook.text.strings import folded_words, trim

# --- headings ---------------------------------------------------------------------------

_NUM_WORDS = (
    "zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    "fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|"
    "eighty|ninety|hundred|thousand|first|second|third|fourth|fifth|sixth|seventh|eighth|"
    "ninth|tenth|last|final"
)
_ROMAN = r"(?=[mdclxvi]+\b)m{0,4}(?:cm|cd|d?c{0,3})(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})"
_NUM = rf"(?:\d+[a-z]?|{_ROMAN}|(?:{_NUM_WORDS})(?:[ \t\-]+(?:and[ \t\-]+)?(?:{_NUM_WORDS}))*)"
_KEYWORD_RE = re.compile(
    rf"(?P<kw>(?:chapter|part|book|volume|act)[ \t]+|(?:ch|vol)\.[ \t]*)(?P<num>{_NUM})\b"
    r"(?P<rest>.*)",
    re.IGNORECASE,
)
_SPECIAL_RE = re.compile(
    r"(?P<kw>prologue|epilogue|interlude|afterword|foreword|preface|introduction|intermission"
    r"|coda)\b(?P<rest>.*)",
    re.IGNORECASE,
)
_BARE_REST = re.compile(r"[ \t]*[.:]?[ \t]*")
_NUM_REST = re.compile(rf"[ \t]+{_NUM}\b[ \t]*[.:]?[ \t]*", re.IGNORECASE)
_SEP_REST = re.compile(r"[ \t]*[:.,|~\-–—]+[ \t]*\S.*")
_SPACE_REST = re.compile(r"[ \t]+\S.*")
_MD_HEADING_RE = re.compile(r" {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*")
_SETEXT_RE = re.compile(r"[ \t]*(=+|-+)[ \t]*")
_PART_LEVEL = {"part", "book", "volume", "vol.", "act"}

# --- scene breaks, quotes, paragraphs ----------------------------------------------------

_SPACE_RUN = re.compile(r"\s+")
_QUOTE_CHARS = "\"“”‘’'«»„"
_BREAK_LETTERS = set("oO0xX")
# "~Scene Break~", "-line break-", "[time skip]": the author naming the break.
_BREAK_WORDS_RE = re.compile(
    r"(?:scene|line|page|section|pov|time)[ \t]*(?:break|change|switch|skip)", re.IGNORECASE
)
_BREAK_DECOR = " \t*~_=+-–—#.:|()[]{}<>/\\•·°^"
_OPENING_QUOTES = "\"“‘'«„"
_MD_LIST_RE = re.compile(r"\s*(?:[-*+]|\d+[.)])\s")
# "by Ann Example" / "by moonlit_writer" / "by J. R. Smith": a few words, no sentence.
_BY_LINE_RE = re.compile(r"\s*by[ \t]+([^\s,;!?]+(?:[ \t]+[^\s,;!?]+){0,4})[ \t]*", re.IGNORECASE)

# --- front matter ------------------------------------------------------------------------

# (pattern, label, strong, anywhere). A strong label may be followed by text on the same
# line ("A/N thanks for reading"); a weak one needs a colon or to stand alone on its line,
# so story sentences starting "Summary of..." or "Notes were..." stay story. Only
# author's notes count as front matter in the middle of a chapter.
_LABELS: list[tuple[str, str, bool, bool]] = [
    (r"a\s*/\s*n", "notes", True, True),
    (r"author['’]?s?['’]?\s+notes?", "notes", True, True),
    (r"see\s+the\s+end\s+of\s+the\s+chapter", "notes", True, False),
    (r"posted\s+originally\s+on\s+the\s+archive", "header", True, False),
    (r"disclaimers?", "disclaimer", True, False),
    (r"acknowledge?ments?", "acknowledgments", True, False),
    (r"(?:chapter\s+)?(?:end\s+|beginning\s+)?notes?", "notes", False, False),
    (r"summary", "summary", False, False),
    (r"ratings?", "rating", False, False),
    (r"(?:archive\s+)?warnings?", "warnings", False, False),
    (r"pairings?|relationships?", "pairing", False, False),
    (r"title", "title", False, False),
    (r"authors?|written\s+by", "author", False, False),
    (r"word\s*count", "word count", False, False),
    (r"fandoms?", "fandom", False, False),
    (r"characters?", "characters", False, False),
    (r"(?:additional\s+)?tags", "tags", False, False),
    (r"categor(?:y|ies)", "category", False, False),
    (r"language", "language", False, False),
    (r"series", "series", False, False),
    (r"stats|published|updated|completed", "stats", False, False),
]
_LABEL_PREFIX = r"[\s*_\[(<{]*"
_LABEL_RES = [
    (
        re.compile(
            _LABEL_PREFIX
            + rf"(?:{pat})"
            + (r"(?=[\s:\-–—.)\]*_]|$)" if strong else r"[*_\])>]*[ \t]*(?::|$)"),
            re.IGNORECASE | re.MULTILINE,
        ),
        label,
        anywhere,
    )
    for pat, label, strong, anywhere in _LABELS
]
_AN_RE = re.compile(_LABEL_PREFIX + r"AN[ \t]*[:\-–—]")  # case-sensitive: "An" is a word
_LABEL_TAIL = re.compile(r"[\s:\-–—.*_)\]>}]*")
_END_NOTE_LABELS = {"notes", "disclaimer", "acknowledgments"}
# Key/value lines nobody wants read aloud, even with read_front_matter.
_METADATA_LABELS = {
    "rating",
    "warnings",
    "pairing",
    "title",
    "author",
    "word count",
    "fandom",
    "characters",
    "tags",
    "category",
    "language",
    "series",
    "stats",
    "header",
    "link",  # navigation and archive boilerplate at a story's end
    "footer",
}


@dataclass
class _Line:
    start: int
    text: str  # without the newline

    @property
    def blank(self) -> bool:
        return not self.text.strip()

    @property
    def width(self) -> int:
        return len(self.text.rstrip().expandtabs(4))

    @property
    def indent(self) -> int:
        t = self.text.expandtabs(4)
        return len(t) - len(t.lstrip())


@dataclass
class _Unit:
    """A block in the making, with what the later passes need to know about it."""

    kind: BlockKind
    start: int
    end: int
    label: str | None = None
    level: int = 0
    title: str = ""
    source: str = ""  # headings: "md", "keyword", "hint"
    value: list[str] = field(default_factory=list)  # front matter text for meta fills
    fields: dict[str, str] = field(default_factory=dict)  # a byline's author, title, fandom


@dataclass
class _Label:
    label: str
    only: bool  # the paragraph holds the label and nothing else ("Summary:")
    anywhere: bool  # an author's note: front matter wherever it appears
    value: str


def build(doc: Document, *, read_front_matter: bool = False) -> Structure:
    """Split ``doc`` into chapters of blocks and collect its front matter."""
    text = doc.text
    hint_units, gaps = _hint_units(doc)
    use_text_headings = not any(u.kind == "heading" for u in hint_units)
    gap_lines = [_split_lines(text, a, b) for a, b in gaps]
    per_line, width = _layout(gap_lines)
    first = _first_line_start(text)
    units = list(hint_units)
    for lines in gap_lines:
        units.extend(_line_units(lines, per_line, width, doc.format, use_text_headings, first))
    units.sort(key=lambda u: (u.start, u.end))
    if doc.format == "text":  # Markdown says blank lines mean nothing more than one
        units = _with_blank_breaks(units, gap_lines, text)

    _mark_toc(units)
    book_title = _book_title(units, text)
    pre, groups = _group(units)
    _mark_pre(pre, text, doc.meta.title, headings_follow=bool(groups))
    opening_from = next((i for i, u in enumerate(pre) if u.kind == "paragraph"), len(pre))
    opening_from = _leading_notes(pre, text, opening_from)
    pre_labels = [_label(_unit_text(text, u)) if u.kind != "heading" else None for u in pre]
    _mark_end(pre, text, opening_from, pre_labels)
    for g in groups:
        _mark_chapter(g, text)
    groups = _without_empty_chapters(pre, groups)

    meta = replace(doc.meta)
    if meta.title is None and book_title:
        meta.title = book_title
    _fill_meta(meta, units)
    meta.description = _describe(meta)
    known_title = meta.title
    if meta.title is None:
        meta.title = _prettify(doc.path) or _first_title(units, text)

    if read_front_matter:
        for u in units:
            if u.kind == "front" and u.label not in _METADATA_LABELS:
                u.kind = "paragraph"

    # Leading non-story text goes to ``front``; text before the first heading that
    # holds story becomes a chapter of its own.
    k = next((i for i, u in enumerate(pre) if u.kind == "paragraph"), len(pre))
    front, opening = pre[:k], pre[k:]
    chapters: list[Chapter] = []
    if opening or not groups:
        title = meta.title if not groups else (known_title or "Opening")
        chapters.append(Chapter(0, title, 0, 0, [_block(u) for u in opening]))
    for g in groups:
        heads = []
        for u in g:
            if u.kind != "heading":
                break
            heads.append(u.title)
        title = " — ".join(t for t in heads if t) or "Untitled"
        chapters.append(Chapter(len(chapters), title, 0, 0, [_block(u) for u in g]))

    front_blocks = [_block(u) for u in front]
    front_end = front_blocks[-1].end if front_blocks else 0
    for ch in chapters:
        ch.start = ch.blocks[0].start if ch.blocks else front_end
    for i, ch in enumerate(chapters):
        ch.end = chapters[i + 1].start if i + 1 < len(chapters) else len(text)
    return Structure(chapters=chapters, meta=meta, front=front_blocks)


def _block(u: _Unit) -> Block:
    return Block(u.kind, u.start, u.end, u.label)


# --- hints and lines ---------------------------------------------------------------------


def _hint_units(doc: Document) -> tuple[list[_Unit], list[tuple[int, int]]]:
    """Loader hints become units; the text between them is left for line parsing."""
    text, n = doc.text, len(doc.text)
    units: list[_Unit] = []
    cuts: list[tuple[int, int]] = []
    last = 0
    for h in sorted(doc.hints, key=lambda h: (h.start, -h.end)):
        a, b = max(0, min(h.start, n)), max(0, min(h.end, n))
        if a < last or b < a:
            continue  # overlaps an earlier hint: the first one wins
        a, b = trim(text, a, b)
        if a == b and not (h.kind == "heading" and h.label):
            continue
        if h.kind == "heading":
            title = _clean_title(text[a:b]) or _clean_title(h.label or "")
            level = min(max(h.level, 1), 3)
            units.append(_Unit("heading", a, b, level=level, title=title, source="hint"))
        else:
            units.append(_Unit(h.kind, a, b, label=h.label))
        cuts.append((a, b))
        last = b
    gaps: list[tuple[int, int]] = []
    pos = 0
    for a, b in cuts:
        gaps.append((pos, a))
        pos = b
    gaps.append((pos, n))
    return units, [(a, b) for a, b in gaps if a < b]


def _split_lines(text: str, a: int, b: int) -> list[_Line]:
    lines = []
    pos = a
    while pos <= b:
        nl = text.find("\n", pos, b)
        end = b if nl == -1 else nl
        lines.append(_Line(pos, text[pos:end]))
        pos = end + 1
    return lines


def _first_line_start(text: str) -> int:
    a, _ = trim(text, 0, len(text))
    return text.rfind("\n", 0, a) + 1


def _heading_form(line: str) -> tuple[str, int] | None:
    """("strict" | "loose", level) when the line reads like a chapter heading.

    Strict forms ("Chapter 3", "Part Two: Sacrifice") may be followed directly by text;
    loose ones ("Chapter 5 The Storm") must stand alone between blank lines.
    """
    s = line.strip()
    if not s or len(s) >= 80:
        return None
    m = _KEYWORD_RE.fullmatch(s)
    special = m is None
    if m is None:
        m = _SPECIAL_RE.fullmatch(s)
    if m is None:
        return None
    kw = m.group("kw").strip().lower()
    level = 1 if kw in _PART_LEVEL else 2
    rest = m.group("rest")
    if _BARE_REST.fullmatch(rest) or (special and _NUM_REST.fullmatch(rest)):
        return "strict", level
    if s.endswith(".") and not s.endswith(".."):
        return None  # reads like a sentence
    if _SEP_REST.fullmatch(rest):
        return "strict", level
    title = rest.strip()
    if _SPACE_REST.fullmatch(rest) and (title[:1].isupper() or title[:1] in "([0123456789"):
        return "loose", level
    return None


def _md_heading(line: str) -> tuple[int, str] | None:
    m = _MD_HEADING_RE.fullmatch(line)
    if m is None or not any(c.isalnum() for c in m.group(2)):
        return None
    return len(m.group(1)), m.group(2)


def _is_break(line: str) -> bool:
    s = line.strip()
    if not s or len(s) > 80:
        return False
    chars = set(s)  # every line is asked: set operations keep this off the profile
    if not chars.isdisjoint(_QUOTE_CHARS):
        return False
    letters = {c for c in chars if c.isalnum()}
    if not letters:
        return True
    if _BREAK_WORDS_RE.fullmatch(s.strip(_BREAK_DECOR)):
        return True
    # "oOo", "o0o", "-x-x-", "xxx": decorations made of o/0/x only (a lone "x" is a kiss).
    if not letters <= _BREAK_LETTERS or len(s) < 3:
        return False
    return sum(c.isalnum() for c in s) <= 12


def _clean_title(s: str) -> str:
    s = s.strip().strip("#").strip()
    s = _SPACE_RUN.sub(" ", s).strip(" *_")
    if s.endswith(".") and not s.endswith(".."):
        s = s[:-1].rstrip()
    return s


def _is_textish(line: _Line) -> bool:
    """Could be a paragraph line (used before context is known, for the layout stats)."""
    if line.blank or _is_break(line.text) or _md_heading(line.text):
        return False
    return _heading_form(line.text) is None


def _layout(gap_lines: Sequence[list[_Line]]) -> tuple[bool, int]:
    """(one line per paragraph?, wrap width) for the whole document.

    Only lines directly followed by another text line matter: they are the ones that
    are either hard wraps or whole one-line paragraphs.
    """
    inner: list[int] = []
    for lines in gap_lines:
        ok = [_is_textish(ln) for ln in lines]
        inner.extend(ln.width for i, ln in enumerate(lines[:-1]) if ok[i] and ok[i + 1])
    if not inner:
        return False, 60
    inner.sort()
    p90 = inner[int(0.9 * (len(inner) - 1))]
    long_frac = sum(w > 95 for w in inner) / len(inner)
    clustered = sum(w >= p90 - 15 for w in inner) / len(inner)
    per_line = long_frac >= 0.15 and not (p90 <= 130 and clustered >= 0.6)
    width = p90 if len(inner) >= 5 else max(p90, 60)
    return per_line, width


def _blank_runs(lines: list[_Line]) -> list[tuple[int, int]]:
    """(length, start offset) of each run of blank lines between two text lines."""
    runs: list[tuple[int, int]] = []
    run, run_start, seen_text = 0, 0, False
    for ln in lines:
        if ln.blank:
            if run == 0:
                run_start = ln.start
            run += 1
            continue
        if seen_text and run:
            runs.append((run, run_start))
        seen_text, run = True, 0
    return runs


def _touching(units: list[_Unit], text: str) -> int:
    """How many paragraphs follow the one before with no blank line between them."""
    return sum(
        1
        for a, b in pairwise(units)
        if a.kind == b.kind == "paragraph" and text.count("\n", a.end, b.start) == 1
    )


def _with_blank_breaks(
    units: list[_Unit], gap_lines: Sequence[list[_Line]], text: str
) -> list[_Unit]:
    """Scene breaks made of blank lines: runs clearly longer than the story's usual
    paragraph spacing (3+ blank lines where paragraphs are 1 apart; any blank line where
    paragraphs touch, one a line or indented), and only between two paragraphs."""
    runs = [r for lines in gap_lines for r in _blank_runs(lines)]
    if not runs:
        return units
    lengths = Counter(n for n, _ in runs)
    usual = min(lengths, key=lambda n: (-lengths[n], n))
    least = usual + 2
    if _touching(units, text) >= 3 * len(runs):
        least = 1  # paragraphs touch; a blank line is the only thing that sets one apart
    starts = [pos for n, pos in runs if n >= least]
    if not starts or len(starts) > max(2, len(runs) // 3):
        return units  # spacing too irregular to say what a long gap means
    out: list[_Unit] = []
    k = 0
    for u in units:
        while k < len(starts) and starts[k] < u.start:
            prev_para = bool(out) and out[-1].kind == "paragraph"
            if prev_para and u.kind == "paragraph" and starts[k] >= out[-1].end:
                out.append(_Unit("break", starts[k], starts[k], label="blank lines"))
            k += 1
        out.append(u)
    return out


def _by_line(s: str) -> str | None:
    """The author of a "by Author" line (one line, not a sentence ending in a word + ".")."""
    m = _BY_LINE_RE.fullmatch(s)
    if m is None or (m.group(1).endswith(".") and len(m.group(1).split()[-1]) > 2):
        return None
    return m.group(1)


def _first_word(s: str) -> str:
    parts = s.split(None, 1)
    return parts[0] if parts else ""


def _new_paragraph(prev: _Line, nxt: _Line, width: int, fmt: str, first: int) -> bool:
    """Whether ``nxt`` starts a new paragraph in hard-wrapped text (no blank line between)."""
    body = nxt.text.lstrip()
    if _label(body) is not None:
        return True
    if prev.start == first and _header_byline(nxt.text, False):
        return True  # "Title" / "by Author" at the very top
    if fmt == "markdown" and _MD_LIST_RE.match(nxt.text):
        return True
    sentence_end = ends_sentence(prev.text)
    if sentence_end and body[:1] in _OPENING_QUOTES:
        return True
    fits = prev.width + 1 + len(_first_word(body))
    if sentence_end and fits <= width - 8:
        return True  # the next word would have fit: the line was ended on purpose
    short = fits <= width - 2 or prev.width <= 0.75 * width
    return nxt.indent > prev.indent and short


def _wrapped_end(
    lines: list[_Line], i: int, opens_block: Callable[[int], bool], width: int, fmt: str, first: int
) -> int:
    """The last line of the hard-wrapped paragraph that starts at line ``i``."""
    j = i
    while j + 1 < len(lines) and not opens_block(j + 1):
        if _new_paragraph(lines[j], lines[j + 1], width, fmt, first):
            break
        j += 1
    return j


def _line_units(
    lines: list[_Line],
    per_line: bool,
    width: int,
    fmt: str,
    use_headings: bool,
    first: int,
) -> list[_Unit]:
    n = len(lines)
    blank = [ln.blank for ln in lines]
    brk = [not blank[i] and _is_break(ln.text) for i, ln in enumerate(lines)]
    md = [_md_heading(ln.text) if use_headings else None for ln in lines]
    form = [_heading_form(ln.text) if use_headings else None for ln in lines]
    cand = [md[i] is not None or form[i] is not None for i in range(n)]

    def sep(j: int) -> bool:  # a line that may border a heading
        return j < 0 or j >= n or blank[j] or brk[j] or cand[j] or per_line

    def opens_block(j: int) -> bool:  # a line no paragraph runs on into
        f = form[j]
        after_sentence = f is not None and f[0] == "strict" and ends_sentence(lines[j - 1].text)
        return blank[j] or brk[j] or md[j] is not None or after_sentence

    units: list[_Unit] = []
    i = 0
    while i < n:
        ln = lines[i]
        a, b = trim(ln.text, 0, len(ln.text))
        start, end = ln.start + a, ln.start + b
        mdh, f = md[i], form[i]
        if blank[i]:
            i += 1
            continue
        if mdh is not None and mdh[0] <= 3:
            units.append(
                _Unit("heading", start, end, level=mdh[0], title=_clean_title(mdh[1]), source="md")
            )
            i += 1
            continue
        after_sentence = i > 0 and ends_sentence(lines[i - 1].text)
        if f is not None and (
            (f[0] == "strict" and (sep(i - 1) or after_sentence)) or (sep(i - 1) and sep(i + 1))
        ):
            units.append(
                _Unit(
                    "heading", start, end, level=f[1], title=_clean_title(ln.text), source="keyword"
                )
            )
            i += 1
            continue
        if (
            fmt == "markdown"
            and use_headings
            and i + 1 < n
            and sep(i - 1)
            and not brk[i]
            and _SETEXT_RE.fullmatch(lines[i + 1].text)
            and len(ln.text.strip()) < 80
        ):
            under = lines[i + 1]
            level = 1 if "=" in under.text else 2
            u_end = under.start + len(under.text.rstrip())
            units.append(
                _Unit(
                    "heading", start, u_end, level=level, title=_clean_title(ln.text), source="md"
                )
            )
            i += 2
            continue
        if brk[i]:
            units.append(_Unit("break", start, end))
            i += 1
            continue
        j = i if per_line else _wrapped_end(lines, i, opens_block, width, fmt, first)
        last = lines[j]
        end = last.start + len(last.text.rstrip())
        units.append(_Unit("paragraph", start, end))
        i = j + 1
    return units


# --- chapters and front matter -----------------------------------------------------------


def _mark_toc(units: list[_Unit]) -> None:
    """Four or more headings in a row are a table of contents, not chapters."""
    i = 0
    while i < len(units):
        j = i
        while j < len(units) and units[j].kind == "heading":
            j += 1
        if j - i >= 4:
            # The last one is a real heading when text follows it.
            if j < len(units) and units[j].kind == "paragraph":
                j -= 1
            for u in units[i:j]:
                u.kind, u.label = "skip", "contents"
        i = max(j, i + 1)


def _book_title(units: list[_Unit], text: str) -> str | None:
    """A lone top-level ``#``/``<h1>`` heading above ``##`` chapters is the book's title."""
    heads = [u for u in units if u.kind == "heading"]
    if len(heads) < 2:
        return None
    top = heads[0]
    if top.source == "keyword" or top.level != 1 or any(h.level == 1 for h in heads[1:]):
        return None
    if _heading_form(top.title) is not None:
        return None
    top.kind, top.label = "front", "title"
    return top.title or None


def _group(units: list[_Unit]) -> tuple[list[_Unit], list[list[_Unit]]]:
    """Units before the first heading, and one list per chapter (headings first)."""
    pre: list[_Unit] = []
    groups: list[list[_Unit]] = []
    for i, u in enumerate(units):
        if u.kind == "heading" and (i == 0 or units[i - 1].kind != "heading"):
            groups.append([u])
        elif groups:
            groups[-1].append(u)
        else:
            pre.append(u)
    return pre, groups


def _label(body: str) -> _Label | None:
    m = _AN_RE.match(body)
    label, anywhere = "notes", True
    for rx, lab, anyw in _LABEL_RES:
        if m is not None:
            break
        m = rx.match(body)
        label, anywhere = lab, anyw
    if m is None:
        return None
    tail = _LABEL_TAIL.match(body, m.end())
    rest = body[tail.end() if tail else m.end() :]
    only = not any(c.isalnum() for c in rest)
    return _Label(label, only, anywhere, _SPACE_RUN.sub(" ", rest).strip().rstrip("*_"))


def _unit_text(text: str, u: _Unit) -> str:
    return text[u.start : u.end]


def _title_like(s: str) -> bool:
    """A short single line that is not a sentence: a title, a byline, a dedication..."""
    if "\n" in s or len(s) >= 80 or not any(c.isalnum() for c in s):
        return False
    if s[:1] in _QUOTE_CHARS or len(s.split()) > 12:
        return False
    return not s.rstrip("*_ ").endswith((".", ",", ";"))


def _make_front(u: _Unit, label: str, owner: _Unit | None = None, text: str = "") -> None:
    """Turn ``u`` into front matter; its text joins ``owner``'s value (for meta fills)."""
    u.kind, u.label = "front", label
    if owner is not None:
        owner.value.append(_SPACE_RUN.sub(" ", _unit_text(text, u)).strip())


def _header_byline(s: str, top: bool) -> Byline | None:
    """ "by Author", "A Fandom fanfic by Author", and at the very top "Title by Author"."""
    by = _by_line(s)
    return Byline(by) if by else byline(s, top=top)


def _mark_byline(u: _Unit, by: Byline) -> None:
    _make_front(u, "author")
    u.value.append(by.author)
    u.fields.update({"author": by.author, "title": by.title or "", "fandom": by.fandom or ""})


_HEADER_WINDOW = 16  # paragraphs at the top that may still be header


def _header_window(paras: list[_Unit], text: str) -> list[_Unit]:
    """The top paragraphs that may be header: labelled lines, short title-like lines and
    "Title" / "by Author" pairs, up to the first paragraph that reads like story."""
    window: list[_Unit] = []
    for u in paras[:_HEADER_WINDOW]:
        s = _unit_text(text, u)
        if not (_label(s) or _title_like(s) or _split_byline(s) or _header_byline(s, False)):
            break
        window.append(u)
    return window


def _split_byline(s: str) -> tuple[str, Byline] | None:
    """ "Title\nby Author" in one paragraph (no blank line between them)."""
    lines = [ln for ln in s.split("\n") if ln.strip()]
    if len(lines) != 2 or not _title_like(lines[0]):
        return None
    by = _header_byline(lines[1], False)
    return (_clean_title(lines[0]), by) if by else None


def _mark_header(paras: list[_Unit], text: str, meta_title: str | None) -> None:
    """The top of a posted story: a title line, then a byline (or both on one line, or in
    one paragraph), perhaps after archive lines; the title repeated above is header too."""
    window = _header_window(paras, text)
    title = None
    for k, u in enumerate(window):
        s = _unit_text(text, u)
        pair = _split_byline(s)
        top = k == 0 and len(paras) > 1 and u.start == trim(text, 0, len(text))[0]
        by = pair[1] if pair else _header_byline(s, top)
        if by is None:
            continue
        _mark_byline(u, by)
        if pair:
            title = pair[0]
            u.fields["title"] = title
        elif by.title:
            title = by.title
        elif (
            k > 0
            and window[k - 1].kind == "paragraph"
            and not _label(_unit_text(text, window[k - 1]))
        ):
            prev = _unit_text(text, window[k - 1])
            if _title_like(prev):
                _make_front(window[k - 1], "title")
                title = _clean_title(prev)
                window[k - 1].value.append(title)
        break
    title = title or meta_title
    key = folded_words(title) if title else None
    for u in window:  # "The Quiet Hours" above "Posted originally on the Archive..."
        s = _unit_text(text, u)
        if key and u.kind == "paragraph" and _title_like(s) and folded_words(s) == key:
            _make_front(u, "title")
            u.value.append(_clean_title(s))


def _mark_pre(pre: list[_Unit], text: str, meta_title: str | None, headings_follow: bool) -> None:
    _mark_header([u for u in pre if u.kind == "paragraph"], text, meta_title)
    i = 0
    while i < len(pre):
        u = pre[i]
        lab = _label(_unit_text(text, u)) if u.kind == "paragraph" else None
        i += 1
        if lab is None:
            continue
        _make_front(u, lab.label)
        if lab.value:
            u.value.append(lab.value)
        if lab.only:
            # Under a lone "Summary:" line comes its text: up to the next label when the
            # story proper starts at a heading, else just one paragraph.
            while i < len(pre) and pre[i].kind == "paragraph":
                under = _unit_text(text, pre[i])
                if _label(under) is not None or has_dialogue(under):
                    break  # dialogue is the story starting, whatever the label said
                _make_front(pre[i], lab.label, u, text)
                i += 1
                if not headings_follow:
                    break
    rest = [u for u in pre if u.kind == "paragraph"]
    if headings_follow and all(_title_like(_unit_text(text, u)) for u in rest):
        for u in rest:
            _make_front(u, "header")


def _mark_chapter(group: list[_Unit], text: str) -> None:
    k = 0
    while k < len(group) and group[k].kind == "heading":
        k += 1  # merged headings ("Part One" / "Chapter 1")
    body = group[k:]
    labels = [_label(_unit_text(text, u)) if u.kind == "paragraph" else None for u in body]

    def mark(i: int) -> int:
        """Mark labelled ``body[i]`` (and the text under a lone label); return the next index."""
        lab = labels[i]
        assert lab is not None
        _make_front(body[i], lab.label)
        if lab.value:
            body[i].value.append(lab.value)
        j = i + 1
        if (
            lab.only
            and j < len(body)
            and body[j].kind == "paragraph"
            and labels[j] is None
            and not has_dialogue(_unit_text(text, body[j]))
        ):
            _make_front(body[j], lab.label, body[i], text)
            j += 1
        return j

    # Labels right after the heading: summary, notes, disclaimer...
    i = 0
    while i < len(body) and (body[i].kind in ("front", "skip") or labels[i] is not None):
        i = mark(i) if labels[i] is not None else i + 1
    story_from = i = _leading_notes(body, text, i)
    # Author's notes anywhere in the chapter.
    while i < len(body):
        lab = labels[i]
        i = mark(i) if lab is not None and lab.anywhere else i + 1
    _mark_end(body, text, story_from, labels)


def _without_empty_chapters(pre: list[_Unit], groups: list[list[_Unit]]) -> list[list[_Unit]]:
    """A chapter with nothing to read ("Afterword" over end notes and the archive's
    footer) is the previous chapter's end matter, heading and all: no silent track."""
    kept: list[list[_Unit]] = []
    for g in groups:
        if len(groups) > 1 and not any(u.kind in ("paragraph", "break") for u in g):
            for u in g:
                if u.kind == "heading":
                    u.kind, u.label = "front", "header"
            (kept[-1] if kept else pre).extend(g)
        else:
            kept.append(g)
    return kept


def _leading_notes(body: list[_Unit], text: str, i: int) -> int:
    """Where the story starts after unlabelled notes at a chapter's head ("Thanks for
    all the reviews!", "Previous chapter: ..."): the same tests as end matter, except
    closing lines, which do not open a chapter."""
    while i < len(body) and body[i].kind in ("paragraph", "front", "skip"):
        if body[i].kind == "paragraph":
            kind = end_kind(_unit_text(text, body[i]))
            if kind is None or kind == "end":
                break
            body[i].kind, body[i].label = "front", kind
        i += 1
    return i


def _mark_end(
    body: list[_Unit], text: str, story_from: int, labels: Sequence[_Label | None]
) -> None:
    """What follows the story at a chapter's end: closing lines, links, requests for
    reviews, footers, and the author's note they close. Never a paragraph with dialogue,
    and never anything before the chapter's last story paragraph that is not the
    author's: a story sentence that merely looks like a note stays story."""
    end_from = _trailing_end(body, text, story_from)
    closing = _closing_at(body, text, story_from, end_from)
    if closing is not None and _author_speaks_after(body, text, closing, end_from, labels):
        for u in body[closing:end_from]:
            if u.kind == "paragraph":
                u.kind, u.label = "front", end_kind(_unit_text(text, u)) or "end"
        end_from = closing
    notes = [
        i
        for i in range(story_from, end_from)
        if labels[i] is not None and labels[i].label in _END_NOTE_LABELS  # type: ignore[union-attr]
    ]
    if not notes:
        return
    note = notes[-1]
    between = body[note + 1 : end_from]
    paras = [_unit_text(text, u) for u in between if u.kind == "paragraph"]
    if any(u.kind not in ("paragraph", "front", "skip") for u in between):
        return
    if any(has_dialogue(p) for p in paras):
        return
    # What follows the note is the note's when it too talks about the story or to its
    # readers, or (half of it) when more end matter closes the chapter.
    authorial = sum(is_authorial(p) or is_signoff(p) for p in paras)
    if not (
        authorial == len(paras)
        or (end_from < len(body) and len(paras) <= 10 and 2 * authorial >= len(paras))
    ):
        return
    lab = labels[note]
    assert lab is not None
    if body[note].kind == "paragraph":
        _make_front(body[note], lab.label)
    for u in between:
        if u.kind == "paragraph":
            _make_front(u, lab.label)


def _trailing_end(body: list[_Unit], text: str, story_from: int) -> int:
    """Index where the chapter's trailing end matter starts (``len(body)`` if none);
    marks it. A sign-off ("Love, Ann") counts only with end matter before it."""
    end_from = i = len(body)
    while i > story_from:
        u = body[i - 1]
        i -= 1
        if u.kind != "paragraph":
            if u.kind in ("front", "skip") and end_from == i + 1:
                end_from = i
            continue
        s = _unit_text(text, u)
        kind = end_kind(s)
        if kind is not None:
            for w in body[i + 1 : end_from]:
                if w.kind == "paragraph":
                    w.kind, w.label = "front", "notes"
            u.kind, u.label = "front", kind
            end_from = i
        elif not is_signoff(s):
            break
    return end_from


def _author_speaks_after(
    body: list[_Unit], text: str, closing: int, end_from: int, labels: Sequence[_Label | None]
) -> bool:
    """Whether what follows "THE END" opens as the author's: a note label, end matter,
    talk about the story or a sign-off ("It was over. / The end. / Or so she thought."
    keeps its last line)."""
    for i in range(closing + 1, end_from):
        if body[i].kind == "front":
            return True  # a note already known as one
        if body[i].kind == "paragraph":
            s = _unit_text(text, body[i])
            return labels[i] is not None or any(f(s) for f in (end_kind, is_authorial, is_signoff))
    return True


def _closing_at(body: list[_Unit], text: str, story_from: int, end_from: int) -> int | None:
    """The last "THE END" / "To be continued" line after which only the author speaks:
    no dialogue and no scene break follow it."""
    for i in range(min(end_from, len(body)) - 1, story_from - 1, -1):
        u = body[i]
        if u.kind == "break" or (u.kind == "paragraph" and has_dialogue(_unit_text(text, u))):
            return None
        if u.kind == "paragraph" and is_closing(_unit_text(text, u)):
            return i
    return None


_META_LABELS = {"fandom": "fandom", "pairing": "pairing", "rating": "rating"}


def _fill_meta(meta: BookMeta, units: list[_Unit]) -> None:
    """Fill what the loader left empty from the header's front matter, first found wins."""
    for u in units:
        if u.kind != "front":
            continue
        for key, value in u.fields.items():
            if value and getattr(meta, key) is None:
                setattr(meta, key, value)
        if not u.value:
            continue
        first = u.value[0].strip()
        if u.label == "title" and meta.title is None:
            meta.title = _clean_title(first) or None
        elif u.label == "author" and meta.author is None:
            meta.author = first or None
        elif u.label == "summary" and meta.description is None:
            meta.description = "\n\n".join(v for v in u.value if v) or None
        elif u.label == "language" and meta.language is None:
            meta.language = u.value[0].strip() or None
        elif u.label in _META_LABELS and getattr(meta, _META_LABELS[u.label]) is None:
            value = ", ".join(v for v in u.value if v).strip()
            setattr(meta, _META_LABELS[u.label], value or None)
    if meta.genre is None:
        meta.genre = meta.fandom  # a fanfic's fandom is what a library groups it by


def _describe(meta: BookMeta) -> str | None:
    """The summary, then the fandom, pairing and rating a listener browsing wants to see."""
    facts = [
        f"{name}: {value}"
        for name, value in (
            ("Fandom", meta.fandom),
            ("Pairing", meta.pairing),
            ("Rating", meta.rating),
        )
        if value and f"{name}: {value}" not in (meta.description or "")
    ]
    parts = [p for p in (meta.description, "\n".join(facts)) if p]
    return "\n\n".join(parts) or None


# A file name that is a database key, not a title: "001 1fffb823223d737b", "4512893".
_ID_PART = re.compile(r"\d+|(?=[a-z]*\d)[0-9a-f]{6,}|(?=\w*\d)(?=\w*[a-z])\w{12,}", re.IGNORECASE)
_FIRST_WORDS = 6


def _prettify(path: Path) -> str | None:
    """``my_story-name.txt`` -> "My Story Name"; None when the name is only an id."""
    words = [w for w in re.split(r"[\s_\-.]+", path.stem) if w]
    if all(_ID_PART.fullmatch(w) for w in words):
        return None
    return " ".join(w[:1].upper() + w[1:] for w in words)


def _first_title(units: list[_Unit], text: str) -> str:
    """A title for a book with none: its first heading that is more than "Chapter 1",
    else its first words."""
    for u in units:
        if u.kind == "heading" and u.title and _heading_form(u.title) is None:
            return u.title
    for u in units:
        if u.kind == "paragraph":
            words = _unit_text(text, u).split()
            title = " ".join(words[:_FIRST_WORDS]).strip(_QUOTE_CHARS + " ,;:—–-")
            if title:
                return title + ("…" if len(words) > _FIRST_WORDS else "")
    return "Untitled"
