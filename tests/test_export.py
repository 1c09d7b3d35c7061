from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mutagen.id3 import ID3
from mutagen.mp3 import MP3, BitrateMode

from audiobook.assemble import ChapterAudio, true_peak_dbtp
from audiobook.errors import ExportError
from audiobook.export import (
    QUALITIES,
    M4bWriter,
    TrackTags,
    book_folder,
    chapter_filename,
    decode_audio,
    decoded_true_peak,
    ffmetadata,
    list_chapters,
    peak_dbfs,
    safe_name,
    write_chapter,
    write_file,
    write_playlist,
)

RATE = 22050
# A tiny valid 1x1 PNG, made for this test.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def chapter_audio(seconds: float = 3.0) -> ChapterAudio:
    t = np.arange(round(seconds * RATE)) / RATE
    pcm = np.round(6000 * np.sin(2 * np.pi * 220 * t)).astype(np.int16)
    return ChapterAudio(pcm, RATE)


def tags(**kw: object) -> TrackTags:
    base = TrackTags(
        title="Arrival",
        album="The Quiet Harbour",
        author="Mira Okafor",
        track=2,
        total=12,
        narrator="joe",
        year="2023",
        description="Ein Boot kommt an. ✓ — “quotes”",
        series="Harbour Tales",
        series_part="3",
        cover=PNG,
        cover_mime="image/png",
        language="de-AT",
        genre="Original Work",
    )
    for k, v in kw.items():
        setattr(base, k, v)
    return base


# --- names ----------------------------------------------------------------------

