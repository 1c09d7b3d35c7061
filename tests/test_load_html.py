"""load(): HTML - AO3 downloads and saved pages, generic pages, markup to text rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from audiobook.errors import LoadError
from audiobook.load import load
from audiobook.model import Document, Hint

FIXTURES = Path(__file__).parent / "fixtures" / "load"
NEVER_READ = ("SCRIPT-SHOULD", "STYLE-SHOULD", "NOSCRIPT-SHOULD", "COMMENT-SHOULD", "TEMPLATE-")


def covered(doc: Document, hint: Hint) -> str:
    return doc.text[hint.start : hint.end]


def hints_of(doc: Document, kind: str) -> list[str]:
    return [covered(doc, h) for h in doc.hints if h.kind == kind]


def html(tmp_path: Path, body: str, head: str = "", name: str = "s.html") -> Document:
    p = tmp_path / name
    p.write_text(f"<html><head>{head}</head><body>{body}</body></html>", encoding="utf-8")
    return load(p)


def assert_hints_well_formed(doc: Document) -> None:
    last_end = -1
    for h in doc.hints:
        assert 0 <= h.start < h.end <= len(doc.text)
        assert h.start > last_end, "hints overlap or are out of order"
        assert doc.text[h.start] not in " \n" and doc.text[h.end - 1] not in " \n"
        last_end = h.end


# --- AO3 download ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ao3() -> Document:
    return load(FIXTURES / "ao3_work.html")


def test_ao3_meta(ao3: Document) -> None:
    m = ao3.meta
    assert ao3.format == "html"
    assert m.title == "The Lighthouse Keeper's Ledger"
    assert m.author == "quillandmoth"
    assert m.description == "Ines inherits a lighthouse and a ledger that writes back."
    assert (m.language, m.year, m.series, m.series_part) == ("en", "2021", "Salt and Signal", "2")
    assert m.genre == "Original Work"  # the fandom


def test_ao3_never_reads_script_style_noscript_comments(ao3: Document) -> None:
    for marker in NEVER_READ:
        assert marker not in ao3.text
    assert "font-family" not in ao3.text


def test_ao3_chapters_are_level_2_headings(ao3: Document) -> None:
    headings = [(covered(ao3, h), h.level) for h in ao3.hints if h.kind == "heading"]
    assert headings == [("Chapter 1: The Inheritance", 2), ("Chapter 2: Ink at Low Tide", 2)]


def test_ao3_summary_and_notes_are_front_matter(ao3: Document) -> None:
    front = [(h.label, covered(ao3, h)) for h in ao3.hints if h.kind == "front"]
    assert front[0] == (
        "summary",
        "Summary\n\nInes inherits a lighthouse and a ledger that writes back.",
    )
    assert front[1] == ("notes", "Notes\n\nWritten for a prompt about small mysteries.")
    labels = [label for label, _ in front]
    assert labels == ["summary", "notes", "notes", "notes", "notes"]
    assert any("More soon" in text for _, text in front)  # chapter end notes
    assert any("based on nothing real" in text for _, text in front)  # work end notes


def test_ao3_header_and_afterword_boilerplate_are_skipped(ao3: Document) -> None:
    skipped = "\n".join(hints_of(ao3, "skip"))
    boilerplate = ["Rating:", "General Audiences", "Words: 412", "Posted originally"]
    boilerplate += ["by quillandmoth", "See the end of the work", "drop by the archive"]
    for phrase in boilerplate:
        assert phrase in skipped
    assert "The key was heavier" not in skipped


def test_ao3_story_text_is_plain_readable_blocks(ao3: Document) -> None:
    text = ao3.text
    assert '"You\'ll want the ledger," said the notary. "Everyone does, eventually."' in text
    assert "That night the lamp turned by itself.\nOnce. Twice." in text  # <br> kept
    assert "The ledger had a new line in the morning: Thank you for the light." in text
    assert "\n\n\n" not in text
    [brk] = [h for h in ao3.hints if h.kind == "break"]
    assert covered(ao3, brk) == "* * *"
    assert text.index("colder.") < brk.start < text.index("That night")
    assert_hints_well_formed(ao3)


def test_ao3_single_chapter_work_has_no_heading_hints(tmp_path: Path) -> None:
    doc = html(
        tmp_path,
        '<div id="preface"><div class="meta"><h1>Short One</h1>'
        '<div class="byline">by <a rel="author">pen</a></div></div></div>'
        '<div id="chapters" class="userstuff"><div class="userstuff">'
        "<p>Only one chapter here.</p><p>And it ends.</p></div></div>"
        '<div id="afterword"><p class="message">Please comment</p></div>',
    )
    assert (doc.meta.title, doc.meta.author) == ("Short One", "pen")
    assert hints_of(doc, "heading") == []
    assert "Only one chapter here.\n\nAnd it ends." in doc.text


def test_ao3_saved_work_page(tmp_path: Path) -> None:
    body = """
    <div id="header"><p>SITE MENU</p></div>
    <dl class="work meta group"><dt class="language">Language:</dt><dd class="language">English</dd>
      <dt class="stats">Stats:</dt><dd class="stats"><dl class="stats">
      <dt class="published">Published:</dt><dd class="published">2019-07-01</dd></dl></dd></dl>
    <div id="workskin">
      <div class="preface group">
        <h2 class="title heading">Paper Boats</h2>
        <h3 class="byline heading"><a rel="author">tidewriter</a></h3>
        <div class="summary module"><h3 class="heading">Summary:</h3>
          <blockquote class="userstuff"><p>Two kids, one river.</p></blockquote></div>
      </div>
      <div id="chapters">
        <div class="chapter" id="chapter-1">
          <div class="chapter preface group"><h3 class="title"><a>Chapter 1</a>: Launch</h3></div>
          <div class="userstuff module"><h3 class="landmark heading">Chapter Text</h3>
            <p>The first boat sank at once.</p><h2>Not a chapter</h2></div>
        </div>
        <div class="chapter" id="chapter-2">
          <div class="chapter preface group"><h3 class="title"><a>Chapter 2</a>: Drift</h3>
            <div class="notes module"><h3 class="heading">Notes:</h3>
              <blockquote class="userstuff"><p>Thanks for the kudos!</p></blockquote></div></div>
          <div class="userstuff module"><h3 class="landmark heading">Chapter Text</h3>
            <p>The second one floated.</p></div>
        </div>
      </div>
    </div>
    <div id="feedback"><p>KUDOS AND COMMENTS</p></div>
    """
    doc = html(tmp_path, body)
    assert (doc.meta.title, doc.meta.author) == ("Paper Boats", "tidewriter")
    assert (doc.meta.description, doc.meta.language, doc.meta.year) == (
        "Two kids, one river.", "en", "2019",
    )  # fmt: skip
    assert "SITE MENU" not in doc.text and "KUDOS" not in doc.text
    assert [(covered(doc, h), h.level) for h in doc.hints if h.kind == "heading"] == [
        ("Chapter 1: Launch", 2),
        ("Chapter 2: Drift", 2),
    ]
    front = {h.label: covered(doc, h) for h in doc.hints if h.kind == "front"}
    assert "Two kids, one river." in front["summary"]
    assert "Thanks for the kudos!" in front["notes"]
    skipped = "\n".join(hints_of(doc, "skip"))
    assert "Chapter Text" in skipped and "Paper Boats" in skipped
    assert "Not a chapter" in doc.text  # read, but not a chapter of its own
    assert_hints_well_formed(doc)


# --- generic HTML -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generic() -> Document:
    return load(FIXTURES / "generic.html")


def test_generic_meta(generic: Document) -> None:
    # <title> is "The Orchard Wall | Pocket Stories Weekly": the <h1> drops the site name.
    assert generic.meta.title == "The Orchard Wall"
    assert generic.meta.author == "Ruth Calloway"
    assert generic.meta.language == "en-GB"


def test_generic_blocks(generic: Document) -> None:
    assert generic.text == (
        "The Orchard Wall\n\n"
        "I. Apples\n\n"
        "The wall was older than the village.\n\n"
        "Nobody climbed it.\n\n"
        "Except Tam,\nonce,\nat dusk.\n\n"
        '"Come down," his sister called.\n\n'
        "* * *\n\n"
        "A small aside\n\n"
        "first pear\n\n"
        "second pear\n\n"
        "II. Pears\n\n"
        "Morning came late."
    )
    for marker in ("SHOULD-NOT", "HIDDEN", "Home"):
        assert marker not in generic.text


def test_generic_headings_and_break(generic: Document) -> None:
    assert [(h.kind, h.level, covered(generic, h)) for h in generic.hints] == [
        ("heading", 1, "The Orchard Wall"),
        ("heading", 2, "I. Apples"),
        ("break", 1, "* * *"),
        ("heading", 2, "II. Pears"),
    ]  # <h4> is read but does not start a chapter
    assert_hints_well_formed(generic)


def test_title_tag_used_when_there_is_no_h1(tmp_path: Path) -> None:
    doc = html(tmp_path, "<p>Text.</p>", head="<title>Only A Title</title>")
    assert doc.meta.title == "Only A Title"


def test_declared_cp1252_charset(tmp_path: Path) -> None:
    p = tmp_path / "s.htm"
    p.write_bytes(
        b'<html><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
        b"</head><body><p>\x93Quoted,\x94 she said. Caf\xe9.</p></body></html>"
    )
    assert load(p).text == "\u201cQuoted,\u201d she said. Caf\u00e9."


def test_double_br_splits_paragraphs_and_whitespace_collapses(tmp_path: Path) -> None:
    doc = html(tmp_path, "<div>One\n  line<br><br>\n<br>Two<br>lines</div><p> \u00a0 </p>")
    assert doc.text == "One line\n\nTwo\nlines"


def test_q_elements_get_their_quotation_marks(tmp_path: Path) -> None:
    doc = html(tmp_path, "<p><q>Say <q>please</q>,</q> she said.</p>")
    assert doc.text == "\u201cSay \u2018please\u2019,\u201d she said."


def test_heading_with_br_reads_as_one_line(tmp_path: Path) -> None:
    doc = html(tmp_path, "<h2>Chapter 3<br>The Tide</h2><p>Text.</p>")
    assert hints_of(doc, "heading") == ["Chapter 3: The Tide"]


def test_leading_doubled_and_trailing_breaks_are_dropped(tmp_path: Path) -> None:
    doc = html(tmp_path, "<hr><p>A.</p><hr><hr/><p>B.</p><hr>")
    assert doc.text == "A.\n\n* * *\n\nB."


def test_footnote_markers_and_page_numbers_are_not_read(tmp_path: Path) -> None:
    doc = html(
        tmp_path,
        '<p>She left<a href="#fn1">1</a> early.<span epub:type="pagebreak">12</span></p>',
    )
    assert doc.text == "She left early."


def test_deeply_nested_markup(tmp_path: Path) -> None:
    doc = html(tmp_path, "<div>" * 3000 + "deep" + "</div>" * 3000 + "<p>after</p>")
    assert doc.text == "deep\n\nafter"


def test_xhtml_self_closing_tags_and_doctype(tmp_path: Path) -> None:
    p = tmp_path / "s.xhtml"
    p.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.1//EN" '
        '"http://www.w3.org/TR/xhtml11/DTD/xhtml11.dtd">\n'
        '<html xmlns="http://www.w3.org/1999/xhtml"><head><title/></head>'
        '<body><div/><p>One <a id="x"/>two</p><p>Three</p></body></html>',
        encoding="utf-8",
    )
    assert load(p).text == "One two\n\nThree"


def test_html_without_text(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="file has no text"):
        html(tmp_path, "<script>only()</script><img src='x.png'>")


def test_binary_posing_as_html(tmp_path: Path) -> None:
    p = tmp_path / "s.html"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    with pytest.raises(LoadError, match="looks like PNG image"):
        load(p)
