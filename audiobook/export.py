"""Chapter audio -> tagged MP3 files (ID3v2.3 with chapter frames) and an M3U8 playlist.

Every file is written as ``<name>.part`` and renamed into place, so an interrupted
export never leaves a half file under the final name.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import subprocess
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from audiobook.assemble import ChapterAudio
from audiobook.errors import ExportError


@dataclass
class TrackTags:
    title: str
    album: str
    author: str | None
    track: int
    total: int
    narrator: str | None = None
    year: str | None = None
    description: str | None = None
    series: str | None = None
    series_part: str | None = None
    cover: bytes | None = None
    cover_mime: str | None = None
    genre: str = "Audiobook"


# Forbidden on Windows (and "/" everywhere), plus control characters.
_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{i}" for p in ("COM", "LPT") for i in range(10)}
_MAX_NAME_BYTES = 200  # leaves room for " - ", numbers and ".mp3.part" under 255


def _clean(text: str, limit: int) -> str:
    s = unicodedata.normalize("NFC", text)
    s = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in s)
    s = _FORBIDDEN.sub(" ", s)
    s = " ".join(s.split())
    s = s.strip(" .")  # Windows drops trailing dots/spaces; leading dots hide files
    s = s[:limit]
    while len(s.encode("utf-8")) > _MAX_NAME_BYTES:
        s = s[:-1]
    s = s.rstrip(" .")
    stem, dot, rest = s.partition(".")
    if stem.rstrip().upper() in _RESERVED:  # Windows reserves "NUL.txt" too
        s = f"{stem}_{dot}{rest}"
    return s


def safe_name(text: str, limit: int = 80) -> str:
    """A single path component that is valid on Windows, macOS and Linux: no
    separators, no "..", no reserved device names, never empty."""
    return _clean(text, limit) or "Untitled"


def book_folder(out: Path, author: str | None, title: str, series: str | None = None) -> Path:
    """OUT/<Author or "Unknown Author">/[<Series>/]<Title>."""
    folder = Path(out) / (_clean(author or "", 80) or "Unknown Author")
    if series and _clean(series, 80):
        folder /= safe_name(series)
    return folder / safe_name(title)


def chapter_filename(number: int, total: int, title: str) -> str:
    """``"01 - Part One Sacrifice.mp3"``; zero-padded so files sort in order."""
    num = f"{number:0{max(2, len(str(total)))}d}"
    name = _clean(title, 80)
    return f"{num} - {name}.mp3" if name else f"{num}.mp3"


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "disk full"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied"
    return exc.strerror or str(exc)


def _ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def _encode(part: Path, audio: ChapterAudio, bitrate: str) -> None:
    rate = str(audio.sample_rate)
    cmd = [
        _ffmpeg_exe(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "s16le",
        "-ar",
        rate,
        "-ac",
        "1",
        "-i",
        "pipe:0",
        "-c:a",
        "libmp3lame",
        "-b:a",
        bitrate,
        "-ac",
        "1",
        "-ar",
        rate,
        "-write_xing",
        "1",
        "-id3v2_version",
        "0",  # mutagen writes the tags
        "-write_id3v1",
        "0",
        "-f",
        "mp3",
        str(part),
    ]
    pcm = audio.pcm.astype("<i2", copy=False).tobytes()
    try:
        proc = subprocess.run(cmd, input=pcm, capture_output=True, check=False)
    except OSError as exc:
        raise ExportError(f"cannot run ffmpeg: {_reason(exc)}", part) from None
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        if "No space left" in err:
            reason = "disk full"
        elif "Permission denied" in err:
            reason = "permission denied"
        else:
            reason = err.splitlines()[-1] if err else f"exit status {proc.returncode}"
        raise ExportError(f"MP3 encoding failed: {reason}", part)


def _crc16(data: bytes) -> int:
    """CRC-16/ARC (poly 0xA001 reflected), the LAME tag checksum."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def _label_lame_tag(path: Path) -> None:
    """ffmpeg writes a LAME-format Info tag (encoder delay/padding) but labels it
    "Lavc...", and readers that check for "LAME" (mutagen, some players) then ignore
    the delay/padding and report the duration ~50 ms long at 22 kHz. The encoder *is*
    libmp3lame, so relabel it and recompute the tag CRC the way ffmpeg does (CRC field
    zeroed, first 190 bytes of the frame). Best effort: anything unexpected -> no-op."""
    with open(path, "r+b") as f:
        frame = bytearray(f.read(512))
        if len(frame) < 200 or frame[0] != 0xFF or frame[1] & 0xE0 != 0xE0:
            return
        at = max(frame.find(b"Info", 0, 64), frame.find(b"Xing", 0, 64))
        if at < 0 or frame[at + 4 : at + 8] != b"\0\0\0\x0f":  # frames+bytes+TOC+quality
            return
        vendor = at + 120
        crc_at = vendor + 34
        if frame[vendor : vendor + 4] != b"Lavc" or crc_at + 2 > 190:
            return
        frame[vendor : vendor + 9] = b"LAME3.100"
        frame[crc_at : crc_at + 2] = b"\0\0"
        frame[crc_at : crc_at + 2] = _crc16(bytes(frame[:190])).to_bytes(2, "big")
        f.seek(0)
        f.write(frame[:190])