HOSTILE = [
    "../../etc/passwd",
    "..",
    ".",
    "   ...   ",
    "",
    "CON",
    "nul.txt",
    "com1",
    'a/b\\c:d*e?f"g<h>i|j',
    "tab\there\nnewline\x00nul\x1fus",
    "trailing dot.",
    ".hidden",
    "é" * 300,
    "🐙" * 100,
    "\u202eevil\u200b",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_safe_name_hostile(name: str) -> None:
    out = safe_name(name)
    assert out and out == out.strip() and len(out) <= 80
    assert not set(out) & set('/\\:*?"<>|') and all(ord(c) >= 32 for c in out)
    assert not out.startswith(".") and not out.endswith(".")
    assert out.split(".")[0].strip().upper() not in {"CON", "NUL", "COM1", "PRN", "AUX"}
    assert len(out.encode("utf-8")) <= 200
    assert out not in (".", "..")


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_safe_name_property(name: str) -> None:
    out = safe_name(name, limit=40)
    assert out and len(out) <= 40 and "/" not in out and "\\" not in out
    assert not out.startswith(".") and out not in ("..", ".")
    assert Path(out).name == out


def test_safe_name_keeps_ordinary_titles() -> None:
    assert safe_name("Part One: Sacrifice") == "Part One Sacrifice"
    assert safe_name("Café  Noir!  ") == "Café Noir!"
    assert safe_name("A" * 100, limit=10) == "A" * 10


def test_book_folder(tmp_path: Path) -> None:
    assert book_folder(tmp_path, "Mira Okafor", "The Quiet Harbour") == (
        tmp_path / "Mira Okafor" / "The Quiet Harbour"
    )
    assert book_folder(tmp_path, None, "T") == tmp_path / "T"  # no "Unknown Author"
    assert book_folder(tmp_path, None, "T", series="S") == tmp_path / "S" / "T"
    assert book_folder(tmp_path, "A", "T", series="S: One") == tmp_path / "A" / "S One" / "T"
    evil = book_folder(tmp_path, "../..", "../../x", series="..")
    assert evil.resolve().is_relative_to(tmp_path.resolve())
    assert all(part not in ("..", ".") for part in evil.relative_to(tmp_path).parts)


def test_chapter_filename() -> None:
    assert chapter_filename(1, 12, "Part One: Sacrifice") == "01 - Part One Sacrifice.mp3"
    assert chapter_filename(7, 120, "Seven") == "007 - Seven.mp3"
    assert chapter_filename(3, 5, "///") == "03.mp3"


# --- MP3 --------------------------------------------------------------------------


def test_write_chapter_tags_chapters_and_duration(tmp_path: Path) -> None:
    audio = chapter_audio()
    dest = tmp_path / "book" / "02 - Arrival.mp3"
    write_chapter(dest, audio, tags())
    assert dest.is_file()
    assert [p.name for p in dest.parent.iterdir()] == [dest.name]  # no .part left

    mp3 = MP3(dest)
    assert mp3.info is not None
    assert abs(mp3.info.length - audio.duration) <= 0.05
    assert mp3.info.channels == 1 and mp3.info.sample_rate == RATE
    assert (
        mp3.info.bitrate == pytest.approx(64000, rel=0.01)
        and mp3.info.bitrate_mode == BitrateMode.CBR
    )

    id3 = ID3(dest)
    assert id3.version[:2] == (2, 3)
    assert str(id3["TIT2"]) == "Arrival"
    assert str(id3["TALB"]) == "The Quiet Harbour"
    assert str(id3["TPE1"]) == str(id3["TPE2"]) == "Mira Okafor"
    assert str(id3["TRCK"]) == "2/12"
    assert str(id3["TCOM"]) == "joe"
    assert str(id3["TDRC"]) == "2023"
    assert id3.getall("COMM")[0].text == ["Ein Boot kommt an. ✓ — “quotes”"]
    assert str(id3["TXXX:series"]) == "Harbour Tales"
    assert str(id3["TXXX:series-part"]) == "3"
    # what Voice (movement) and Audiobookshelf (grouping "Name #part") read
    assert str(id3["TXXX:MVNM"]) == "Harbour Tales" and str(id3["TXXX:MVIN"]) == "3"
    assert str(id3["TIT1"]) == "Harbour Tales #3"
    assert str(id3["TLAN"]) == "ger"
    assert str(id3["TCON"]) == "Original Work"
    apic = id3.getall("APIC")[0]
    assert apic.data == PNG and apic.mime == "image/png" and apic.type == 3

    toc = id3.getall("CTOC")
    assert len(toc) == 1
    assert toc[0].flags & 0x03 == 0x03  # top-level, ordered
    chaps = {c.element_id: c for c in id3.getall("CHAP")}
    assert list(toc[0].child_element_ids) == sorted(chaps)
    got = [
        (str(chaps[i].sub_frames["TIT2"]), chaps[i].start_time, chaps[i].end_time)
        for i in toc[0].child_element_ids
    ]
    # one frame per file, named like the file: scenes are not chapters
    assert got == [(str(id3["TIT2"]), 0, 3000)]


def test_write_chapter_minimal_tags_and_overwrite(tmp_path: Path) -> None:
    dest = tmp_path / "01.mp3"
    dest.write_bytes(b"old file")
    minimal = TrackTags(title="Only", album="Book", author=None, track=1, total=1)
    write_chapter(dest, chapter_audio(1.0), minimal)
    id3 = ID3(dest)
    assert str(id3["TIT2"]) == "Only" and "TPE1" not in id3 and "APIC" not in id3
    info = MP3(dest).info
    assert info is not None and info.length == pytest.approx(1.0, abs=0.05)


def test_write_chapter_into_unusable_folder_fails_cleanly(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("I am a file")
    dest = blocker / "01 - x.mp3"
    with pytest.raises(ExportError) as info:
        write_chapter(dest, chapter_audio(0.5), tags())
    assert "01 - x.mp3" in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-dir"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only folders")
def test_write_chapter_permission_denied(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(ExportError, match="permission denied"):
            write_chapter(locked / "01.mp3", chapter_audio(0.5), tags())
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)


def test_encoder_failure_removes_part(tmp_path: Path) -> None:
    dest = tmp_path / "01.mp3"
    with pytest.raises(ExportError, match="encoding failed") as info:
        write_chapter(dest, chapter_audio(0.5), tags(), bitrate="not-a-bitrate")
    assert info.value.path == dest
    assert list(tmp_path.iterdir()) == []


# --- playlist -------------------------------------------------------------------


def test_write_playlist(tmp_path: Path) -> None:
    entries = [("01 - Arrival.mp3", 61.6, "Arrival"), ("02 - Storm.mp3", 3.2, "Storm\nat sea")]
    path = write_playlist(tmp_path / "book", "The Quiet Harbour", entries)
    assert path == tmp_path / "book" / "The Quiet Harbour.m3u8"
    assert path.read_text(encoding="utf-8").splitlines() == [
        "#EXTM3U",
        "#EXTINF:62,Arrival",
        "01 - Arrival.mp3",
        "#EXTINF:3,Storm at sea",
        "02 - Storm.mp3",
    ]
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_write_playlist_failure(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ExportError, match="cannot write playlist"):
        write_playlist(blocker, "Book", [])


@pytest.mark.parametrize("rate", [16000, 24000, 44100])
def test_duration_exact_at_other_rates(tmp_path: Path, rate: int) -> None:
    pcm = np.round(4000 * np.sin(np.arange(rate * 2) * 0.05)).astype(np.int16)
    audio = ChapterAudio(pcm, rate)
    dest = tmp_path / "x.mp3"
    write_chapter(dest, audio, tags(cover=None))
    info = MP3(dest).info
    assert info is not None and info.sample_rate == rate
    assert abs(info.length - audio.duration) <= 0.05


# --- levels measured on the decoded file, presets, encoder delay -----------------


def test_decoded_file_keeps_level_promises_even_for_unlevelled_audio(tmp_path: Path) -> None:
    """write_chapter measures what it encoded: audio given far too loud (peak 0 dBFS,
    ~ -3.7 LUFS) comes out at -19 LUFS with its true peak under -3 dBTP."""
    t = np.arange(RATE * 4) / RATE
    loud = 0.999 * np.sin(2 * np.pi * 300 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 2 * t))
    audio = ChapterAudio(np.round(loud * 32767).astype(np.int16), RATE)
    dest = tmp_path / "loud.mp3"
    write_chapter(dest, audio, tags(cover=None))
    y, rate = decode_audio(dest)
    assert rate == RATE
    assert true_peak_dbtp(y) <= -3.0
    assert pyloudnorm.Meter(RATE).integrated_loudness(y.astype(np.float64)) == pytest.approx(
        -19.0, abs=1.0
    )


