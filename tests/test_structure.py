"""structure.build: paragraphs, headings, chapters, breaks, front matter."""

from __future__ import annotations

from pathlib import Path

import pytest

from audiobook.model import BookMeta, Document, Hint, Structure
from audiobook.structure import build


def make(text: str, fmt: str = "text", path: str = "story.txt", **kw: object) -> Document:
    return Document(path=Path(path), format=fmt, text=text, **kw)  # type: ignore[arg-type]


def blocks(doc: Document, s: Structure, kind: str | None = None) -> list[str]:
    return [
        doc.text[b.start : b.end]
        for c in s.chapters
        for b in c.blocks
        if kind is None or b.kind == kind
    ]


def titles(s: Structure) -> list[str]:
    return [c.title for c in s.chapters]


def span(text: str, needle: str) -> tuple[int, int]:
    i = text.index(needle)
    return i, i + len(needle)


# --- paragraphs -------------------------------------------------------------------------

WRAPPED = """\
The ferry left the harbour an hour late, and by the time it cleared
the breakwater the fog had closed in so thickly that the lamps on the
quay were only a rumour behind them.

Tamsin stood at the rail with her collar up. She had meant to sleep
on the crossing, but the engine shook the benches and a child two
rows back was counting aloud, patiently, to some number he had not
yet reached.
"""


def test_wrapped_lines_unwrap_into_paragraphs() -> None:
    doc = make(WRAPPED)
    paras = blocks(doc, build(doc), "paragraph")
    assert len(paras) == 2
    assert paras[0].startswith("The ferry left") and paras[0].endswith("behind them.")
    assert paras[0].count("\n") == 2  # the block keeps its hard wraps
    assert paras[1].endswith("not\nyet reached.")


def test_paragraph_spans_first_to_last_non_space_char() -> None:
    text = "\n\n   Indented start of a line,\n   then more.   \n\n"
    doc = make(text)
    [b] = build(doc).chapters[0].blocks
    assert text[b.start : b.end] == "Indented start of a line,\n   then more."


ONE_LINE_EACH = "\n".join(
    [
        "The ferry left the harbour an hour late, and by the time it cleared the breakwater "
        "the fog had closed in around it.",
        "Tamsin stood at the rail.",
        '"Is it always like this?" she asked the deckhand, who shrugged and kept coiling his '
        "rope in slow loops at his feet.",
        '"Only on days ending in y."',
        "She laughed despite herself, and for a moment the fog seemed thinner, though it was "
        "probably only the light changing.",
    ]
)


def test_one_line_per_paragraph_text() -> None:
    doc = make(ONE_LINE_EACH)
    paras = blocks(doc, build(doc), "paragraph")
    assert paras == ONE_LINE_EACH.strip().split("\n")


def test_indented_line_after_short_line_starts_a_paragraph() -> None:
    text = """\
    The keeper had not spoken to anyone in eleven days, and the
silence had begun to feel like wool over the windows.
    On the twelfth morning a boat appeared. It rode low in the
water, heavy with crates and rope.
"""
    doc = make(text)
    paras = blocks(doc, build(doc), "paragraph")
    assert len(paras) == 2
    assert paras[1].startswith("On the twelfth morning")


def test_quote_line_after_sentence_starts_a_paragraph_in_wrapped_text() -> None:
    text = """\
The boat bumped against the jetty and the man at the oars looked up
at the lamp room with open dislike.
"Ahoy the light!" he shouted, when he was close enough to be heard
over the gulls and the slap of the water.
"""
    doc = make(text)
    paras = blocks(doc, build(doc), "paragraph")
    assert len(paras) == 2
    assert paras[1].startswith('"Ahoy')


def test_wrapped_line_that_happens_to_start_with_a_quote_stays_joined() -> None:
    text = """\
The sign over the door of the old inn on the corner of the square said
"Closed for the season" in letters that had faded almost to nothing.
"""
    doc = make(text)
    assert len(blocks(doc, build(doc), "paragraph")) == 1


# --- headings and chapters --------------------------------------------------------------


@pytest.mark.parametrize(
    ("heading", "title"),
    [
        ("Chapter 103: Breakdown", "Chapter 103: Breakdown"),
        ("CHAPTER I.", "CHAPTER I"),
        ("Chapter Twelve", "Chapter Twelve"),
        ("Chapter Twenty-One - Ashes", "Chapter Twenty-One - Ashes"),
        ("Part One: Sacrifice", "Part One: Sacrifice"),
        ("Part 2", "Part 2"),
        ("Book III", "Book III"),
        ("Prologue", "Prologue"),
        ("Epilogue", "Epilogue"),
        ("Interlude", "Interlude"),
        ("# The Crossing", "The Crossing"),
        ("## Chapter   Two ##", "Chapter Two"),
        ("### Small Hours", "Small Hours"),
    ],
)
def test_heading_styles_start_chapters(heading: str, title: str) -> None:
    text = f"Chapter 1\n\nThe tide came in.\n\n{heading}\n\nThe tide went out.\n"
    doc = make(text)
    s = build(doc)
    assert titles(s) == ["Chapter 1", title]
    assert s.chapters[1].blocks[0].kind == "heading"
    assert text[s.chapters[1].blocks[0].start : s.chapters[1].blocks[0].end] == heading