def _guess_mime(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/jpeg"


def _tag(part: Path, audio: ChapterAudio, tags: TrackTags) -> None:
    from mutagen.id3 import (
        APIC,
        CHAP,
        COMM,
        CTOC,
        ID3,
        TALB,
        TCOM,
        TCON,
        TDRC,
        TIT2,
        TPE1,
        TPE2,
        TRCK,
        TXXX,
        CTOCFlags,
    )

    id3 = ID3()
    id3.add(TIT2(encoding=3, text=[tags.title]))
    id3.add(TALB(encoding=3, text=[tags.album]))
    if tags.author:
        id3.add(TPE1(encoding=3, text=[tags.author]))
        id3.add(TPE2(encoding=3, text=[tags.author]))
    id3.add(TRCK(encoding=3, text=[f"{tags.track}/{tags.total}"]))
    id3.add(TCON(encoding=3, text=[tags.genre]))
    if tags.narrator:
        id3.add(TCOM(encoding=3, text=[tags.narrator]))
    if tags.year:
        id3.add(TDRC(encoding=3, text=[tags.year]))
    if tags.description:
        id3.add(COMM(encoding=3, lang="eng", desc="", text=[tags.description]))
    if tags.series:
        id3.add(TXXX(encoding=3, desc="series", text=[tags.series]))
    if tags.series_part:
        id3.add(TXXX(encoding=3, desc="series-part", text=[tags.series_part]))
    if tags.cover:
        mime = tags.cover_mime or _guess_mime(tags.cover)
        id3.add(APIC(encoding=3, mime=mime, type=3, desc="Cover", data=tags.cover))
    child_ids = []
    for i, m in enumerate(audio.markers):
        eid = f"chp{i}"
        child_ids.append(eid)
        id3.add(
            CHAP(
                element_id=eid,
                start_time=int(m.start_ms),
                end_time=int(m.end_ms),
                start_offset=0xFFFFFFFF,  # "use the times"
                end_offset=0xFFFFFFFF,
                sub_frames=[TIT2(encoding=3, text=[m.title])],
            )
        )
    if child_ids:
        id3.add(
            CTOC(
                element_id="toc",
                flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                child_element_ids=child_ids,
                sub_frames=[TIT2(encoding=3, text=[tags.title])],
            )
        )
    id3.update_to_v23()  # TDRC -> TYER etc.; UTF-8 text becomes UTF-16 on save
    id3.save(part, v2_version=3)


def write_chapter(
    dest: Path, audio: ChapterAudio, tags: TrackTags, *, bitrate: str = "64k"
) -> None:
    """Encode mono CBR MP3 (with Xing/Info header), tag it, and move it to ``dest``."""
    dest = Path(dest)
    part = dest.with_suffix(dest.suffix + ".part")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        # Opening it ourselves first gives a clear OSError (permission, not a folder...)
        # instead of an ffmpeg message.
        with open(part, "wb"):
            pass
        _encode(part, audio, bitrate)
        _label_lame_tag(part)
        _tag(part, audio, tags)
        os.replace(part, dest)
    except ExportError as err:
        _remove(part)
        raise ExportError(err.message, dest) from None
    except OSError as exc:
        _remove(part)
        raise ExportError(f"cannot write: {_reason(exc)}", dest) from None
    except Exception as exc:  # mutagen raises its own error types
        _remove(part)
        raise ExportError(f"cannot write tags: {exc}", dest) from None
    except BaseException:
        _remove(part)
        raise


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def write_playlist(folder: Path, name: str, entries: Sequence[tuple[str, float, str]]) -> Path:
    """``<name>.m3u8`` listing (file name relative to ``folder``, seconds, title)."""
    folder = Path(folder)
    dest = folder / f"{safe_name(name)}.m3u8"
    part = dest.with_suffix(".m3u8.part")
    lines = ["#EXTM3U"]
    for filename, seconds, title in entries:
        lines.append(f"#EXTINF:{round(seconds)},{_one_line(title)}")
        lines.append(_one_line(filename))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        part.write_text("\n".join(lines) + "\n", encoding="utf-8")
        os.replace(part, dest)
    except OSError as exc:
        _remove(part)
        raise ExportError(f"cannot write playlist: {_reason(exc)}", dest) from None
    return dest
