"""Contracts of structure + segment on random stories: nothing lost, nothing twice."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from audiobook.model import Document, Hint, Segment, Structure
from audiobook.segment import segment
from audiobook.structure import build

WORDS = ["the", "rain", "Mara", "said", "don't", "Joneses'", "'em", "’tis", "rock 'n' roll",
         "I", "went", "home", "x", "o", "Chapter", "by", "AN", "42", "—", "…", "--", "*bold*",
         "_it_", "Part", "one", "Summary:", "oOo", "café", "#", "6'2\""]  # fmt: skip
QUOTES = [
    ('"', '"'),
    ("“", "”"),
    ("‘", "’"),
    ("'", "'"),
    ("«", "»"),
    ('"', ""),
    ("“", ""),
    ("", "”"),
]
HEADINGS = ["Chapter 1", "CHAPTER IV.", "Chapter Twelve: The End", "Part One: Sacrifice",
            "# Intro", "## Chapter 2", "Prologue", "Book III", "Epilogue"]  # fmt: skip
BREAKS = ["* * *", "***", "oOo", "---", "#", "~ * ~", "-x-x-", "<><><>"]
FRONT = ["A/N: thanks for reading", "Summary:", "Rating: T", "Title: A Tale", "by Someone"]

words = st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join)


@st.composite
def sentences(draw: st.DrawFn) -> str:
    s = draw(words)
    if draw(st.booleans()):
        o, c = draw(st.sampled_from(QUOTES))
        s = f"{o}{s}{draw(st.sampled_from(['', ',', '.', '?', '…']))}{c} {draw(words)}"
    return s + draw(st.sampled_from([".", "", "!", ","]))


@st.composite
def paragraphs(draw: st.DrawFn) -> str:
    text = " ".join(draw(st.lists(sentences(), min_size=1, max_size=5)))
    width = draw(st.sampled_from([0, 20, 40, 70]))
    if not width:
        return text
    # Hard-wrap at ``width`` columns, sometimes with an indented first line.
    lines: list[str] = []
    for w in text.split(" "):
        if lines and len(lines[-1]) + 1 + len(w) <= width:
            lines[-1] += " " + w
        else:
            lines.append(w)
    if draw(st.booleans()):
        lines[0] = "    " + lines[0]
    return "\n".join(lines)


pieces = st.one_of(
    paragraphs(),
    paragraphs(),
    paragraphs(),
    st.sampled_from(HEADINGS),
    st.sampled_from(BREAKS),
    st.sampled_from(FRONT),
)


@st.composite
def stories(draw: st.DrawFn) -> str:
    parts = draw(st.lists(pieces, min_size=0, max_size=10))
    seps = draw(st.lists(st.sampled_from(["\n\n", "\n", "\n\n\n", "\n  \n"]), min_size=len(parts)))
    return "".join(p + s for p, s in zip(parts, seps, strict=False))


def _doc(text: str, fmt: str = "text", hints: list[Hint] | None = None) -> Document:
    return Document(path=Path("story.txt"), format=fmt, text=text, hints=hints or [])  # type: ignore[arg-type]


def check_structure(doc: Document, s: Structure) -> None:
    text = doc.text
    assert s.chapters, "always at least one chapter"
    assert [c.index for c in s.chapters] == list(range(len(s.chapters)))
    assert s.chapters[-1].end == len(text)
    for a, b in zip(s.chapters, s.chapters[1:], strict=False):
        assert a.end == b.start
    first = s.chapters[0].start
    for blk in s.front:
        assert 0 <= blk.start <= blk.end <= first
    prev = 0
    for blk in [*s.front, *(b for c in s.chapters for b in c.blocks)]:
        assert prev <= blk.start <= blk.end <= len(text)
        prev = blk.end
    for c in s.chapters:
        assert c.start <= c.end
        for blk in c.blocks:
            assert c.start <= blk.start and blk.end <= c.end


def check_segments(doc: Document, segs: list[Segment]) -> None:
    text = doc.text
    covered = [0] * len(text)
    prev_end = 0
    for seg in segs:
        assert prev_end <= seg.start < seg.end <= len(text), seg
        assert seg.text == text[seg.start : seg.end]
        assert seg.speaker is None and seg.confidence == 0.0
        prev_end = seg.end
        for i in range(seg.start, seg.end):
            covered[i] += 1
    lost = [(i, ch) for i, ch in enumerate(text) if ch.isalnum() and covered[i] != 1]
    assert not lost, lost[:5]
    paragraphs = [s.paragraph for s in segs]
    assert paragraphs == sorted(paragraphs)


@settings(max_examples=200, deadline=None)
@given(stories(), st.sampled_from(["text", "markdown"]), st.booleans())
def test_random_stories_tile(text: str, fmt: str, read_front: bool) -> None:
    doc = _doc(text, fmt)
    s = build(doc, read_front_matter=read_front)
    check_structure(doc, s)
    segs = segment(doc, s)
    check_segments(doc, segs)
    assert segment(doc, build(doc, read_front_matter=read_front)) == segs  # deterministic


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_arbitrary_text_never_raises(text: str) -> None:
    doc = _doc(text)
    s = build(doc)
    check_structure(doc, s)
    check_segments(doc, segment(doc, s))


@settings(max_examples=100, deadline=None)
@given(stories(), st.lists(st.tuples(st.integers(-5, 400), st.integers(0, 60),
                                     st.sampled_from(["heading", "front", "break", "skip"])),
                           max_size=4))  # fmt: skip
def test_loader_hints_tile(text: str, raw: list[tuple[int, int, str]]) -> None:
    hints = [Hint(kind, a, a + n, level=2) for a, n, kind in raw]  # type: ignore[arg-type]
    doc = _doc(text, "html", hints)
    s = build(doc)
    check_structure(doc, s)
    check_segments(doc, segment(doc, s))