@pytest.mark.parametrize(
    "line",
    [
        "Chapter 3 was the part of the book she liked best.",
        "Part of me wanted to stay.",
        "Book one was better than book two, everyone agreed.",
        "Chapter 9: in which nothing happens and the narrator apologises at great length for it.",
        "Prologues are for people with patience.",
    ],
)
def test_sentences_are_not_headings(line: str) -> None:
    text = f"Chapter 1\n\nIt rained.\n\n{line}\n\nIt stopped.\n"
    doc = make(text)
    s = build(doc)
    assert titles(s) == ["Chapter 1"]
    assert line in blocks(doc, s, "paragraph")


def test_heading_inside_wrapped_paragraph_is_text() -> None:
    text = (
        "Chapter 1\n\nThe rules were all set out in\nChapter 3: Duties\nof the keeper's handbook.\n"
    )
    doc = make(text)
    assert titles(build(doc)) == ["Chapter 1"]


def test_strict_heading_needs_no_blank_lines_in_compact_text() -> None:
    doc = make("Chapter 1\nIt was late.\nChapter 2\nIt was later still.\n")
    s = build(doc)
    assert titles(s) == ["Chapter 1", "Chapter 2"]
    assert blocks(doc, s, "paragraph") == ["It was late.", "It was later still."]


def test_part_headings_make_two_chapters() -> None:
    text = (
        "Part One: Sacrifice\n\nThe village gave up its bell.\n\n"
        "Part Two: Reckoning\n\nThe bell came back, cracked.\n"
    )
    doc = make(text)
    s = build(doc)
    assert titles(s) == ["Part One: Sacrifice", "Part Two: Reckoning"]
    assert blocks(doc, s, "paragraph") == [
        "The village gave up its bell.",
        "The bell came back, cracked.",
    ]


def test_heading_followed_by_heading_merges() -> None:
    text = "Part One: Sacrifice\n\nChapter 1\n\nThe bell rang.\n\nChapter 2\n\nIt stopped.\n"
    doc = make(text)
    s = build(doc)
    assert titles(s) == ["Part One: Sacrifice — Chapter 1", "Chapter 2"]
    assert [b.kind for b in s.chapters[0].blocks] == ["heading", "heading", "paragraph"]


def test_markdown_book_title_above_chapters() -> None:
    text = "# The Salt Road\n\n## Chapter One\n\nSalt.\n\n## Chapter Two\n\nRoad.\n"
    doc = make(text, "markdown")
    s = build(doc)
    assert titles(s) == ["Chapter One", "Chapter Two"]
    assert s.meta.title == "The Salt Road"
    assert [b.kind for b in s.front] == ["front"]


def test_markdown_setext_heading() -> None:
    text = "Chapter Notes\n-------------\n\nAll quiet.\n\nMorning\n=======\n\nLoud.\n"
    doc = make(text, "markdown")
    assert titles(build(doc)) == ["Chapter Notes", "Morning"]


def test_no_heading_one_chapter_titled_from_stem() -> None:
    doc = make("It rained all day.\n\nThen it stopped.\n", path="/x/my_story-name.txt")
    s = build(doc)
    assert titles(s) == ["My Story Name"]
    assert s.meta.title == "My Story Name"
    assert (s.chapters[0].start, s.chapters[0].end) == (0, len(doc.text))


def test_no_heading_uses_loader_title() -> None:
    doc = make("It rained.\n", meta=BookMeta(title="Rain"))
    assert titles(build(doc)) == ["Rain"]


def test_story_before_first_heading_becomes_opening_chapter() -> None:
    text = "The night before, nobody slept.\n\nChapter 1\n\nMorning came.\n"
    doc = make(text)
    s = build(doc)
    assert titles(s) == ["Opening", "Chapter 1"]
    assert s.front == []


def test_title_lines_before_first_heading_are_front_matter() -> None:
    text = "THE SALT ROAD\n\nA Novel\n\nChapter 1\n\nMorning came.\n"
    doc = make(text)
    s = build(doc)
    assert titles(s) == ["Chapter 1"]
    assert [doc.text[b.start : b.end] for b in s.front] == ["THE SALT ROAD", "A Novel"]


