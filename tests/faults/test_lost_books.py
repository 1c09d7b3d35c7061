"""Unlucky timing and damaged files: two stories with one title, two runs at once, a
chapter file cut short or damaged after it was made, a flipped bit in the audio cache.
No finished book may be overwritten or lost, and nothing damaged may be trusted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from audiobook.fsutil import held_lock
from audiobook.render import LOCK_FILE, MANIFEST
from audiobook.synth import AudioCache

from .helpers import (
    TONE,
    assert_complete_mp3,
    env_with,
    leftovers,
    make,
    mp3s,
    story_text,
    write,
)

BOOK = Path("Story")  # no author folder when the author is unknown


def two_stories_one_title(tmp_path: Path) -> tuple[Path, Path]:
    """Two different stories whose folder would be OUT/Story."""
    a = write(tmp_path / "a" / "story.txt", story_text(3, 1))
    b = write(tmp_path / "b" / "story.txt", "Chapter 1\n\nThe kiln cooled overnight.\n")
    return a, b


def chapters(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.mp3"))


def test_two_stories_one_title_in_one_batch(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = two_stories_one_title(tmp_path)
    out = make(a, b, "-o", tmp_path / "out")
    assert out.code == 0, out.stderr
    first, second = tmp_path / "out" / BOOK, tmp_path / "out" / "Story (2)"
    assert chapters(first) == ["01 - Chapter 1.mp3", "02 - Chapter 2.mp3", "03 - Chapter 3.mp3"]
    assert chapters(second) == ["01 - Chapter 1.mp3"]
    for mp3 in mp3s(tmp_path / "out"):
        assert_complete_mp3(mp3)
    assert f"{b.resolve()}: another story already has Story; this one goes to {second}" in (
        caplog.messages
    )


def test_second_story_with_the_same_title_never_touches_the_first(tmp_path: Path) -> None:
    a, b = two_stories_one_title(tmp_path)
    assert make(a, "-o", tmp_path / "out").code == 0
    first = tmp_path / "out" / BOOK
    stamps = {p: p.stat().st_mtime_ns for p in first.iterdir() if p.suffix in (".mp3", ".vtt")}
    out = make(b, "-o", tmp_path / "out")
    assert out.code == 0, out.stderr
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # none overwritten or deleted
    assert chapters(tmp_path / "out" / "Story (2)") == ["01 - Chapter 1.mp3"]
    again = make(a, "-o", tmp_path / "out")  # the first story still finds its own folder
    assert again.code == 0 and "(3 unchanged)" in again.stderr, again.stderr


def test_a_moved_story_keeps_its_folder(tmp_path: Path) -> None:
    story = write(tmp_path / "old" / "story.txt", story_text(2, 1))
    assert make(story, "-o", tmp_path / "out").code == 0
    moved = tmp_path / "new" / "story.txt"
    moved.parent.mkdir()
    story.rename(moved)
    out = make(moved, "-o", tmp_path / "out")
    assert out.code == 0, out.stderr
    assert "(2 unchanged)" in out.stderr
    assert not (tmp_path / "out" / "Story (2)").exists()


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), id="cut"),
        pytest.param(lambda p: p.write_bytes(b""), id="empty"),
        pytest.param(
            lambda p: p.write_bytes(
                (lambda b: b[:-400] + bytes([b[-400] ^ 0x10]) + b[-399:])(p.read_bytes())
            ),
            id="one-bit",
        ),
        pytest.param(lambda p: p.with_suffix(".vtt").unlink(), id="no-subtitles"),
    ],
)
def test_a_damaged_chapter_is_made_again(tmp_path: Path, damage: object) -> None:
    story = write(tmp_path / "story.txt", story_text(2, 1))
    assert make(story, "-o", tmp_path / "out").code == 0
    book = tmp_path / "out" / BOOK
    victim, other = book / "01 - Chapter 1.mp3", book / "02 - Chapter 2.mp3"
    whole = victim.read_bytes()
    kept = other.stat().st_mtime_ns
    assert callable(damage)
    damage(victim)
    out = make(story, "-o", tmp_path / "out")
    assert out.code == 0, out.stderr
    assert "(1 unchanged)" in out.stderr  # only the damaged one was made again
    assert victim.read_bytes() == whole and victim.with_suffix(".vtt").is_file()
    assert other.stat().st_mtime_ns == kept


def test_manifest_records_size_and_checksum(tmp_path: Path) -> None:
    story = write(tmp_path / "story.txt", story_text(1, 1))
    assert make(story, "-o", tmp_path / "out").code == 0
    book = tmp_path / "out" / BOOK
    data = json.loads((book / MANIFEST).read_text(encoding="utf-8"))
    assert data["source"] == str(story.resolve())
    sums = data["files"]["01 - Chapter 1.mp3"]["sums"]
    import hashlib

    for name in ("01 - Chapter 1.mp3", "01 - Chapter 1.vtt"):
        raw = (book / name).read_bytes()
        assert sums[name] == [len(raw), hashlib.sha256(raw).hexdigest()]


def test_a_held_book_lock_makes_a_second_run_say_who_holds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    story = write(tmp_path / "story.txt", story_text(1, 1))
    book = tmp_path / "out" / BOOK
    book.mkdir(parents=True)
    monkeypatch.setenv("AUDIOBOOK_LOCK_WAIT", "0.3")
    with held_lock(book / LOCK_FILE, "this book"):  # as another run would
        out = make(story, "-o", tmp_path / "out")
    out.assert_no_traceback()
    assert out.code == 1
    assert out.errors == [
        f"{book / LOCK_FILE}: another audiobook run (pid {os.getpid()}) is writing this "
        "book; try again when it has finished"
    ], out.stderr
    assert mp3s(tmp_path / "out") == []
    assert make(story, "-o", tmp_path / "out").code == 0  # released: works again


def test_a_held_sidecar_lock_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    story = write(tmp_path / "story.txt", story_text(1, 1))
    monkeypatch.setenv("AUDIOBOOK_LOCK_WAIT", "0.3")
    with held_lock(story, "this story's sidecar", create=False):
        out = make(story, "-o", tmp_path / "out")
    assert out.code == 1
    assert out.errors == [
        f"{story}: another audiobook run is writing this story's sidecar; "
        "try again when it has finished"
    ], out.stderr


def test_two_runs_at_once_on_one_book(tmp_path: Path) -> None:
    story = write(tmp_path / "story.txt", story_text(3, 2))
    cmd = [sys.executable, "-m", "audiobook.cli", "make", *TONE, str(story)]
    cmd += ["-o", str(tmp_path / "out")]
    env = env_with(AUDIOBOOK_LOCK_WAIT="120")
    procs = [
        subprocess.Popen(cmd, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    files = mp3s(tmp_path / "out")
    assert len(files) == 3
    for mp3 in files:
        assert_complete_mp3(mp3)
    assert leftovers(tmp_path / "out") == []
    # The later run found the earlier one's chapters whole and kept them.
    assert any("(3 unchanged)" in err for _, err in results), results


def test_cache_header_bit_flip_reads_as_missing(tmp_path: Path) -> None:
    cache = AudioCache(tmp_path / "cache")
    pcm = (np.sin(np.arange(2205) / 7) * 8000).astype(np.int16)
    cache.put("ab" * 32, pcm, 22050)
    path = cache.path("ab" * 32)
    raw = bytearray(path.read_bytes())
    raw[9] ^= 0x01  # the sample rate: 22050 -> another plausible rate
    path.write_bytes(bytes(raw))
    assert cache.load("ab" * 32) is None


def test_flipped_bits_in_cache_headers_do_not_change_a_book(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDIOBOOK_CACHE_DIR", str(tmp_path / "cache"))
    story = write(tmp_path / "story.txt", story_text(1, 2))
    assert make(story, "-o", tmp_path / "first").code == 0
    for entry in (tmp_path / "cache").rglob("*.pcm"):
        raw = bytearray(entry.read_bytes())
        raw[9] ^= 0x01  # each entry's sample rate, off by 256 Hz
        entry.write_bytes(bytes(raw))
    out = make(story, "-o", tmp_path / "second")
    assert out.code == 0, out.stderr
    (a,), (b,) = mp3s(tmp_path / "first"), mp3s(tmp_path / "second")
    assert assert_complete_mp3(a) == assert_complete_mp3(b)


def test_two_stories_one_title_rendered_at_once(tmp_path: Path) -> None:
    """Stories rendered side by side (a cluster batch, two terminals): the second finds
    the first's folder busy with another story and takes the next one at once."""
    a, b = two_stories_one_title(tmp_path)
    book = tmp_path / "out" / BOOK
    book.mkdir(parents=True)
    with held_lock(book / LOCK_FILE, "this book", note=str(a.resolve())):
        out = make(b, "-o", tmp_path / "out")
    assert out.code == 0, out.stderr
    assert chapters(tmp_path / "out" / "Story (2)") == ["01 - Chapter 1.mp3"]
    assert chapters(book) == []


def test_first_format_cache_entries_still_read_but_not_a_flipped_rate(tmp_path: Path) -> None:
    """Entries written before the header joined the CRC are kept (no re-synthesis after
    an upgrade) only while their rate is a real voice rate: one flipped bit never is."""
    import struct
    import zlib

    cache = AudioCache(tmp_path / "cache")
    pcm = (np.sin(np.arange(2205) / 7) * 8000).astype(np.int16)
    data = pcm.astype("<i2").tobytes()

    def old_entry(key: str, rate: int) -> None:
        path = cache.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = struct.pack("<8sIQI", b"ABPCM1\0\0", rate, pcm.size, zlib.crc32(data))
        path.write_bytes(header + data)

    old_entry("cd" * 32, 22050)
    old_entry("ef" * 32, 22050 ^ 0x100)  # the same entry with one bit of its rate flipped
    loaded = cache.load("cd" * 32)
    assert loaded is not None and loaded[1] == 22050 and np.array_equal(loaded[0], pcm)
    assert cache.load("ef" * 32) is None
