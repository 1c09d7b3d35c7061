"""The load stage's public API: STORY_SUFFIXES, find_stories, and load's error contract."""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from audiobook.errors import LoadError
from audiobook.load import STORY_SUFFIXES, find_stories, load
from audiobook.model import Document


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_story_suffixes() -> None:
    assert (
        frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".xhtml", ".epub"})
        == STORY_SUFFIXES
    )


def test_find_stories_walks_a_nested_folder(tmp_path: Path) -> None:
    root = tmp_path / "library"
    wanted = [
        touch(root / "Part 2.txt"),
        touch(root / "Part 10.md"),  # natural order: 2 before 10
        touch(root / "a" / "deep" / "story.EPUB"),
        touch(root / "a" / "page.htm"),
        touch(root / "b.html"),
    ]
    touch(root / "Part 2.audiobook.toml")  # sidecar
    touch(root / "cover.jpg")
    touch(root / "notes.docx")
    touch(root / ".hidden.txt")
    touch(root / ".git" / "story.txt")
    touch(root / "a" / ".cache" / "x.md")
    found, errors = find_stories([root])
    assert errors == []
    assert sorted(found) == sorted(wanted)
    assert found == [
        root / "a" / "deep" / "story.EPUB",
        root / "a" / "page.htm",
        root / "b.html",
        root / "Part 2.txt",
        root / "Part 10.md",
    ]


def test_find_stories_takes_files_as_given_and_reports_missing(tmp_path: Path) -> None:
    odd = touch(tmp_path / "story.log")
    hidden = touch(tmp_path / ".secret.txt")
    folder = tmp_path / "dir"
    inside = touch(folder / "one.txt")
    missing = tmp_path / "missing.txt"
    found, errors = find_stories([odd, str(missing), hidden, folder, inside])
    assert found == [odd, hidden, inside]  # a file met twice is listed once
    [err] = errors
    assert isinstance(err, LoadError)
    assert err.path == missing


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_find_stories_survives_a_symlink_loop(tmp_path: Path) -> None:
    touch(tmp_path / "books" / "one.txt")
    (tmp_path / "books" / "loop").symlink_to(tmp_path / "books")
    found, errors = find_stories([tmp_path / "books"])
    assert found == [tmp_path / "books" / "one.txt"]
    assert errors == []


def test_find_stories_empty_folder(tmp_path: Path) -> None:
    assert find_stories([tmp_path]) == ([], [])


def test_load_accepts_str_paths(tmp_path: Path) -> None:
    p = touch(tmp_path / "s.txt", b"Hello.\n")
    doc = load(str(p))
    assert doc.path == p
    assert doc.text == "Hello.\n"


def test_fifo_is_refused_instead_of_blocking(tmp_path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("needs mkfifo")
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    with pytest.raises(LoadError, match="not a regular file"):
        load(fifo)


@pytest.mark.parametrize("suffix", [".txt", ".md", ".html", ".epub", ".xyz"])
def test_every_reader_reports_missing_files_the_same_way(tmp_path: Path, suffix: str) -> None:
    with pytest.raises(LoadError) as e:
        load(tmp_path / f"missing{suffix}")
    assert e.value.message == "file not found"


def load_or_error(path: Path) -> Document | LoadError:
    try:
        return load(path)
    except LoadError as e:
        return e


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=2048), suffix=st.sampled_from([".txt", ".md", ".html", ".epub"]))
def test_random_bytes_give_a_document_or_a_load_error(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        result = load_or_error(touch(Path(d) / f"junk{suffix}", data))
    assert isinstance(result, Document | LoadError)
    if isinstance(result, Document):
        assert result.text.strip()


def _valid_epub_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        z.writestr(
            "META-INF/container.xml",
            '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
            '<rootfile full-path="c.opf" media-type="application/oebps-package+xml"/>'
            "</rootfiles></container>",
        )
        z.writestr(
            "c.opf",
            '<package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata/>'
            '<manifest><item id="a" href="a.xhtml" media-type="application/xhtml+xml"/>'
            '</manifest><spine><itemref idref="a"/></spine></package>',
        )
        z.writestr("a.xhtml", "<html><body><p>" + "Some words here. " * 20 + "</p></body></html>")
    return buf.getvalue()


VALID_EPUB = _valid_epub_bytes()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(VALID_EPUB) - 1), st.integers(0, 255)), max_size=8))
@example([(713, 0)])  # found by this test: a central-directory entry with an empty name
def test_corrupted_epub_gives_a_document_or_a_load_error(changes: list[tuple[int, int]]) -> None:
    data = bytearray(VALID_EPUB)
    for pos, value in changes:
        data[pos] = value
    with tempfile.TemporaryDirectory() as d:
        result = load_or_error(touch(Path(d) / "book.epub", bytes(data)))
    assert isinstance(result, Document | LoadError)


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), min_size=1))
def test_utf8_text_reads_exactly_like_python_text_mode(text: str) -> None:
    data = text.encode("utf-8")
    expected = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline=None).read()
    with tempfile.TemporaryDirectory() as d:
        result = load_or_error(touch(Path(d) / "s.txt", data))
    if isinstance(result, LoadError):
        assert not expected.strip()
    else:
        assert result.text == expected


def test_find_stories_skips_our_own_output(tmp_path: Path) -> None:
    """A rendered book folder (manifest, or chapters beside desc.txt/reader.txt) and the
    output folder itself hold no stories, so ``make`` run twice renders the same books."""
    from audiobook.load import OUTPUT_MANIFEST
    from audiobook.render import MANIFEST

    assert OUTPUT_MANIFEST == MANIFEST
    (tmp_path / "story.txt").write_text("Once.\n")
    book = tmp_path / "output" / "Ann" / "Salt"
    book.mkdir(parents=True)
    for name in ("desc.txt", "reader.txt", "01 - One.vtt", MANIFEST):
        (book / name).write_text("x\n")
    stopped = tmp_path / "elsewhere" / "Half"  # a render stopped before its manifest
    stopped.mkdir(parents=True)
    for name in ("desc.txt", "reader.txt", "Half.m3u8"):
        (stopped / name).write_text("x\n")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "desc.txt").write_text("A story called desc.\n")
    found, errors = find_stories([tmp_path])
    assert not errors
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["notes/desc.txt", "story.txt"]

    out = tmp_path / "my-out"
    out.mkdir()
    (out / "stray.txt").write_text("Not a story.\n")
    found, _ = find_stories([tmp_path], exclude=[out])
    assert "my-out/stray.txt" not in [p.relative_to(tmp_path).as_posix() for p in found]
