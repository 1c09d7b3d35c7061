"""The read-along EPUB: every line of the text is a <par> whose text exists and whose
clip lies inside its chapter's audio, clips in order and never overlapping."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree
from mutagen.mp3 import MP3

from audiobook.cli import main
from audiobook.readalong import clock, epub_language, voice_class

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "the-lighthouse-at-gull-point.txt"
NS = {
    "smil": "http://www.w3.org/ns/SMIL",
    "opf": "http://www.idpf.org/2007/opf",
    "x": "http://www.w3.org/1999/xhtml",
}


def _seconds(value: str) -> float:
    h, m, s = value.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


@pytest.fixture(scope="module")
def epub(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The example rendered with the tone engine as --format epub: (epub, book folder)."""
    root = tmp_path_factory.mktemp("readalong")
    story = root / EXAMPLE.name
    shutil.copy(EXAMPLE, story)
    args = ["make", "--engine", "tone", "--jobs", "1", str(story), "-o", str(root / "out")]
    r = CliRunner().invoke(main, [*args, "--format", "epub"], catch_exceptions=False)
    assert r.exit_code == 0, r.stderr
    book = root / "out" / "Wren Aldous" / "The Lighthouse at Gull Point"
    return book / "The Lighthouse at Gull Point.epub", book


def test_every_par_points_at_text_and_audio_in_order(epub: tuple[Path, Path]) -> None:
    path, book = epub
    mp3s = sorted(book.glob("*.mp3"))
    with zipfile.ZipFile(path) as z:
        assert z.namelist()[0] == "mimetype" and z.read("mimetype") == b"application/epub+zip"
        assert z.getinfo("mimetype").compress_type == zipfile.ZIP_STORED
        opf = etree.fromstring(z.read("OEBPS/package.opf"))
        smils = [i.get("href") for i in opf.iterfind(".//opf:item", NS) if "smil" in i.get("href")]
        assert len(smils) == len(mp3s) == 2
        total = 0.0
        for smil_name, mp3 in zip(sorted(smils), mp3s, strict=True):
            smil = etree.fromstring(z.read(f"OEBPS/{smil_name}"))
            pars = smil.findall(".//smil:par", NS)
            assert len(pars) > 10
            info = MP3(mp3).info
            assert info is not None
            # the chapter file inside the EPUB is the chapter file beside it
            audio = {p.find("smil:audio", NS).get("src") for p in pars}
            assert len(audio) == 1 and z.read(f"OEBPS/{audio.pop()}") == mp3.read_bytes()
            end = 0.0
            docs: dict[str, etree._Element] = {}
            for par in pars:
                doc_name, ident = par.find("smil:text", NS).get("src").split("#")
                if doc_name not in docs:
                    docs[doc_name] = etree.fromstring(z.read(f"OEBPS/{doc_name}"))
                (span,) = docs[doc_name].xpath("//*[@id=$i]", i=ident)
                assert "".join(span.itertext()).strip()
                assert span.get("class").startswith("voice-")
                clip = par.find("smil:audio", NS)
                a, b = _seconds(clip.get("clipBegin")), _seconds(clip.get("clipEnd"))
                assert end <= a < b <= info.length + 0.001  # in order, no overlap, inside
                end = b
            duration = _seconds(pars[-1].find("smil:audio", NS).get("clipEnd")) - _seconds(
                pars[0].find("smil:audio", NS).get("clipBegin")
            )
            mo = opf.xpath("//opf:meta[@property='media:duration' and @refines]", namespaces=NS)
            assert any(m.text == clock(duration) for m in mo)
            total += round(duration, 3)
        (whole,) = opf.xpath(
            "//opf:meta[@property='media:duration' and not(@refines)]", namespaces=NS
        )
        assert _seconds(whole.text) == pytest.approx(total, abs=0.002)


def test_speakers_are_css_classes(epub: tuple[Path, Path]) -> None:
    path, _ = epub
    with zipfile.ZipFile(path) as z:
        text = z.read("OEBPS/c001.xhtml").decode()
        css = z.read("OEBPS/style.css").decode()
    assert 'class="voice-marguerite-hale">Eleven,</span>' in text
    assert ".voice-marguerite-hale {" in css and ".-epub-media-overlay-active {" in css
    assert voice_class("Agnès  O'Hara") == "voice-agn-s-o-hara"
    assert voice_class(None) == "voice-unknown"


def test_readalong_needs_chapter_files(tmp_path: Path) -> None:
    args = ["make", "--engine", "tone", str(EXAMPLE), "-o", str(tmp_path), "--format", "m4b"]
    r = CliRunner().invoke(main, [*args, "--readalong"])
    assert r.exit_code == 2 and "--readalong" in r.stderr


@pytest.mark.parametrize(
    ("given", "tag"),
    [("en_US", "en-US"), ("pt-BR", "pt-BR"), ("English", "en"), ("fre", "fr"), ("Deutsch", "und")],
)
def testepub_language(given: str, tag: str) -> None:
    assert epub_language(given) == tag
