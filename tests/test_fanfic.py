"""Fanfiction as it is posted: headers, end matter, blank-line scene breaks, titles.

Every passage here is written for these tests. The rule they all share: story is read
(above all, dialogue between the story's characters), the author's notes, links and
archive boilerplate are not.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from mutagen.id3 import ID3

from audiobook.analyze import analyze
from audiobook.cli import main
from audiobook.load import load
from audiobook.model import Document, Structure
from audiobook.render import MANIFEST
from audiobook.structure import build

FIXTURES = Path(__file__).parent / "fixtures" / "fanfic"


def doc_of(text: str, name: str = "story.txt") -> Document:
    return Document(path=Path(name), format="text", text=text)


def kinds(doc: Document, s: Structure) -> list[tuple[str, str]]:
    """(kind, text) of every block, front matter first."""
    blocks = [*s.front, *(b for c in s.chapters for b in c.blocks)]
    return [(b.kind, doc.text[b.start : b.end]) for b in blocks]


def read(doc: Document, s: Structure) -> list[str]:
    return [t for k, t in kinds(doc, s) if k == "paragraph"]


def skipped(doc: Document, s: Structure) -> list[str]:
    return [t for k, t in kinds(doc, s) if k in ("front", "skip")]


# --- headers ----------------------------------------------------------------------------

STORY = '"Is it still raining?" Pell asked.\n\n"Always," said Juno.\n'


@pytest.mark.parametrize(
    ("header", "title", "author", "fandom"),
    [
        ("The Salt Road by Ann Example", "The Salt Road", "Ann Example", None),
        ("The Salt Road\nby Ann Example", "The Salt Road", "Ann Example", None),
        ("The Salt Road\n\nby Ann Example", "The Salt Road", "Ann Example", None),
        ("Salt Road\nA Smallville fanfic by quietfox", "Salt Road", "quietfox", "Smallville"),
        ("Lost Rivers\n\nAn Original Work fan fiction by J. Marsh", "Lost Rivers", "J. Marsh",
         "Original Work"),
        ("Title: The Salt Road\nAuthor: Ann Example\nFandom: Tidewatch", "The Salt Road",
         "Ann Example", "Tidewatch"),
        ("Title: The Salt Road\n\nWritten by: Ann Example", "The Salt Road", "Ann Example", None),
    ],
)  # fmt: skip
def test_header_shapes_give_title_author_and_fandom(
    header: str, title: str, author: str, fandom: str | None
) -> None:
    doc = doc_of(f"{header}\n\n{STORY}", "1fffb823223d737b.txt")
    s = build(doc)
    assert (s.meta.title, s.meta.author, s.meta.fandom) == (title, author, fandom)
    assert read(doc, s) == STORY.strip().split("\n\n")


def test_label_header_fills_pairing_rating_summary_and_description() -> None:
    text = (
        "Title: Tin Roof\nAuthor: quietfox\nFandom: Smallville\nPairing: Mara/Teo\n"
        "Rating: PG\nSummary: A storm, a porch, a lantern.\n"
        "Disclaimer: Not mine, only borrowed.\n\n" + STORY
    )
    doc = doc_of(text)
    s = build(doc)
    m = s.meta
    assert (m.title, m.author, m.fandom, m.pairing, m.rating) == (
        "Tin Roof", "quietfox", "Smallville", "Mara/Teo", "PG"
    )  # fmt: skip
    assert m.description == (
        "A storm, a porch, a lantern.\n\nFandom: Smallville\nPairing: Mara/Teo\nRating: PG"
    )
    assert read(doc, s) == STORY.strip().split("\n\n")


@pytest.mark.parametrize(
    "first", ["Struck by Lightning", "Touched by an Angel", "Stand By Me", "Saved by the bell"]
)
def test_titles_with_by_in_them_invent_no_author(first: str) -> None:
    s = build(doc_of(f"{first}\n\n{STORY}"))
    assert s.meta.author is None


def test_no_header_title_from_file_name_and_no_author() -> None:
    s = build(doc_of(STORY, "the_long-way_home.txt"))
    assert (s.meta.title, s.meta.author) == ("The Long Way Home", None)


def test_id_named_file_takes_its_first_words() -> None:
    script = analyze(FIXTURES / "001 1fffb823223d737b.txt")
    assert script.meta.title == "The kettle screamed before Ilse was…"
    assert script.meta.author is None


def test_id_named_file_takes_its_first_real_heading() -> None:
    s = build(doc_of("# Kettle Weather\n\n" + STORY, "4512893.md"))
    assert s.meta.title == "Kettle Weather"
    s = build(doc_of("Chapter 1\n\n" + STORY, "4512893.txt"))
    assert s.meta.title == 'Is it still raining?" Pell asked.'


# --- end matter -------------------------------------------------------------------------

LAST_SCENE = "She set the lantern on the step where it belonged."


@pytest.mark.parametrize(
    "ending",
    [
        "THE END",
        "~*~ fin ~*~",
        "To be continued...",
        "End of Part One",
        "TBC",
        "Go on to the next part",
        "Next chapter: The Thaw",
        "Please send feedback to quietfox@example.org",
        "Hope you enjoyed the ride!",
        "Reviews are love <3",
        "Thanks for reading!",
        "R&R please!",
        "Let me know what you thought in the comments.",
        "This story is archived at the Tidewatch fiction archive.",
        "Return to the story index",
        "http://example.org/fic/lantern/2",
        "No copyright infringement intended.",
        "THE END\n\nAuthor's note: I wrote this on a train.\n\nIt rained the whole way.",
        "Reviews make my day!\n\nLove, quietfox",
        "A/N: Thank you all so much.\n\nThis chapter fought me the whole way.\n\n"
        "Next time: the thaw.",
        "Notes:\n\nWritten for the storm prompt. Thanks to my beta for the help.",
        "THE END\n\nAuthor's notes: This story started as a drabble.\n\n"
        "I grew up near fields like these.\n\nMara was meant to be a side character.\n\n"
        'Thanks to my beta, who caught every "lantern".\n\nThere may be a sequel.\n\n'
        "Hope you enjoyed the ride!",
    ],
)
def test_end_matter_is_skipped_and_the_last_scene_read(ending: str) -> None:
    doc = doc_of(f"{STORY}\n{LAST_SCENE}\n\n{ending}\n")
    s = build(doc)
    assert read(doc, s)[-1] == LAST_SCENE
    assert skipped(doc, s) == ending.split("\n\n")


@pytest.mark.parametrize(
    "last",
    [
        '"Thanks for reading my letter," Pell said.',  # dialogue is always story
        "He hoped you would never know.",
        "And then, silence",  # no end matter after it: the story's own last line
        "Goodbye.",
    ],
)
def test_story_endings_that_look_like_notes_are_read(last: str) -> None:
    doc = doc_of(f"{STORY}\n{last}\n")
    assert read(doc, build(doc))[-1] == last


def test_end_matter_needs_the_story_to_have_ended() -> None:
    """A closing line with dialogue after it is not the end: the story goes on."""
    text = f'{STORY}\nThe end.\n\n"Or is it?" Juno asked.\n\n{LAST_SCENE}\n'
    doc = doc_of(text)
    assert skipped(doc, build(doc)) == []


def test_a_long_note_mid_chapter_does_not_take_the_story_after_it() -> None:
    scene = "\n\n".join(f"The rain went on, hour {n}, and nobody slept." for n in range(6))
    doc = doc_of(f"{STORY}\nA/N: sorry for the wait!\n\n{scene}\n\nReviews are love!\n")
    s = build(doc)
    assert skipped(doc, s) == ["A/N: sorry for the wait!", "Reviews are love!"]
    assert read(doc, s)[-1] == "The rain went on, hour 5, and nobody slept."


def test_each_chapter_loses_its_own_end_matter() -> None:
    script = analyze(FIXTURES / "glass-orchard.txt")
    skips = [seg.text for seg in script.segments if seg.kind == "skip"]
    assert skips[-4:] == [
        "A/N: First chapter! Let me know what you think.",
        "Reviews are love! Next chapter soon.",
        "Love, Wren",
        "This story is archived at the Starfall Academy fiction archive. Please drop by the\n"
        "archive and comment to let the author know if you enjoyed it.",
    ]
    spoken = [seg.text for seg in script.segments if seg.kind != "skip"]
    assert spoken[-1].startswith("They carried water until the light went")


def test_the_issue_story_reads_no_note_and_all_the_story() -> None:
    script = analyze(FIXTURES / "lantern-hours.txt")
    assert (script.meta.title, script.meta.author, script.meta.fandom) == (
        "Lantern Hours", "quietfox", "Smallville"
    )  # fmt: skip
    spoken = [seg.text for seg in script.segments if seg.kind != "skip"]
    assert spoken[-1].endswith("set it on the step where it belonged.")
    skips = [seg.text for seg in script.segments if seg.kind == "skip"]
    assert skips[-3:] == [
        "There may be a sequel one day if the storm comes back.",
        "Please send feedback to quietfox@example.org",
        "Hope you enjoyed the ride!",
    ]
    assert "THE END" in skips


def test_read_front_matter_reads_notes_but_not_links_or_footers() -> None:
    ending = (
        "THE END\n\nA/N: I wrote this on a train.\n\nGo on to the next part\n\n"
        "This story is archived at the Tidewatch archive."
    )
    doc = doc_of(f"{STORY}\n{LAST_SCENE}\n\n{ending}\n")
    s = build(doc, read_front_matter=True)
    assert read(doc, s)[-2:] == ["THE END", "A/N: I wrote this on a train."]
    assert skipped(doc, s) == [
        "Go on to the next part",
        "This story is archived at the Tidewatch archive.",
    ]


# --- scene breaks -----------------------------------------------------------------------


def scenes(text: str) -> list[list[str]]:
    doc = doc_of(text)
    out: list[list[str]] = [[]]
    for b in build(doc).chapters[0].blocks:
        if b.kind == "break":
            out.append([])
        elif b.kind == "paragraph":
            out[-1].append(doc.text[b.start : b.end])
    return out


def test_a_run_of_blank_lines_longer_than_the_story_uses_is_a_break() -> None:
    text = "One.\n\nTwo.\n\nThree.\n\n\n\n\nFour.\n\nFive.\n\n\nSix.\n"
    assert scenes(text) == [["One.", "Two.", "Three."], ["Four.", "Five.", "Six."]]


def test_double_spaced_story_needs_a_longer_run() -> None:
    text = "One.\n\n\nTwo.\n\n\nThree.\n\n\n\nFour.\n\n\nFive.\n\n\n\n\n\nSix.\n"
    assert scenes(text) == [["One.", "Two.", "Three.", "Four.", "Five."], ["Six."]]


def test_paragraphs_one_per_line_make_a_blank_line_a_break() -> None:
    lines = [
        f"Paragraph {n} keeps to one line, the way a phone or a web form writes it"
        + ", and goes on a while longer" * (n % 4 * 2)
        + "."
        for n in range(8)
    ]
    text = "\n".join(lines[:4]) + "\n\n" + "\n".join(lines[4:]) + "\n"
    assert scenes(text) == [lines[:4], lines[4:]]


def test_irregular_spacing_makes_no_breaks() -> None:
    text = "One.\n\n\n\nTwo.\n\nThree.\n\n\n\nFour.\n\n\n\nFive.\n\nSix.\n"
    assert len(scenes(text)) == 1


def test_blank_lines_around_a_heading_are_no_break() -> None:
    text = "Chapter 1\n\n\n\n\nOne.\n\nTwo.\n\nThree.\n\nFour.\n"
    doc = doc_of(text)
    assert [b.kind for b in build(doc).chapters[0].blocks] == ["heading"] + ["paragraph"] * 4


# --- HTML archives ----------------------------------------------------------------------

FFN_PAGE = """<!DOCTYPE html><html><head><title>Tin Roof Chapter 1, a smallville fanfic</title>
</head><body>
<div id="top"><a href="/">FanFiction</a> | <a href="/login">Login</a></div>
<div id="pre_story_links"><span><a href="/tv/">TV Shows</a> &gt;
<a href="/tv/Smallville/">Smallville</a></span></div>
<div id="profile_top"><button>Follow/Fav</button><b class="xcontrast_txt">Tin Roof</b>
<span>By:</span> <a class="xcontrast_txt" href="/u/4242/quietfox">quietfox</a>
<div class="xcontrast_txt">A storm, a porch, a lantern.</div>
<span class="xgray xcontrast_txt">Rated: Fiction T - English - Romance - [Mara, Teo] -
Words: 512 - Complete</span></div>
<div id="storytext"><p>The storm came across the fields.</p>
<p>"Come in," Teo said.</p><p>"In a minute," said Mara.</p></div>
<div id="review"><p>Review this chapter</p></div>
<div id="footer">Help - Privacy - Terms of Service</div>
</body></html>"""


def test_fanfiction_net_page(tmp_path: Path) -> None:
    page = tmp_path / "tin.html"
    page.write_text(FFN_PAGE, encoding="utf-8")
    doc = load(page)
    m = doc.meta
    assert (m.title, m.author, m.fandom, m.rating, m.pairing) == (
        "Tin Roof", "quietfox", "Smallville", "T", "Mara, Teo"
    )  # fmt: skip
    assert m.description == "A storm, a porch, a lantern."
    assert doc.text.split("\n\n") == [
        "The storm came across the fields.",
        '"Come in," Teo said.',
        '"In a minute," said Mara.',
    ]


def test_ao3_download_fandom_rating() -> None:
    doc = load(Path(__file__).parent / "fixtures" / "load" / "ao3_work.html")
    assert (doc.meta.fandom, doc.meta.rating) == ("Original Work", "General Audiences")


# --- no rule skips dialogue -------------------------------------------------------------

NAMES = ["Pell", "Juno", "Odile", "Kester", "Mara", "Teo"]
NARRATION = [
    "The rain had not stopped since morning.",
    "Somewhere below, a door banged twice and was still.",
    "The end of the road was further than the map said.",
    "Thanks to the fog, nobody saw them leave.",
    "She hoped the letter would reach him before the thaw.",
    "Next to the stove the cat slept on.",
    "It was over.",
]
OTHER = [
    "THE END",
    "To be continued...",
    "A/N: Thanks for reading!",
    "A/N:",
    "Author's note:",
    "Summary:",
    "Notes:",
    "Please review!",
    "Reviews are love!",
    "Love, quietfox",
    "Go on to the next part",
    "http://example.org/next",
    "This story is archived at the Tidewatch archive.",
    "Disclaimer: Not mine.",
    "Hope you enjoyed it!",
    "* * *",
    "Chapter 2",
]
LINES = ["Wait for me", "Not tonight", "Thanks for reading it", "The end, then", "Please"]


@st.composite
def exchanges(draw: st.DrawFn) -> str:
    a, b = draw(st.lists(st.sampled_from(NAMES), min_size=2, max_size=2, unique=True))
    first, second = draw(st.sampled_from(LINES)), draw(st.sampled_from(LINES))
    style = draw(st.integers(0, 2))
    if style == 0:
        return f'"{first}," {a} said. "{second}!" {b} answered.'
    if style == 1:
        return f"{a} looked up. 'I'll say it: {first},' {a} said.\n\n'{second}.' {b} said."
    return f"“{first}?” {a} asked.\n\n“{second}.” {b} said."


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(st.sampled_from(NARRATION), st.sampled_from(OTHER), exchanges()),
        min_size=1,
        max_size=14,
    ),
    exchanges(),
    st.sampled_from(["\n\n", "\n\n\n\n\n"]),
)
def test_no_rule_skips_dialogue_between_characters(pieces: list[str], talk: str, gap: str) -> None:
    text = gap.join([*pieces, talk, *pieces]) + "\n"
    doc = doc_of(text)
    s = build(doc)
    # Only the exchanges name the characters: no skipped block may hold a name.
    for said in skipped(doc, s):
        assert not any(name in said for name in NAMES), said


# --- make never reads its own output ----------------------------------------------------


def _books(out: Path) -> list[str]:
    return sorted(p.parent.relative_to(out).as_posix() for p in out.rglob(MANIFEST))


@pytest.mark.parametrize("inside", [False, True])
def test_make_twice_renders_the_same_books(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inside: bool
) -> None:
    """``audiobook make .`` in a story folder, twice: the second run finds the same
    stories, not the desc.txt/reader.txt of the first run's output."""
    folder = tmp_path / "stories"
    shutil.copytree(FIXTURES, folder)
    monkeypatch.chdir(folder)
    out_args = ["-o", str(folder / "books" / "here")] if inside else []
    out = folder / "books" / "here" if inside else folder / "output"
    runs = []
    for _ in range(2):
        r = CliRunner().invoke(
            main, ["make", ".", "--engine", "tone", "--jobs", "1", *out_args],
            catch_exceptions=False,
        )  # fmt: skip
        assert r.exit_code == 0, r.stderr
        done = r.stderr.splitlines()[-1]
        runs.append((_books(out), done[: done.index(" files")]))
    assert runs[0] == runs[1]
    books, done = runs[0]
    assert done == "done: 4 stories, 5 chapters, 5"
    # The id-named story has no author; which folder export gives it is export's call.
    assert books[-3:] == [
        "Wren Halloway/The Glass Orchard",
        "quietfox/Lantern Hours",
        "ravenwing/The Quiet Hours",
    ]
    assert books[0].endswith("The kettle screamed before Ilse was…")
    assert not list(out.rglob("*.audiobook.toml"))  # no sidecar written into our output
    lantern = out / "quietfox" / "Lantern Hours"
    assert str(ID3(next(lantern.glob("*.mp3")))["TCON"]) == "Smallville"  # fandom is genre
    assert "Fandom: Smallville" in (lantern / "desc.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "last",
    [
        "The next chapter of their lives began that morning.",
        "Return to the top of the stairs, she told herself, and she did.",
        "I don't own much, but I own this moment.",
        "Thanks to his help, the farm survived the winter.",
        "She checked the copyright page and closed the book.",
        "Comments were welcome at the town meeting, but nobody spoke.",
        "Dear Ann,\n\nI am sorry. Please write back.\n\nLove, Ben",
        "The end.\n\nOr so she thought.",
        "Complete.\n\nShe set the puzzle aside and went to bed.",
    ],
)
def test_story_lines_with_end_matter_words_are_read(last: str) -> None:
    doc = doc_of(f"{STORY}\n{last}\n")
    assert skipped(doc, build(doc)) == []


