"""A folder of everything: the good stories are rendered, each bad one is reported on
one line, and the exit status says some failed."""

from __future__ import annotations

import os
from pathlib import Path

from .helpers import (
    assert_complete_mp3,
    build_epub,
    chapters_xhtml,
    leftovers,
    make,
    mp3s,
    opf,
    story_text,
    write,
)


def test_folder_of_good_and_bad_files(tmp_path: Path) -> None:
    inbox = tmp_path / "downloads"
    write(inbox / "a-good.txt", story_text(2, 1))
    write(inbox / "b-empty.txt", b"")
    write(inbox / "c-photo.txt", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(200))
    build_epub(
        inbox / "d-good.epub",
        {
            "OEBPS/content.opf": opf(["a.xhtml"], title="Signal Hill", author="Pell Marrow"),
            "OEBPS/a.xhtml": chapters_xhtml("The beacon flared twice before dawn."),
        },
    )
    write(inbox / "e-fake.epub", "not a zip at all")
    write(
        inbox / "f-good.html",
        "<html><body><h1>Brine</h1><p>Salt dried on the oars.</p></body></html>",
    )
    write(inbox / "g-noise.md", bytes(range(256)) * 4)
    write(inbox / "h-notes.pdf", b"%PDF-1.7 not a story suffix: never picked up")
    write(inbox / ".hidden.txt", b"")  # hidden: never picked up
    write(inbox / "nested" / "i-good.md", "# Tidewater\n\nThe ferry bell rang.\n")
    write(inbox / "story.txt" / "j-good.txt", "Chapter 1\n\nInside a folder called story.txt.\n")
    (inbox / "loop").symlink_to(inbox)  # a folder containing itself: walked once

    out = make(inbox, "-o", tmp_path / "out")
    out.assert_no_traceback()
    assert out.code == 1
    assert out.errors == [
        f"{inbox / 'b-empty.txt'}: file is empty",
        f"{inbox / 'c-photo.txt'}: not a text file (looks like JPEG image)",
        f"{inbox / 'e-fake.epub'}: not a valid EPUB (not a zip archive)",
        f"{inbox / 'g-noise.md'}: not a text file (binary data)",
    ]
    assert "done: 5 stories, 6 chapters" in out.stderr and "4 failed" in out.stderr
    books = sorted({p.parent.relative_to(tmp_path / "out") for p in mp3s(tmp_path / "out")})
    assert books == [
        Path("A Good"),
        Path("Brine"),
        Path("I Good"),
        Path("J Good"),
        Path("Pell Marrow/Signal Hill"),
    ]
    for mp3 in mp3s(tmp_path / "out"):
        assert_complete_mp3(mp3)
    assert leftovers(tmp_path / "out") == []
    # Bad files get no sidecar; good ones do.
    assert sorted(p.name for p in inbox.rglob("*.audiobook.toml")) == [
        "a-good.txt.audiobook.toml",
        "d-good.epub.audiobook.toml",
        "f-good.html.audiobook.toml",
        "i-good.md.audiobook.toml",
        "j-good.txt.audiobook.toml",
    ]


def test_missing_and_bad_paths_on_the_command_line(tmp_path: Path) -> None:
    good = write(tmp_path / "good.txt", story_text(1, 1))
    gone = tmp_path / "gone.txt"
    dangling = tmp_path / "dangling.txt"
    os.symlink(tmp_path / "nowhere.txt", dangling)
    out = make(gone, good, dangling, "-o", tmp_path / "out")
    out.assert_no_traceback()
    assert out.code == 1
    assert out.errors == [f"{gone}: no such file or folder", f"{dangling}: file not found"]
    assert [p.parent.name for p in mp3s(tmp_path / "out")] == ["Good"]