def test_chapters_tile_the_text() -> None:
    text = "Title\nby Someone\n\nChapter 1\n\nA.\n\nChapter 2\n\nB.\n\n"
    doc = make(text)
    s = build(doc)
    assert s.chapters[0].start == text.index("Chapter 1")
    assert s.chapters[0].end == s.chapters[1].start == text.index("Chapter 2")
    assert s.chapters[1].end == len(text)
    assert all(b.end <= s.chapters[0].start for b in s.front)
    assert [c.index for c in s.chapters] == [0, 1]


def test_table_of_contents_is_skipped() -> None:
    text = "Contents\n\nChapter 1\n\nChapter 2\n\nChapter 3\n\nChapter 1\n\nA.\n\nChapter 2\n\nB.\n"
    doc = make(text)
    s = build(doc)
    assert titles(s) == ["Chapter 1", "Chapter 2"]
    assert [b.kind for b in s.front].count("skip") == 3


# --- scene breaks -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "marker",
    ["* * *", "***", "~ * ~ * ~", "---", "___", "oOo", "o0o", "#", "~~~", "+ + +", "<><><>",
     "-x-x-", "- - -", "xXx", "§", "❦ ❦ ❦", "###", "ooo", "xxx", "OoOoO", "◇◆◇",
     "~Scene Break~", "[line break]", "          * * *"],
)  # fmt: skip
def test_scene_breaks(marker: str) -> None:
    """Any symbols, centred or not; o's and x's; a named break."""
    text = f"Chapter 1\n\nThey slept.\n\n{marker}\n\nThey woke.\n"
    doc = make(text)
    s = build(doc)
    assert [b.kind for b in s.chapters[0].blocks] == ["heading", "paragraph", "break", "paragraph"]
    b = s.chapters[0].blocks[2]
    assert text[b.start : b.end] == marker.strip()


def test_break_ends_a_wrapped_paragraph() -> None:
    doc = make("They slept on the floor of the\nwaiting room.\n* * *\nThey woke.\n")
    s = build(doc)
    assert [b.kind for b in s.chapters[0].blocks] == ["paragraph", "break", "paragraph"]


@pytest.mark.parametrize("line", ["Oh.", "x", "Ox", '"..."', "OK"])
def test_short_lines_with_words_are_not_breaks(line: str) -> None:
    doc = make(f"They slept.\n\n{line}\n\nThey woke.\n")
    kinds = [b.kind for b in build(doc).chapters[0].blocks]
    assert "break" not in kinds


# --- front matter -----------------------------------------------------------------------

AO3_LIKE = """\
The Salt Road
by Ann Example

Rating: General Audiences
Fandom: Original Work

Summary:

Two keepers share one winter on a rock.

Chapter 1: Arrival

Disclaimer: Nothing here is real.

The boat came at dawn.

A/N: Thank you for reading!

Comments keep me going.
"""


def test_front_matter_default_not_read() -> None:
    doc = make(AO3_LIKE)
    s = build(doc)
    assert titles(s) == ["Chapter 1: Arrival"]
    front = [(b.label, doc.text[b.start : b.end]) for b in s.front]
    assert front == [
        ("title", "The Salt Road"),
        ("author", "by Ann Example"),
        ("rating", "Rating: General Audiences"),
        ("fandom", "Fandom: Original Work"),
        ("summary", "Summary:"),
        ("summary", "Two keepers share one winter on a rock."),
    ]
    kinds = [(b.kind, b.label) for b in s.chapters[0].blocks]
    assert kinds == [
        ("heading", None),
        ("front", "disclaimer"),
        ("paragraph", None),
        ("front", "notes"),
        ("front", "feedback"),
    ]
    assert s.meta.title == "The Salt Road"
    assert s.meta.author == "Ann Example"
    assert s.meta.description == (
        "Two keepers share one winter on a rock.\n\n"
        "Fandom: Original Work\nRating: General Audiences"
    )
    assert (s.meta.fandom, s.meta.rating) == ("Original Work", "General Audiences")


def test_read_front_matter_reads_notes_but_not_label_lines() -> None:
    doc = make(AO3_LIKE)
    s = build(doc, read_front_matter=True)
    assert [b.label for b in s.front] == ["title", "author", "rating", "fandom"]
    assert titles(s) == ["The Salt Road", "Chapter 1: Arrival"]
    assert blocks(doc, s, "paragraph") == [
        "Summary:",
        "Two keepers share one winter on a rock.",
        "Disclaimer: Nothing here is real.",
        "The boat came at dawn.",
        "A/N: Thank you for reading!",
        "Comments keep me going.",
    ]
    assert not blocks(doc, s, "front")


