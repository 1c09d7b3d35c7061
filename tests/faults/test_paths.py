"""Hostile folders: a story folder from an archive, an output folder someone else can
write to. Nothing planted there may make a render write, rename or delete anything
outside the output folder (or, for the sidecar, outside the story's folder)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from audiobook.errors import ExportError
from audiobook.fsutil import atomic_write, ensure_inside, is_plain_name, make_dirs
from audiobook.render import MANIFEST

from .helpers import assert_complete_mp3, leftovers, make, mp3s, story_text, write

BOOK = Path("Story")  # no author folder when the author is unknown


def victim(tmp_path: Path, name: str = "precious.txt") -> Path:
    """A file of the user's outside the output folder that must survive untouched."""
    return write(tmp_path / "elsewhere" / name, "the user's own file\n")


def test_planted_manifest_cannot_delete_outside(tmp_path: Path) -> None:
    story = write(tmp_path / "story.txt", story_text(1, 1))
    target = victim(tmp_path)
    sibling = victim(tmp_path, "sibling.mp3")
    book = tmp_path / "out" / BOOK
    entries = {
        str(target): "x:1.0",  # absolute
        "../../../elsewhere/sibling.mp3": "x:1.0",  # climbing out
        "sub/dir.mp3": "x:1.0",  # a separator
        "..": "x:1.0",
    }
    write(book / MANIFEST, json.dumps(entries))
    out = make(story, "-o", tmp_path / "out")
    assert out.code == 0, out.stderr
    assert target.read_text() == sibling.read_text() == "the user's own file\n"
    assert [p.name for p in mp3s(tmp_path / "out")] == ["01 - Chapter 1.mp3"]


def test_planted_current_format_manifest_cannot_delete_outside(tmp_path: Path) -> None:
    story = write(tmp_path / "story.txt", story_text(1, 1))
    target = victim(tmp_path, "track.mp3")
    made = {"fingerprint": "x", "seconds": 1.0, "sums": {}}
    files = {str(target): made, "../../../elsewhere/track.mp3": made}
    data = {"format": 2, "source": None, "files": files}
    write(tmp_path / "out" / BOOK / MANIFEST, json.dumps(data))
    out = make(story, "-o", tmp_path / "out")
    assert out.code == 0, out.stderr
    assert target.read_text() == "the user's own file\n"


def test_symlinks_at_old_temporary_names_are_never_written_through(tmp_path: Path) -> None:
    story = write(tmp_path / "story.txt", story_text(1, 1))
    book = tmp_path / "out" / BOOK
    book.mkdir(parents=True)
    target = victim(tmp_path)
    planted = [
        book / "01 - Chapter 1.mp3.part",
        book / "01 - Chapter 1.vtt.part",
        book / "cover.jpg.part",
        book / "reader.txt.part",
        book / f"{MANIFEST}.part",
        book / "Story.m3u8.part",
        tmp_path / "story.txt.audiobook.toml.part",
    ]
    for link in planted:
        link.symlink_to(target)
    out = make(story, "-o", tmp_path / "out")
    assert out.code == 0, out.stderr
    assert target.read_text() == "the user's own file\n"
    assert_complete_mp3(book / "01 - Chapter 1.mp3")


def test_symlink_at_a_final_name_is_replaced_not_followed(tmp_path: Path) -> None:
    story = write(tmp_path / "story.txt", story_text(1, 1))
    book = tmp_path / "out" / BOOK
    book.mkdir(parents=True)
    target = victim(tmp_path)
    for name in ("cover.jpg", "reader.txt", "01 - Chapter 1.mp3", MANIFEST):
        (book / name).symlink_to(target)
    out = make(story, "-o", tmp_path / "out")
    assert out.code == 0, out.stderr
    assert target.read_text() == "the user's own file\n"
    for name in ("cover.jpg", "reader.txt", "01 - Chapter 1.mp3", MANIFEST):
        assert not (book / name).is_symlink() and (book / name).is_file()


def test_sidecar_symlink_is_replaced_not_followed(tmp_path: Path) -> None:
    story = write(tmp_path / "story.txt", story_text(1, 1))
    target = write(tmp_path / "elsewhere" / "notes.toml", "# someone else's file\n")
    sidecar = tmp_path / "story.txt.audiobook.toml"
    sidecar.symlink_to(target)
    out = make(story, "-o", tmp_path / "out")
    assert out.code == 0, out.stderr
    assert target.read_text() == "# someone else's file\n"
    assert not sidecar.is_symlink() and "[cast]" in sidecar.read_text()


@pytest.mark.parametrize("level", ["Saga", "Saga/Story"])
def test_symlinked_output_subfolder_is_refused(tmp_path: Path, level: str) -> None:
    story = write(tmp_path / "story.txt", story_text(1, 1))
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "Story").mkdir(parents=True)
    link = tmp_path / "out" / level
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(elsewhere if level == "Saga" else elsewhere / "Story")
    out = make("--series", "Saga", story, "-o", tmp_path / "out")  # OUT/Saga/Story
    out.assert_no_traceback()
    assert out.code == 1
    assert out.errors == [
        f"{link}: output folder is a symbolic link; refusing to write through it"
    ], out.stderr
    assert list(elsewhere.rglob("*")) == [elsewhere / "Story"]


def test_output_root_may_be_a_symlink(tmp_path: Path) -> None:
    """The folder the user names is theirs to point anywhere; only what is below it is
    checked."""
    story = write(tmp_path / "story.txt", story_text(1, 1))
    real = tmp_path / "disk"
    real.mkdir()
    (tmp_path / "out").symlink_to(real)
    out = make(story, "-o", tmp_path / "out")
    assert out.code == 0, out.stderr
    assert len(mp3s(real)) == 1


def test_fifo_at_a_side_file_name_does_not_hang(tmp_path: Path) -> None:
    story = write(tmp_path / "story.txt", story_text(1, 1))
    book = tmp_path / "out" / BOOK
    book.mkdir(parents=True)
    os.mkfifo(book / "cover.jpg")
    os.mkfifo(book / MANIFEST)
    out = make(story, "-o", tmp_path / "out")  # the helper's deadline fails a hang
    assert out.code == 0, out.stderr
    assert (book / "cover.jpg").is_file() and (book / MANIFEST).is_file()
    assert leftovers(tmp_path / "out") == []


@pytest.mark.parametrize(
    ("name", "plain"),
    [
        ("01 - One.mp3", True),
        ("..", False),
        (".", False),
        ("", False),
        ("a/b.mp3", False),
        ("a\\b.mp3", False),
        ("/etc/passwd", False),
        ("nul\0.mp3", False),
        (5, False),
    ],
)
def test_manifest_names_must_be_plain(name: object, plain: bool) -> None:
    assert is_plain_name(name) is plain


def test_helpers_refuse_paths_outside_their_root(tmp_path: Path) -> None:
    root = tmp_path / "out"
    root.mkdir()
    (root / "link").symlink_to(tmp_path)
    with pytest.raises(ExportError, match="refusing to write outside"):
        ensure_inside(root, root / ".." / "x.mp3")
    with pytest.raises(ExportError, match="refusing to write outside"):
        ensure_inside(root, root / "link" / "x.mp3")  # through a symlinked folder
    with pytest.raises(ExportError, match="refusing to write outside"):
        atomic_write(root / "link" / "x.txt", "no", root=root)
    with pytest.raises(ExportError, match="symbolic link"):
        make_dirs(root, root / "link" / "book")
    assert not (tmp_path / "x.txt").exists() and not (tmp_path / "book").exists()
