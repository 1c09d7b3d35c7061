"""EPUB faults: broken archives and hostile ones (zip slip, XXE, zip bombs, DRM)."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

from audiobook.load import load

from .helpers import (
    assert_complete_mp3,
    assert_fails,
    build_epub,
    chapters_xhtml,
    files_under,
    make,
    mp3s,
    opf,
    script,
    spoken,
    write,
    xhtml,
)

ONE = chapters_xhtml("The signal fire was lit at dusk.", "&#8220;Again,&#8221; said Pell.")


def test_not_a_zip(tmp_path: Path) -> None:
    p = write(tmp_path / "book.epub", "Chapter 1\n\nPlain text wearing an .epub suffix.\n")
    assert_fails(make(p, "-o", tmp_path / "out"), p, "not a valid EPUB (not a zip archive)")


def test_truncated_download(tmp_path: Path) -> None:
    good = build_epub(
        tmp_path / "full.epub", {"OEBPS/content.opf": opf(["a.xhtml"]), "OEBPS/a.xhtml": ONE}
    )
    p = write(tmp_path / "partial.epub", good.read_bytes()[:300])  # central directory lost
    assert_fails(make(p, "-o", tmp_path / "out"), p, "not a valid EPUB (not a zip archive)")


def test_no_opf(tmp_path: Path) -> None:
    p = build_epub(tmp_path / "book.epub", {"OEBPS/a.xhtml": ONE}, opf_path=None)
    assert_fails(make(p, "-o", tmp_path / "out"), p, "not a valid EPUB (no OPF package)")


def test_spine_points_at_missing_files(tmp_path: Path) -> None:
    # The readable chapter is read; the missing ones are left out, not a crash.
    p = build_epub(
        tmp_path / "book.epub",
        {
            "OEBPS/content.opf": opf(["gone1.xhtml", "a.xhtml", "sub/gone2.xhtml"]),
            "OEBPS/a.xhtml": ONE,
        },
    )
    data = script(p)
    assert spoken(data).splitlines() == [
        "The signal fire was lit at dusk.",
        "Again",
        "said Pell.",
    ]
    out = make(p, "-o", tmp_path / "out")
    assert out.code == 0, out.stderr
    [mp3] = mp3s(tmp_path / "out")
    assert_complete_mp3(mp3)


def test_spine_points_only_at_missing_files(tmp_path: Path) -> None:
    p = build_epub(tmp_path / "book.epub", {"OEBPS/content.opf": opf(["gone.xhtml"])})
    assert_fails(make(p, "-o", tmp_path / "out"), p, "EPUB has no readable text")


def test_zip_slip_writes_nothing_outside_the_output(tmp_path: Path) -> None:
    # Members named ../ and absolute, hrefs climbing out of the archive, and a title
    # and author made of path parts. Only the output folder (and the cache and the
    # story's sidecar) may gain files.
    work = tmp_path / "work"
    p = build_epub(
        work / "slip.epub",
        {
            "OEBPS/content.opf": opf(
                ["a.xhtml", "../../../evil.xhtml", "/etc/evil.xhtml", "../../slipped.xhtml"],
                title="../../../../slipped-title",
                author="../../..",
            ),
            "OEBPS/a.xhtml": ONE,
            "../evil.xhtml": xhtml("<p>EVIL-TEXT</p>"),
            "../../slipped.xhtml": xhtml("<p>EVIL-TEXT</p>"),
            "/etc/evil.xhtml": xhtml("<p>EVIL-TEXT</p>"),
        },
    )
    before = files_under(tmp_path)
    out = make(p, "-o", work / "out")
    assert out.code == 0, out.stderr
    new = files_under(tmp_path) - before
    stray = [
        f
        for f in new
        if not f.is_relative_to(work / "out") and not f.is_relative_to(tmp_path / "cache")
    ]
    assert stray == [work / "slip.epub.audiobook.toml"]
    assert "EVIL-TEXT" not in load(p).text
    [mp3] = mp3s(work / "out")
    assert mp3.relative_to(work / "out").parts[:1] == ("slipped-title",)


def test_xxe_entity_in_opf(tmp_path: Path) -> None:
    secret = write(tmp_path / "secret.txt", "TOP-SECRET-PASSWORD")
    head = f'\n<!DOCTYPE package [<!ENTITY xxe SYSTEM "file://{secret}">]>'
    p = build_epub(
        tmp_path / "xxe.epub",
        {"OEBPS/content.opf": opf(["a.xhtml"], title="&xxe;", head=head), "OEBPS/a.xhtml": ONE},
    )
    out = make(p, "-o", tmp_path / "out")
    reason = "not a valid EPUB (unsafe XML entities in OEBPS/content.opf)"
    assert_fails(out, p, reason)
    assert "TOP-SECRET" not in out.stdout + out.stderr
    assert not (tmp_path / "out").exists()


def test_xxe_entity_in_a_chapter(tmp_path: Path) -> None:
    secret = write(tmp_path / "secret.txt", "TOP-SECRET-PASSWORD")
    chapter = (
        f'<?xml version="1.0"?><!DOCTYPE html [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>t</title></head>'
        "<body><p>Before &xxe; after.</p></body></html>"
    )
    p = build_epub(
        tmp_path / "xxe.epub",
        {"OEBPS/content.opf": opf(["a.xhtml"]), "OEBPS/a.xhtml": chapter},
    )
    data = script(p)
    assert "TOP-SECRET" not in str(data)
    out = make(p, "-o", tmp_path / "out")
    assert out.code == 0, out.stderr
    for f in files_under(tmp_path / "out"):
        assert b"TOP-SECRET" not in f.read_bytes(), f


def test_zip_bomb_member(tmp_path: Path) -> None:
    # 3 MB that deflates ~1000:1: refused by ratio before it is inflated.
    bomb = xhtml("<p>" + " " * (3 * 1024 * 1024) + "boom</p>")
    p = build_epub(
        tmp_path / "bomb.epub", {"OEBPS/content.opf": opf(["a.xhtml"]), "OEBPS/a.xhtml": bomb}
    )
    assert p.stat().st_size < 20_000
    out = make(p, "-o", tmp_path / "out")
    assert_fails(out, p, "EPUB member too large (possible zip bomb)")


def test_member_lying_about_its_size(tmp_path: Path) -> None:
    # The central directory claims a 4 GB chapter: refused from the claim alone.
    p = build_epub(
        tmp_path / "liar.epub", {"OEBPS/content.opf": opf(["a.xhtml"]), "OEBPS/a.xhtml": ONE}
    )
    data = bytearray(p.read_bytes())
    with zipfile.ZipFile(p) as z:
        names = [i.filename for i in z.infolist()]
    at = data.find(b"PK\x01\x02")  # central directory entries, in member order
    for name in names:
        if name == "OEBPS/a.xhtml":
            struct.pack_into("<I", data, at + 24, 0xFFFFFFF0)  # uncompressed size
        at = data.find(b"PK\x01\x02", at + 4)
    p.write_bytes(bytes(data))
    assert_fails(make(p, "-o", tmp_path / "out"), p, "EPUB member too large (possible zip bomb)")


def test_drm_protected(tmp_path: Path) -> None:
    encryption = """<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container"
      xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>
      <enc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>
      <enc:CipherData><enc:CipherReference URI="OEBPS/a.xhtml"/></enc:CipherData>
      </enc:EncryptedData></encryption>"""
    p = build_epub(
        tmp_path / "drm.epub",
        {
            "OEBPS/content.opf": opf(["a.xhtml"]),
            "OEBPS/a.xhtml": bytes(range(256)) * 8,  # ciphertext
            "META-INF/encryption.xml": encryption,
        },
    )
    assert_fails(make(p, "-o", tmp_path / "out"), p, "EPUB is DRM-protected")