def test_decoding_is_aligned_with_the_pcm(tmp_path: Path) -> None:
    """Encoder delay and padding are undone on decode (the Info tag says how much):
    a click at 1.000 s is heard at 1.000 s, so CHAP times match what players play."""
    pcm = np.zeros(RATE * 2, np.int16)
    pcm[RATE : RATE + 20] = 20000
    dest = tmp_path / "click.mp3"
    write_chapter(dest, ChapterAudio(pcm, RATE), tags(), verify=False)
    y, _ = decode_audio(dest)
    assert y.size == pcm.size
    assert abs(int(np.argmax(np.abs(y))) - (RATE + 10)) <= 0.002 * RATE


def test_quality_presets() -> None:
    assert (QUALITIES["standard"].sample_rate, QUALITIES["standard"].mp3_bitrate) == (22050, "64k")
    assert (QUALITIES["high"].sample_rate, QUALITIES["high"].mp3_bitrate) == (44100, "192k")


def test_high_quality_is_44k_192k_cbr(tmp_path: Path) -> None:
    q = QUALITIES["high"]
    t = np.arange(q.sample_rate * 2) / q.sample_rate
    pcm = np.round(5000 * np.sin(2 * np.pi * 200 * t)).astype(np.int16)
    dest = tmp_path / "hq.mp3"
    audio = ChapterAudio(pcm, q.sample_rate)
    write_chapter(dest, audio, tags(), bitrate=q.mp3_bitrate)
    info = MP3(dest).info
    assert info is not None and info.sample_rate == 44100 and info.channels == 1
    assert info.bitrate == pytest.approx(192000, rel=0.001)
    assert info.bitrate_mode == BitrateMode.CBR


# --- side files, M4B ---------------------------------------------------------------