def test_ao3_plain_text_download() -> None:
    """AO3's .txt download: title, archive line, tag block, "Title" / "by Author",
    Summary and Notes, chapters, end notes, afterword and the archive's footer."""
    script = analyze(FIXTURES / "the-quiet-hours-ao3.txt")
    m = script.meta
    assert (m.title, m.author, m.fandom, m.pairing, m.rating) == (
        "The Quiet Hours", "ravenwing", "Hollow Road", "Dane/Cassio", "Teen And Up Audiences"
    )  # fmt: skip
    spoken = [seg.text for seg in script.segments if seg.kind not in ("skip", "heading")]
    assert spoken == [
        "The motel had a vending machine that only sold lemon drops.",
        "We could leave,",
        "Cassio said.",
        "We could,",
        "said Dane, and did not move.",
    ]


def test_indented_paragraphs_make_a_blank_line_a_break() -> None:
    text = (
        "    The ferry left an hour late, and by the time it cleared the\n"
        "breakwater the fog had closed in.\n"
        "    Tamsin stood at the rail with her collar up.\n"
        "    Nobody spoke to her, which suited her.\n"
        "    The engine shook the benches.\n"
        "\n"
        "    At the far harbour the fog was gone, as if it had never been\n"
        "there at all.\n"
        "    She walked up the hill to the inn.\n"
    )
    assert [len(s) for s in scenes(text)] == [4, 2]


def test_story_after_a_late_note_is_read() -> None:
    """A note near a chapter's end takes what follows only if that talks like a note."""
    doc = doc_of(f"{STORY}\nA/N: sorry for the wait!\n\nShe ran.\n\nThe door slammed behind her.\n")
    s = build(doc)
    assert skipped(doc, s) == ["A/N: sorry for the wait!"]
    assert read(doc, s)[-2:] == ["She ran.", "The door slammed behind her."]
    doc = doc_of(f"{STORY}\nA/N: So that happened.\n\nI love you guys so much.\n\n<3\n")
    assert skipped(doc, build(doc)) == ["A/N: So that happened.", "I love you guys so much.", "<3"]


def test_thanks_at_a_chapters_head_is_not_read() -> None:
    text = (
        "Chapter 2\n\nThanks so much for all the reviews! They keep me going.\n\n"
        "Previous chapter: https://example.org/fic/1\n\n" + STORY
    )
    doc = doc_of(text)
    s = build(doc)
    assert skipped(doc, s) == [
        "Thanks so much for all the reviews! They keep me going.",
        "Previous chapter: https://example.org/fic/1",
    ]
    assert read(doc, s) == STORY.strip().split("\n\n")
