"""Output that drops straight into an audiobook library. The example rendered
with the fake tone engine, measured after decoding as a player would."""

from __future__ import annotations

import io
import itertools
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
from click.testing import CliRunner
from mutagen.id3 import ID3
from mutagen.mp3 import MP3
from PIL import Image

from audiobook.cli import main
from audiobook.cover import book_cover, generated_cover, normalize_cover
from audiobook.export import decode_audio, list_chapters, peak_dbfs
from audiobook.model import Segment
from audiobook.subtitles import Cue, cue_text, format_vtt, parse_vtt, read_vtt, speaker_label

AUTHOR, TITLE = "Wren Aldous", "The Lighthouse at Gull Point"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "the-lighthouse-at-gull-point.txt"
CHAPTERS = ["Chapter 1: The Storm", "Chapter 2: What the Lamp Is For"]
SHORT = 'Title: Tide Tables\nAuthor: Ines Varga\n\nChapter 1\n\n"Low water at six," said Pell.\n'


def make(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(
        main, ["make", "--engine", "tone", "--jobs", "1", *args], catch_exceptions=False
    )
    return r.exit_code, r.stderr


@pytest.fixture(scope="module")
def render_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The example rendered once (MP3, standard): ROOT/story, ROOT/cache, ROOT/out."""
    root = tmp_path_factory.mktemp("rendered")
    story = root / "story" / EXAMPLE.name
    story.parent.mkdir()
    shutil.copy(EXAMPLE, story)
    code, err = make(str(story), "-o", str(root / "out"), "--cache-dir", str(root / "cache"))
    assert code == 0, err
    yield root


@pytest.fixture
def rendered(render_root: Path) -> Path:
    """The rendered book folder, for read-only checks."""
    return render_root / "out" / AUTHOR / TITLE


def test_layout_audiobookshelf_reads(rendered: Path) -> None:
    assert sorted(p.name for p in rendered.iterdir() if not p.name.startswith(".")) == [
        "01 - Chapter 1 The Storm.mp3",
        "01 - Chapter 1 The Storm.vtt",
        "02 - Chapter 2 What the Lamp Is For.mp3",
        "02 - Chapter 2 What the Lamp Is For.vtt",
        f"{TITLE}.m3u8",
        "cover.jpg",
        "desc.txt",
        "metadata.json",
        "reader.txt",
    ]
    assert rendered.parent.parent.name == "out"  # OUT/Author/Title, no series here
    assert (
        (rendered / "desc.txt")
        .read_text(encoding="utf-8")
        .startswith("A storm, a keeper who will not leave his lamp")
    )
    reader = (rendered / "reader.txt").read_text(encoding="utf-8").splitlines()
    assert reader[0] == "joe"  # the one line Audiobookshelf reads, as the narrator
    voices = dict(line.split(": ", 1) for line in reader[3:])
    assert voices["Narrator"] == "joe"
    assert {"Marguerite Hale", "Tobias Hale", "Agnes Corliss"} <= set(voices)
    assert len({voices[n] for n in voices if n != "Narrator"}) == len(voices) - 1


def test_metadata_json_for_audiobookshelf(rendered: Path) -> None:
    """Its chapters are the files played in order: each starts where the one before
    ended, and lasts as long as its file."""
    meta = json.loads((rendered / "metadata.json").read_text(encoding="utf-8"))
    assert meta["title"] == TITLE and meta["authors"] == [AUTHOR]
    assert meta["language"] == "English" and meta["genres"] == [] and meta["series"] == []
    assert meta["description"].startswith("A storm, a keeper")
    reader = (rendered / "reader.txt").read_text(encoding="utf-8").splitlines()
    voices = [line.split(": ", 1)[1] for line in reader[3:]]
    assert meta["narrators"][0] == "joe" and set(meta["narrators"]) == set(voices)
    assert [c["title"] for c in meta["chapters"]] == CHAPTERS
    at = 0.0
    for chapter, mp3 in zip(meta["chapters"], sorted(rendered.glob("*.mp3")), strict=True):
        info = MP3(mp3).info
        assert info is not None
        assert chapter["start"] == pytest.approx(at, abs=0.002)
        assert chapter["end"] - chapter["start"] == pytest.approx(info.length, abs=0.05)
        at = chapter["end"]


def test_cover_jpg_is_generated_and_embedded(rendered: Path) -> None:
    cover = (rendered / "cover.jpg").read_bytes()
    with Image.open(io.BytesIO(cover)) as img:
        assert img.format == "JPEG" and img.size == (1400, 1400)
    assert cover == generated_cover(TITLE, AUTHOR)
    for mp3 in rendered.glob("*.mp3"):
        apic = ID3(mp3).getall("APIC")
        assert len(apic) == 1 and apic[0].data == cover and apic[0].type == 3
        assert apic[0].mime == "image/jpeg"


def test_tags(rendered: Path) -> None:
    files = sorted(rendered.glob("*.mp3"))
    for n, f in enumerate(files, start=1):
        id3 = ID3(f)
        assert id3.version[:2] == (2, 3)
        assert str(id3["TALB"]) == TITLE and str(id3["TIT2"]) == CHAPTERS[n - 1]
        assert str(id3["TRCK"]) == f"{n}/2"
        assert str(id3["TPE1"]) == str(id3["TPE2"]) == AUTHOR
        assert str(id3["TCOM"]) == "joe" and str(id3["TCON"]) == "Audiobook"
        assert id3.getall("COMM")[0].text[0].startswith("A storm")
        info = MP3(f).info
        assert info is not None and info.sample_rate == 22050 and info.channels == 1
        assert info.bitrate == pytest.approx(64000, rel=0.01)


def _loud(y: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.abs(y) > 10 ** (-60 / 20))


def test_levels_and_silence_after_decoding(rendered: Path) -> None:
    for f in sorted(rendered.glob("*.mp3")):
        y, rate = decode_audio(f)
        lufs = pyloudnorm.Meter(rate).integrated_loudness(y.astype(np.float64))
        assert lufs == pytest.approx(-19.0, abs=1.0), f.name
        assert peak_dbfs(y) <= -3.0
        loud = _loud(y)
        head, tail = loud[0] / rate, (y.size - 1 - loud[-1]) / rate
        assert 0.5 <= head <= 1.0 and 1.0 <= tail <= 5.0, (head, tail)


def test_subtitles_follow_the_audio(rendered: Path) -> None:
    mp3 = rendered / "01 - Chapter 1 The Storm.mp3"
    cues = read_vtt(mp3.with_suffix(".vtt"))
    assert cues[0].text == "Chapter 1: The Storm" and cues[0].voice == "Narrator"
    said = {c.text: c.voice for c in cues}
    assert said["Has he come in?"] == "Agnes Corliss"
    assert said["Eleven,"] == "Marguerite Hale" and said["she said."] == "Narrator"
    y, rate = decode_audio(mp3)
    for a, b in itertools.pairwise(cues):
        assert a.start < a.end <= b.start
        # between cues: our pause, digital silence (a 40 ms guard for codec smear)
        gap = y[round((a.end + 0.04) * rate) : round((b.start - 0.04) * rate)]
        assert gap.size and peak_dbfs(gap) <= -60
    for c in cues:  # inside a cue: the voice
        assert peak_dbfs(y[round(c.start * rate) : round(c.end * rate)]) > -30
    # the cue identifiers map back to the story text
    text = EXAMPLE.read_text(encoding="utf-8")
    start, end = map(int, cues[1].ident.split("-"))
    assert " ".join(text[start:end].split()) == cues[1].text


INTERLUDES = (
    "Title: Two Interludes\nAuthor: Ines Varga\n\n"
    "Interlude\n\nThe tide came in at dusk.\n\n* * *\n\nPell counted the boats.\n\n"
    'Interlude\n\n"Six boats," said Pell.\n\n'
    "Chapter 3\n\nThe harbour slept.\n"
)


def _chap_titles(mp3: Path) -> list[str]:
    id3 = ID3(mp3)
    chaps = {c.element_id: c for c in id3.getall("CHAP")}
    (toc,) = id3.getall("CTOC")
    return [str(chaps[i].sub_frames["TIT2"]) for i in toc.child_element_ids]


def test_chapters_are_unique_and_the_same_in_mp3_and_m4b(tmp_path: Path) -> None:
    """Two chapters with one title, one with a scene break: a library that joins the
    files' chapter frames must list three distinct chapters, the M4B the same three."""
    story = tmp_path / "interludes.txt"
    story.write_text(INTERLUDES, encoding="utf-8")
    for fmt in ("mp3", "m4b"):
        code, err = make(str(story), "-o", str(tmp_path / fmt), "--format", fmt)
        assert code == 0, err
    mp3s = sorted((tmp_path / "mp3" / "Ines Varga" / "Two Interludes").glob("*.mp3"))
    joined = [t for mp3 in mp3s for t in _chap_titles(mp3)]
    assert len(mp3s) == 3 and len(joined) == 3  # the scene break is no chapter
    assert len(set(joined)) == 3
    assert joined == [str(ID3(mp3)["TIT2"]) for mp3 in mp3s]
    (m4b,) = (tmp_path / "m4b" / "Ines Varga" / "Two Interludes").glob("*.m4b")
    assert [title for _, _, title in list_chapters(m4b)] == joined


def test_series_folder_and_tags(tmp_path: Path) -> None:
    story = tmp_path / "tide.txt"
    story.write_text(SHORT, encoding="utf-8")
    out = tmp_path / "out"
    code, err = make(str(story), "-o", str(out), "--series", "Harbour: Tales", "--series-part", "2")
    assert code == 0, err
    book = out / "Ines Varga" / "Harbour Tales" / "Tide Tables"
    mp3 = book / "01 - Chapter 1.mp3"
    id3 = ID3(mp3)
    assert str(id3["TXXX:series"]) == "Harbour: Tales" and str(id3["TXXX:series-part"]) == "2"
    assert str(id3["TXXX:MVNM"]) == "Harbour: Tales" and str(id3["TXXX:MVIN"]) == "2"
    assert str(id3["TIT1"]) == "Harbour: Tales #2"
    meta = json.loads((book / "metadata.json").read_text(encoding="utf-8"))
    assert meta["series"] == ["Harbour: Tales #2"]
    assert not (book / "desc.txt").exists()  # no summary, no empty desc.txt
    assert (book / "cover.jpg").is_file() and (book / "reader.txt").is_file()


def test_cover_option_and_high_quality(tmp_path: Path) -> None:
    story = tmp_path / "tide.txt"
    story.write_text(SHORT, encoding="utf-8")
    png = tmp_path / "art.png"
    Image.new("RGBA", (300, 200), (200, 30, 60, 255)).save(png)
    out = tmp_path / "out"
    code, err = make(str(story), "-o", str(out), "--cover", str(png), "--quality", "high")
    assert code == 0, err
    book = out / "Ines Varga" / "Tide Tables"
    with Image.open(book / "cover.jpg") as img:
        assert img.format == "JPEG" and img.size == (300, 200)
        r, g, b = img.convert("RGB").getpixel((150, 100))  # type: ignore[misc]
        assert abs(r - 200) < 8 and g < 45 and abs(b - 60) < 8
    mp3 = book / "01 - Chapter 1.mp3"
    assert ID3(mp3).getall("APIC")[0].data == (book / "cover.jpg").read_bytes()
    info = MP3(mp3).info
    assert info is not None and info.sample_rate == 44100
    assert info.bitrate == pytest.approx(192000, rel=0.001)


def test_bad_cover_is_a_usage_error(tmp_path: Path) -> None:
    story = tmp_path / "tide.txt"
    story.write_text(SHORT, encoding="utf-8")
    bad = tmp_path / "cover.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    code, err = make(str(story), "-o", str(tmp_path / "out"), "--cover", str(bad))
    assert code == 2 and "cover" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


TWO_CHAPTERS = """Title: Tide Tables
Author: Ines Varga
Summary: Two keepers disagree about the tide.

Chapter 1: Low Water

"Low water at six," said Pell. The gulls waited on the mud.

Chapter 2: High Water

"High water at noon," Mara answered, and rowed out anyway.
"""


def test_m4b_one_file_with_chapters(tmp_path: Path) -> None:
    story = tmp_path / "tide.txt"
    story.write_text(TWO_CHAPTERS, encoding="utf-8")
    out = tmp_path / "out"
    book = out / "Ines Varga" / "Tide Tables"
    assert make(str(story), "-o", str(out))[0] == 0  # MP3 first: switching must tidy up
    code, err = make(str(story), "-o", str(out), "--format", "m4b")
    assert code == 0, err
    assert sorted(p.name for p in book.iterdir() if not p.name.startswith(".")) == [
        "Tide Tables.m4b",
        "Tide Tables.vtt",
        "cover.jpg",
        "desc.txt",
        "metadata.json",
        "reader.txt",
    ]
    m4b = book / "Tide Tables.m4b"
    chapters = list_chapters(m4b)
    assert [c[2] for c in chapters] == ["Chapter 1: Low Water", "Chapter 2: High Water"]
    meta = json.loads((book / "metadata.json").read_text(encoding="utf-8"))
    assert [(c["title"], c["start"], c["end"]) for c in meta["chapters"]] == [
        (title, pytest.approx(start, abs=0.002), pytest.approx(end, abs=0.002))
        for start, end, title in chapters
    ]
    y, rate = decode_audio(m4b)
    assert chapters[0][0] == 0 and abs(chapters[-1][1] - y.size / rate) <= 0.05
    cues = read_vtt(m4b.with_suffix(".vtt"))
    second = next(c for c in cues if c.text == "Chapter 2: High Water")
    assert 0.5 <= second.start - chapters[1][0] <= 1.0  # the chapter's head silence
    assert next(c for c in cues if c.text == "High water at noon,").voice == "Mara"
    for start, end, _ in chapters:
        part = y[round(start * rate) : round(end * rate)]
        lufs = pyloudnorm.Meter(rate).integrated_loudness(part.astype(np.float64))
        assert lufs == pytest.approx(-19.0, abs=1.0) and peak_dbfs(part) <= -3.0
        loud = _loud(part)
        assert 0.5 <= loud[0] / rate <= 1.0 and 1.0 <= (part.size - loud[-1]) / rate <= 5.0
    from mutagen.mp4 import MP4

    tags = MP4(m4b).tags
    assert tags is not None and tags["\xa9nam"] == ["Tide Tables"]
    assert tags["\xa9ART"] == ["Ines Varga"] and tags["\xa9wrt"] == ["joe"]
    assert bytes(tags["covr"][0]) == (book / "cover.jpg").read_bytes()
    mtime = m4b.stat().st_mtime_ns
    assert make(str(story), "-o", str(out), "--format", "m4b")[0] == 0
    assert m4b.stat().st_mtime_ns == mtime  # resumed: nothing re-encoded


def test_rerun_resumes_and_changed_settings_re_encode(tmp_path: Path) -> None:
    story = tmp_path / "tide.txt"
    story.write_text(SHORT, encoding="utf-8")
    out = tmp_path / "out"
    assert make(str(story), "-o", str(out))[0] == 0
    mp3 = out / "Ines Varga" / "Tide Tables" / "01 - Chapter 1.mp3"
    vtt = mp3.with_suffix(".vtt")
    mtime = mp3.stat().st_mtime_ns
    assert make(str(story), "-o", str(out))[0] == 0
    assert mp3.stat().st_mtime_ns == mtime
    vtt.unlink()  # a chapter without its subtitles is not finished
    assert make(str(story), "-o", str(out))[0] == 0
    assert vtt.is_file() and mp3.stat().st_mtime_ns != mtime
    assert make(str(story), "-o", str(out), "--quality", "high")[0] == 0
    info = MP3(mp3).info
    assert info is not None and info.sample_rate == 44100


# --- units: covers and subtitles ---------------------------------------------------


def test_generated_cover_is_deterministic_and_per_book() -> None:
    a = generated_cover("Tide Tables", "Ines Varga", size=300)
    assert a == generated_cover("Tide Tables", "Ines Varga", size=300)
    assert a != generated_cover("Tide Tables II", "Ines Varga", size=300)
    with Image.open(io.BytesIO(a)) as img:
        assert img.format == "JPEG" and img.size == (300, 300)
    # a title no font size can fit still makes a cover
    assert generated_cover("W" * 400, None, size=200)


def test_book_cover_priority() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (64, 96), (10, 120, 30)).save(buf, format="PNG")
    png = buf.getvalue()
    embedded = book_cover("T", "A", embedded=png)
    with Image.open(io.BytesIO(embedded)) as img:
        assert img.format == "JPEG" and img.size == (64, 96)
    assert book_cover("T", "A", embedded=b"garbage") == generated_cover("T", "A")
    jpeg = normalize_cover(png)
    assert normalize_cover(jpeg) == jpeg  # a fitting JPEG is kept byte for byte
    with pytest.raises(ValueError):
        normalize_cover(b"not an image")


