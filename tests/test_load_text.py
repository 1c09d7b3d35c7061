"""load(): plain text and Markdown - decoding, rejection of non-text, front matter."""

from __future__ import annotations

import codecs
import io
from pathlib import Path

import pytest

from audiobook.errors import LoadError
from audiobook.load import load

STORY = "\u201cWait,\u201d said Mara. \u2018It\u2019s only the wind\u2026\u2019 \u2014 caf\u00e9.\n"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def universal(data: bytes, encoding: str) -> str:
    """What Python's own text mode (universal newlines) reads from these bytes."""
    return io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline=None).read()


@pytest.mark.parametrize(
    ("bom", "encoding"),
    [
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ],
)
def test_bom_files_decode_and_lose_the_bom(tmp_path: Path, bom: bytes, encoding: str) -> None:
    doc = load(write(tmp_path, "s.txt", bom + STORY.encode(encoding)))
    assert doc.text == STORY
    assert doc.format == "text"
    assert doc.meta.title is None and doc.meta.author is None
    assert doc.hints == []


def test_utf8_without_bom(tmp_path: Path) -> None:
    assert load(write(tmp_path, "s.txt", STORY.encode("utf-8"))).text == STORY


def test_utf16_without_bom_is_not_mistaken_for_binary(tmp_path: Path) -> None:
    text = "Plain words in UTF-16, no byte order mark.\nSecond line.\n"
    assert load(write(tmp_path, "s.txt", text.encode("utf-16-le"))).text == text


def test_cp1252_smart_quotes(tmp_path: Path) -> None:
    text = "\u201cHello,\u201d she said. It\u2019s late\u2026 \u2014 go home.\n"
    assert load(write(tmp_path, "s.txt", text.encode("cp1252"))).text == text


def test_cp1252_single_quote_in_longer_text(tmp_path: Path) -> None:
    # charset-normalizer alone calls this Big5; the cp1252 preference must win.
    text = "Hello there, my friend. It\u2019s been a while since the harbour froze over.\n" * 2
    assert load(write(tmp_path, "s.txt", text.encode("cp1252"))).text == text


def test_tiny_cp1252_file(tmp_path: Path) -> None:
    assert (
        load(write(tmp_path, "s.txt", "\u201cHi\u201d".encode("cp1252"))).text == "\u201cHi\u201d"
    )


def test_latin1(tmp_path: Path) -> None:
    text = "Le caf\u00e9 na\u00eff \u00e9tait d\u00e9j\u00e0 ferm\u00e9. Tr\u00e8s \u00e9trange.\n"
    assert load(write(tmp_path, "s.txt", text.encode("latin-1"))).text == text


def test_cyrillic_legacy_encoding_is_guessed(tmp_path: Path) -> None:
    text = "Он сказал: «Нет». Она ушла домой, не оглядываясь. Было уже поздно и темно.\n"
    assert load(write(tmp_path, "s.txt", text.encode("cp1251"))).text == text


def test_mostly_utf8_with_a_stray_cp1252_byte(tmp_path: Path) -> None:
    data = (
        "caf\u00e9 \u2014 na\u00efve ".encode() + b"\x93quoted\x94" + " r\u00e9sum\u00e9".encode()
    )
    text = load(write(tmp_path, "s.txt", data)).text
    assert text == "caf\u00e9 \u2014 na\u00efve \u201cquoted\u201d r\u00e9sum\u00e9"


def test_mixed_newlines_match_universal_newline_reading(tmp_path: Path) -> None:
    data = b"one\r\ntwo\rthree\nfour\r\n\r\nfive\r"
    doc = load(write(tmp_path, "s.txt", data))
    assert doc.text == universal(data, "utf-8") == "one\ntwo\nthree\nfour\n\nfive\n"


def test_crlf_in_utf16(tmp_path: Path) -> None:
    data = codecs.BOM_UTF16_LE + "a\r\nb\rc".encode("utf-16-le")
    assert load(write(tmp_path, "s.txt", data)).text == "a\nb\nc"


def test_only_the_first_bom_is_removed(tmp_path: Path) -> None:
    # Python's utf-8-sig strips one BOM; a second U+FEFF is text (a zero-width space).
    data = codecs.BOM_UTF8 + "\ufeffHi".encode()
    assert load(write(tmp_path, "s.txt", data)).text == universal(data, "utf-8-sig")


def test_text_that_merely_starts_like_a_signature(tmp_path: Path) -> None:
    assert load(write(tmp_path, "s.txt", b"ID3 tags explained.\n")).text == "ID3 tags explained.\n"


def test_mp3_renamed_to_txt(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="looks like MP3 audio"):
        load(write(tmp_path, "s.txt", b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(100)))


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(LoadError) as e:
        load(write(tmp_path, "s.txt", b""))
    assert e.value.message == "file is empty"
    assert e.value.path == tmp_path / "s.txt"


