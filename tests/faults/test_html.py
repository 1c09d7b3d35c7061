"""HTML faults: code and styling in the page, broken markup, AO3 pages without chapters,
and a page whose title tries to steer the output path."""

from __future__ import annotations

from pathlib import Path

from audiobook.load import load

from .helpers import assert_fails, assert_tiles, files_under, make, mp3s, script, spoken, write

SCRIPTS = """<!DOCTYPE html>
<html><head><title>The Ferry</title>
<style>p { color: red } .x::before { content: "STYLE-TEXT" }</style>
<script>var said = "SCRIPT-TEXT"; document.write("<p>WRITTEN-TEXT</p>");</script>
<script type="application/ld+json">{"name": "JSON-LD-TEXT"}</script>
</head><body>
<h1>The Ferry</h1>
<noscript><p>NOSCRIPT-TEXT: enable JavaScript</p></noscript>
<p>The ferry left at six.<script>alert("INLINE-SCRIPT")</script></p>
<template><p>TEMPLATE-TEXT</p></template>
<!-- COMMENT-TEXT -->
<p>&ldquo;Late again,&rdquo; said Oona.</p>
<svg><text>SVG-TEXT</text><style>svg{}</style></svg>
</body></html>"""


def test_scripts_and_styles_are_never_spoken(tmp_path: Path) -> None:
    p = write(tmp_path / "ferry.html", SCRIPTS)
    data = script(p)
    said = spoken(data)
    assert said.splitlines() == ["The Ferry.", "The ferry left at six.", "Late again", "said Oona."]
    for marker in ("STYLE", "SCRIPT", "WRITTEN", "JSON-LD", "NOSCRIPT", "TEMPLATE", "COMMENT"):
        assert f"{marker}-TEXT" not in said, marker
        assert f"{marker}-TEXT" not in load(p).text, marker
    assert "INLINE-SCRIPT" not in load(p).text
    assert [s["speaker"] for s in data["segments"] if s["kind"] == "dialogue"] == ["Oona"]


def test_malformed_markup(tmp_path: Path) -> None:
    # Unclosed and misnested tags, stray end tags, broken attributes and entities: the
    # words still come out once each, in order, as a browser shows them.
    page = (
        "<html><body><h2>Chapter 1</h2><p>First <b>bold <i>both</b> italic</i> words"
        '<p>Second para</div></span> with <a href=x title=y"z>link</a> tail.</p></p>'
        "<table><tr><td>Cell text<p>Para in a cell</table>"
        "<h2>Chapter 2<p>Heading never closed</p><p>Last &amp; final &bogus; &#99999999; line"
    )
    p = write(tmp_path / "broken.html", page)
    data = script(p)
    text = load(p).text
    assert_tiles(text, data["segments"])
    for words in ("First bold both italic words", "Second para", "Cell text", "Last & final"):
        assert text.count(words) == 1, words
    assert text.index("First") < text.index("Cell text") < text.index("Last")
    out = make(p, "-o", tmp_path / "out")
    assert out.code == 0, out.stderr


AO3_ONE_CHAPTER = """<!DOCTYPE html><html><head><title>Low Tide - kelpie_writes</title>
<meta name="author" content="kelpie_writes"></head><body>
<div id="preface"><h2 class="toc-heading">Low Tide</h2>
<div class="meta"><h1>Low Tide</h1><div class="byline">by <a rel="author">kelpie_writes</a></div>
<dl class="tags"><dt>Rating:</dt><dd>General Audiences</dd></dl>
<p>Summary</p><blockquote class="userstuff"><p>A walk on the flats.</p></blockquote></div></div>
<div id="chapters" class="userstuff"><div class="userstuff">
<p>The water went out further than anyone remembered.</p>
<p>"Don't go past the post," said Aunt Wren.</p></div></div>
<div id="afterword"><p class="message">Please drop by the Archive and comment.</p></div>
</body></html>"""


def test_ao3_work_without_chapters(tmp_path: Path) -> None:
    # A one-chapter AO3 download: no chapter headings at all. It becomes one chapter
    # named after the work; the tags, summary and afterword are not read.
    p = write(tmp_path / "low-tide.html", AO3_ONE_CHAPTER)
    data = script(p)
    assert (data["title"], data["author"]) == ("Low Tide", "kelpie_writes")
    assert len(data["chapters"]) == 1
    said = spoken(data)
    assert said.splitlines() == [
        "The water went out further than anyone remembered.",
        "Don't go past the post",
        "said Aunt Wren.",
    ]
    for boiler in ("General Audiences", "A walk on the flats", "Please drop by", "Rating"):
        assert boiler not in said, boiler
    out = make(p, "-o", tmp_path / "out")
    assert out.code == 0, out.stderr
    [mp3] = mp3s(tmp_path / "out")
    assert mp3.parent == tmp_path / "out" / "kelpie_writes" / "Low Tide"


def test_ao3_page_with_no_story(tmp_path: Path) -> None:
    # An AO3 page saved without its work (only header and afterword: e.g. a locked
    # work's page): nothing to narrate is an error, not an empty audiobook.
    page = AO3_ONE_CHAPTER.split('<div id="chapters"')[0] + "</body></html>"
    p = write(tmp_path / "locked.html", page)
    out = make(p, "-o", tmp_path / "out")
    assert_fails(out, p, "nothing to read aloud (everything is front matter or markup)")
    assert mp3s(tmp_path / "out") == []


def test_html_without_text(tmp_path: Path) -> None:
    p = write(tmp_path / "images.html", "<html><body><img src='a.png'><br><hr></body></html>")
    assert_fails(make(p, "-o", tmp_path / "out"), p, "file has no text")


def test_title_cannot_steer_the_output_path(tmp_path: Path) -> None:
    # Title and author come from the file: separators, "..", device names and control
    # characters must not make a path outside the output folder.
    page = (
        "<html><head><title>../../../../tmp/escaped</title>"
        '<meta name="author" content="../..\\..\\CON"></head>'
        "<body><p>A story about paths.</p></body></html>"
    )
    work = tmp_path / "work"
    p = write(work / "paths.html", page)
    before = files_under(tmp_path)
    out = make(p, "-o", work / "out")
    assert out.code == 0, out.stderr
    new = files_under(tmp_path) - before
    allowed = (work / "out", tmp_path / "cache")
    outside = [
        f for f in new if not f.is_relative_to(allowed[0]) and not f.is_relative_to(allowed[1])
    ]
    assert outside == [work / "paths.html.audiobook.toml"]
    [mp3] = mp3s(work / "out")
    assert mp3.relative_to(work / "out").parts[:2] == ("CON_", "tmp escaped")