def test_vtt_round_trip_with_awkward_text() -> None:
    cues = [
        Cue(0.75, 2.5, "Fish & chips <tonight> --> yes", "Narrator", "10-20"),
        Cue(3661.001, 3662.0, "Line\nbreak", "Dr. <Who> & Co", "30-40"),
    ]
    text = format_vtt(cues)
    assert text.startswith("WEBVTT\n\n10-20\n00:00:00.750 --> 00:00:02.500\n")
    assert "01:01:01.001 --> 01:01:02.000" in text
    assert "<v Dr. &lt;Who&gt; &amp; Co>Line break" in text
    back = parse_vtt(text)
    assert [(c.start, c.end, c.voice, c.ident) for c in back] == [
        (0.75, 2.5, "Narrator", "10-20"),
        (3661.001, 3662.0, "Dr. <Who> & Co", "30-40"),
    ]
    assert back[0].text == "Fish & chips <tonight> --> yes" and back[1].text == "Line break"


def test_cue_labels() -> None:
    heading = Segment("heading", 0, 12, "## Chapter 2", 0)
    said = Segment("dialogue", 0, 5, "Hello", 0, speaker="Pell")
    unknown = Segment("dialogue", 0, 5, "Who?", 0)
    assert cue_text(heading) == "Chapter 2" and speaker_label(heading) == "Narrator"
    assert speaker_label(said) == "Pell" and speaker_label(unknown) == "Unknown"