@pytest.mark.parametrize("data", [b"  \n\t\r\n  ", codecs.BOM_UTF8 + b"\n\n"])
def test_whitespace_only_file(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(LoadError, match="file has no text"):
        load(write(tmp_path, "s.txt", data))


def test_png_renamed_to_txt(tmp_path: Path) -> None:
    data = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    with pytest.raises(LoadError) as e:
        load(write(tmp_path, "picture.txt", data))
    assert e.value.message == "not a text file (looks like PNG image)"


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF document"),
        (b"\x1f\x8b\x08\x00" + bytes(20), "gzip archive"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG image"),
    ],
)
def test_other_binary_magic(tmp_path: Path, data: bytes, kind: str) -> None:
    with pytest.raises(LoadError, match=f"looks like {kind}"):
        load(write(tmp_path, "s.txt", data))


def test_nul_bytes_mean_binary(tmp_path: Path) -> None:
    data = b"some text\x00\x01\x02\x00\xff\xfe more \x00 text \x00\x00\x07"
    with pytest.raises(LoadError) as e:
        load(write(tmp_path, "s.txt", data))
    assert e.value.message == "not a text file (binary data)"


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(LoadError) as e:
        load(tmp_path / "nope.txt")
    assert e.value.message == "file not found"


def test_directory(tmp_path: Path) -> None:
    (tmp_path / "folder.txt").mkdir()
    with pytest.raises(LoadError) as e:
        load(tmp_path / "folder.txt")
    assert e.value.message == "is a directory"


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # chmod 000 does not stop root, so simulate the OS refusing the read.
    p = write(tmp_path, "locked.txt", b"secret story")

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(LoadError) as e:
        load(p)
    assert e.value.message == "permission denied"
    assert str(e.value) == f"{p}: permission denied"


def test_other_os_errors_become_load_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = write(tmp_path, "s.txt", b"text")

    def fail(self: Path) -> bytes:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(Path, "read_bytes", fail)
    with pytest.raises(LoadError, match="cannot read file"):
        load(p)


def test_too_large_file_is_refused_before_reading(tmp_path: Path) -> None:
    p = tmp_path / "huge.txt"
    with p.open("wb") as f:
        f.truncate(65 * 1024 * 1024)  # sparse: costs no disk and is never read
    with pytest.raises(LoadError) as e:
        load(p)
    assert e.value.message == "file too large (65.0 MB, limit 64 MB)"


def test_unknown_suffix_is_read_as_text(tmp_path: Path) -> None:
    doc = load(write(tmp_path, "story.log", b"Just words.\n"))
    assert (doc.format, doc.text) == ("text", "Just words.\n")


def test_unknown_suffix_with_html_content_is_read_as_html(tmp_path: Path) -> None:
    doc = load(write(tmp_path, "story", b"<!DOCTYPE html><html><body><p>Hi.</p></body></html>"))
    assert (doc.format, doc.text) == ("html", "Hi.")


def test_title_lines_are_left_for_the_structure_stage(tmp_path: Path) -> None:
    doc = load(write(tmp_path, "s.txt", b"Title: The Ledger\nAuthor: Someone\n\nText.\n"))
    assert doc.meta.title is None and doc.meta.author is None


# --- Markdown ---------------------------------------------------------------------------


def test_markdown_text_is_unchanged(tmp_path: Path) -> None:
    data = b"# Chapter One\r\n\r\nIt began *quietly*.\r\n"
    doc = load(write(tmp_path, "s.md", data))
    assert doc.format == "markdown"
    assert doc.text == "# Chapter One\n\nIt began *quietly*.\n"
    assert doc.hints == []


def test_markdown_front_matter(tmp_path: Path) -> None:
    text = '---\ntitle: "The Ledger"\nauthor: Ana Quill\ndate: 2022-05-01\n---\n\n# One\n\nText.\n'
    doc = load(write(tmp_path, "s.markdown", text.encode()))
    assert doc.text == text
    assert (doc.meta.title, doc.meta.author, doc.meta.year) == ("The Ledger", "Ana Quill", "2022")
    [hint] = doc.hints
    assert hint.kind == "skip" and hint.start == 0
    assert doc.text[hint.start : hint.end].endswith("---")
    assert "# One" not in doc.text[hint.start : hint.end]


def test_markdown_front_matter_author_list(tmp_path: Path) -> None:
    text = "---\ntitle: Two Hands\nauthors:\n  - Ana Quill\n  - Ben Moth\n---\nText.\n"
    doc = load(write(tmp_path, "s.md", text.encode()))
    assert doc.meta.author == "Ana Quill, Ben Moth"


def test_markdown_opening_rule_is_not_front_matter(tmp_path: Path) -> None:
    text = "---\nNote: this story opens with a rule.\nAnd a second line of prose.\n---\nText.\n"
    doc = load(write(tmp_path, "s.md", text.encode()))
    assert doc.hints == [] and doc.meta.title is None