def test_write_file_is_atomic_and_leaves_identical_files_alone(tmp_path: Path) -> None:
    dest = tmp_path / "book" / "desc.txt"
    assert write_file(dest, "Ein Boot.\n") is True
    os.utime(dest, ns=(1, 1))
    assert write_file(dest, "Ein Boot.\n") is False
    assert dest.stat().st_mtime_ns == 1
    assert write_file(dest, b"other") is True and dest.read_bytes() == b"other"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["desc.txt"]


def test_ffmetadata_escapes_and_uses_milliseconds() -> None:
    text = ffmetadata("Book = #1", [("A; b\\c", 0, 1500), ("Two\nlines", 1500, 4000)])
    assert text.splitlines() == [
        ";FFMETADATA1",
        "title=Book \\= \\#1",
        "",
        "[CHAPTER]",
        "TIMEBASE=1/1000",
        "START=0",
        "END=1500",
        "title=A\\; b\\\\c",
        "",
        "[CHAPTER]",
        "TIMEBASE=1/1000",
        "START=1500",
        "END=4000",
        "title=Two lines",
    ]


def test_m4b_has_chapters_tags_and_cover(tmp_path: Path) -> None:
    from mutagen.mp4 import MP4

    dest = tmp_path / "The Quiet Harbour.m4b"
    with M4bWriter(dest, RATE, "64k") as w:
        first = w.add("Arrival = 1", chapter_audio(2.0))
        second = w.add("Storm; at sea", chapter_audio(3.0))
        w.finish(tags(title="The Quiet Harbour", album="The Quiet Harbour", track=1, total=1))
    assert (first.start, first.end, second.end) == (0, 2 * RATE, 5 * RATE)
    assert sorted(p.name for p in tmp_path.iterdir()) == [dest.name]  # no parts left
    chapters = list_chapters(dest)
    assert [c[2] for c in chapters] == ["Arrival = 1", "Storm; at sea"]
    assert chapters[0][:2] == (0.0, 2.0) and chapters[1][:2] == (2.0, 5.0)
    mp4 = MP4(dest)
    assert mp4.info is not None and mp4.info.channels == 1
    assert mp4.info.length == pytest.approx(5.0, abs=0.05)
    t = mp4.tags
    assert t is not None
    assert t["\xa9nam"] == ["The Quiet Harbour"] and t["\xa9ART"] == ["Mira Okafor"]
    assert t["aART"] == ["Mira Okafor"] and t["\xa9wrt"] == ["joe"]
    assert t["\xa9gen"] == ["Original Work"] and t["\xa9day"] == ["2023"]
    assert t["\xa9grp"] == ["Harbour Tales #3"]
    assert bytes(t["----:com.apple.iTunes:LANGUAGE"][0]) == b"ger"
    assert dest.read_bytes()[8:12] == b"M4B "  # the major brand in ftyp
    assert t["desc"] == ["Ein Boot kommt an. ✓ — “quotes”"]
    assert bytes(t["----:com.apple.iTunes:series"][0]) == b"Harbour Tales"
    assert bytes(t["covr"][0]) == PNG
    y, rate = decode_audio(dest)
    assert rate == RATE and abs(y.size - 5 * RATE) <= 0.01 * RATE
    assert decoded_true_peak(dest) == pytest.approx(true_peak_dbtp(y), abs=1e-4)


def test_m4b_interrupted_leaves_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "Book.m4b"
    with pytest.raises(KeyboardInterrupt), M4bWriter(dest, RATE) as w:
        w.add("One", chapter_audio(1.0))
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_quiet_audio_is_not_boosted_into_noise_on_export(tmp_path: Path) -> None:
    """Assembly caps the gain for a near-silent chapter; export only corrects what a
    codec can plausibly change (a few dB up), so the file stays quiet."""
    t = np.arange(RATE * 3) / RATE
    quiet = np.round(30 * np.sin(2 * np.pi * 300 * t)).astype(np.int16)  # ~ -60 dBFS
    dest = tmp_path / "quiet.mp3"
    write_chapter(dest, ChapterAudio(quiet, RATE), tags(cover=None))
    y, _ = decode_audio(dest)
    assert peak_dbfs(y) < -50