def _epub_with_cover(path: Path, cover_png: bytes) -> Path:
    """A minimal EPUB 3 whose manifest marks a PNG as the cover image."""
    import zipfile

    opf = """<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:title>Salt Roads</dc:title><dc:creator>Oren Taal</dc:creator></metadata>
  <manifest>
    <item id="c1" href="one.xhtml" media-type="application/xhtml+xml"/>
    <item id="img" href="front.png" media-type="image/png" properties="cover-image"/>
  </manifest>
  <spine><itemref idref="c1"/></spine>
</package>"""
    page = (
        '<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml">'
        "<head><title>One</title></head><body><h1>One</h1>"
        "<p>The salt carts left before dawn, and nobody waved.</p></body></html>"
    )
    container = (
        '<?xml version="1.0"?><container version="1.0" '
        'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
        '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
        "</rootfiles></container>"
    )
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/container.xml", container)
        z.writestr("OEBPS/content.opf", opf)
        z.writestr("OEBPS/one.xhtml", page)
        z.writestr("OEBPS/front.png", cover_png)
    return path


def test_epub_cover_is_used(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (120, 180), (20, 90, 200)).save(buf, format="PNG")
    story = _epub_with_cover(tmp_path / "salt.epub", buf.getvalue())
    out = tmp_path / "out"
    code, err = make(str(story), "-o", str(out))
    assert code == 0, err
    book = out / "Oren Taal" / "Salt Roads"
    with Image.open(book / "cover.jpg") as img:
        assert img.format == "JPEG" and img.size == (120, 180)
        r, g, b = img.convert("RGB").getpixel((60, 90))  # type: ignore[misc]
        assert r < 40 and abs(g - 90) < 10 and b > 180
    (mp3,) = book.glob("*.mp3")
    assert ID3(mp3).getall("APIC")[0].data == (book / "cover.jpg").read_bytes()


def test_header_language_and_fandom_become_tags(tmp_path: Path) -> None:
    story = tmp_path / "tide.txt"
    story.write_text(
        "Title: Tide Tables\nFandom: Harbour Lights\nLanguage: English\n\n"
        + SHORT.split("\n\n", 1)[1],
        encoding="utf-8",
    )
    code, err = make(str(story), "-o", str(tmp_path / "out"))
    assert code == 0, err
    # no author: the book folder sits right under the output, with no artist tag
    (mp3,) = (tmp_path / "out" / "Tide Tables").glob("*.mp3")
    id3 = ID3(mp3)
    assert str(id3["TLAN"]) == "eng" and str(id3["TCON"]) == "Harbour Lights"
    assert "TPE1" not in id3 and "TPE2" not in id3