def test_label_lines_fill_meta_but_loader_wins() -> None:
    text = "Title: Salt\nAuthor: Ann Example\nSummary: Two keepers.\n\nThe boat came.\n"
    s = build(make(text))
    assert (s.meta.title, s.meta.author, s.meta.description) == (
        "Salt",
        "Ann Example",
        "Two keepers.",
    )
    assert titles(s) == ["Salt"]
    assert [b.label for b in s.front] == ["title", "author", "summary"]
    s2 = build(make(text, meta=BookMeta(title="From Loader")))
    assert s2.meta.title == "From Loader"


def test_meta_is_a_copy() -> None:
    meta = BookMeta()
    doc = make("Title: Salt\n\nText.\n", meta=meta)
    assert build(doc).meta.title == "Salt"
    assert meta.title is None


def test_author_note_mid_chapter_is_front() -> None:
    text = (
        "Chapter 1\n\nOne.\n\nAuthor's Note: sorry I'm late!\n\nTwo.\n\nThree.\n\nFour.\n\nFive.\n"
    )
    doc = make(text)
    s = build(doc)
    assert [b.label for b in s.chapters[0].blocks if b.kind == "front"] == ["notes"]
    assert blocks(doc, s, "paragraph") == ["One.", "Two.", "Three.", "Four.", "Five."]


def test_story_sentence_starting_with_label_word_is_story() -> None:
    text = "Chapter 1\n\nThe summary of the case was short.\n\nNotes were left on the table.\n"
    doc = make(text)
    assert len(blocks(doc, build(doc), "paragraph")) == 2


# --- loader hints -----------------------------------------------------------------------


def test_loader_hints() -> None:
    text = (
        "The Salt Road\n\nA summary here.\n\nOne\n\nThe boat came.\n\n* * *\n\n"
        "Night.\n\nTwo\n\nMorning.\n\nPosted by nobody.\n"
    )
    hints = [
        Hint("heading", *span(text, "The Salt Road"), level=1),
        Hint("front", *span(text, "A summary here."), label="summary"),
        Hint("heading", *span(text, "One"), level=2),
        Hint("break", *span(text, "* * *")),
        Hint("heading", *span(text, "Two"), level=2),
        Hint("skip", *span(text, "Posted by nobody.")),
    ]
    doc = make(text, "html", hints=hints)
    s = build(doc)
    assert titles(s) == ["One", "Two"]
    assert s.meta.title == "The Salt Road"
    assert [(b.kind, b.label) for b in s.front] == [("front", "title"), ("front", "summary")]
    assert [b.kind for b in s.chapters[0].blocks] == ["heading", "paragraph", "break", "paragraph"]
    assert [b.kind for b in s.chapters[1].blocks] == ["heading", "paragraph", "skip"]
    s2 = build(doc, read_front_matter=True)
    assert s2.chapters[-1].blocks[-1].kind == "skip"  # skip hints are never read
    assert titles(s2)[0] == "The Salt Road"


def test_heading_hints_replace_text_heading_detection() -> None:
    text = "Intro\n\nChapter 5\n\nText.\n"
    doc = make(text, "html", hints=[Hint("heading", *span(text, "Intro"), level=2)])
    assert titles(build(doc)) == ["Intro"]


@pytest.mark.parametrize("text", ["", "\n\n  \n", "* * *", "Summary: only this."])
def test_degenerate_texts(text: str) -> None:
    s = build(make(text))
    assert len(s.chapters) == 1
    assert s.chapters[0].end == len(text)


def test_title_and_byline_without_blank_line() -> None:
    doc = make("Salt\nby moonlit_writer\n\nChapter 1\n\nThe boat came.\n")
    s = build(doc)
    assert (s.meta.title, s.meta.author) == ("Salt", "moonlit_writer")
    assert [b.label for b in s.front] == ["title", "author"]


def test_sentence_starting_with_by_is_not_a_byline() -> None:
    doc = make("Monday\n\nBy the time we arrived, it was late.\n\nChapter 2\n\nTuesday.\n")
    s = build(doc)
    assert s.meta.author is None
    assert titles(s) == ["Opening", "Chapter 2"]
    assert blocks(doc, s, "paragraph")[:2] == ["Monday", "By the time we arrived, it was late."]


def test_a_chapter_with_nothing_to_read_joins_the_one_before() -> None:
    text = "Chapter 1\n\nThe boat came at dawn.\n\nAfterword\n\nEnd Notes\n\nThanks for reading!\n"
    doc = make(text)
    s = build(doc)
    assert titles(s) == ["Chapter 1"]
    assert [(b.kind, b.label) for b in s.chapters[0].blocks] == [
        ("heading", None),
        ("paragraph", None),
        ("front", "header"),
        ("front", "notes"),
        ("front", "notes"),
    ]
