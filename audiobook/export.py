"""Chapter audio -> tagged MP3 files (ID3v2.3 with chapter frames), or one M4B per book,
plus the side files a library reads (M3U8 playlist, cover.jpg, desc.txt, reader.txt).

Every file is written as ``<name>.part`` and renamed into place, so an interrupted
export never leaves a half file under the final name. Each MP3 is decoded again after
encoding and its level measured: the promises (-19 LUFS, true peak <= -3 dBTP) are
about the file a player decodes, not about our PCM.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import subprocess
import tempfile
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING

import numpy as np

from audiobook.assemble import (
    CEILING_DBFS,
    PEAK_DBFS,
    TARGET_LUFS,
    AudioSource,
    ChapterAudio,
    LoudnessMeter,
    TruePeakMeter,
    assemble_chapter,
    integrated_loudness,
    limit_peaks,
    normalize_loudness,
    true_peak_dbtp,
)
from audiobook.errors import ExportError
from audiobook.fsutil import atomic_write, create_exclusive, os_reason, read_regular, replacing
from audiobook.language import iso639_2
from audiobook.library import BookFacts
from audiobook.model import Chapter, Segment
from audiobook.subtitles import chapter_cues, format_vtt

if TYPE_CHECKING:  # pragma: no cover
    from audiobook.synth.jobs import SynthContext, SynthJob


@dataclass(frozen=True)
class Quality:
    """An encoding preset: mono CBR at one sample rate."""

    name: str
    sample_rate: int
    mp3_bitrate: str
    aac_bitrate: str


QUALITIES: dict[str, Quality] = {
    # A listening copy: speech needs little more; ~29 MB an hour.
    "standard": Quality("standard", 22050, "64k", "64k"),
    # What audiobook stores ask for (e.g. ACX: 192 kbps CBR MP3, 44.1 kHz).
    "high": Quality("high", 44100, "192k", "128k"),
}
FORMATS = ("mp3", "m4b", "epub")  # epub: chapter MP3s and a read-along EPUB
# The decoded file may miss the target by this much before we re-encode: MP3's
# low-pass alone takes ~0.35 LU off Piper speech.
LOUDNESS_SLACK = 0.6
MP3_LOUDNESS_LOSS = 0.4  # LU that mono 64 kbps MP3 encoding takes off speech, measured
MAX_CORRECTION_DB = 3.0
_PIPE_SAMPLES = 1 << 20  # PCM handed to the encoder at a time
# AAC overshoots more than MP3 (measured ~0.8 dB on Piper speech at 64 kbps), and an
# M4B is not re-levelled chapter by chapter, so its limiter sits lower.
AAC_CEILING_DBFS = CEILING_DBFS - 1.0


@dataclass
class TrackTags(BookFacts):
    """``language`` as the source said it; written as ISO 639-2."""

    title: str
    album: str
    author: str | None
    track: int
    total: int
    narrator: str | None = None
    cover: bytes | None = None
    cover_mime: str | None = None
    genre: str = "Audiobook"

    @property
    def grouping(self) -> str | None:
        """The series as Audiobookshelf parses a grouping tag: "Name #part"."""
        if not self.series:
            return None
        return f"{self.series} #{self.series_part}" if self.series_part else self.series


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
    """OUT/[<Author>/][<Series>/]<Title>. No author folder when the author is unknown:
    Audiobookshelf would make an author of whatever name the folder had."""
    folder = Path(out)
    if author and _clean(author, 80):
        folder /= _clean(author, 80)
    if series and _clean(series, 80):
        folder /= safe_name(series)
    return folder / safe_name(title)


def chapter_filename(number: int, total: int, title: str, ext: str = "mp3") -> str:
    """``"01 - Part One Sacrifice.mp3"``; zero-padded so files sort in order."""
    num = f"{number:0{max(2, len(str(total)))}d}"
    name = _clean(title, 80)
    return f"{num} - {name}.{ext}" if name else f"{num}.{ext}"


def book_filename(title: str, ext: str = "m4b") -> str:
    return f"{safe_name(title)}.{ext}"


_reason = os_reason


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
    with tempfile.TemporaryFile() as log:
        try:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log
            )
        except OSError as exc:
            raise ExportError(f"cannot run ffmpeg: {_reason(exc)}", part) from None
        assert proc.stdin is not None
        try:
            # In pieces: no second copy of the chapter as bytes.
            for start in range(0, audio.pcm.size, _PIPE_SAMPLES):
                piece = audio.pcm[start : start + _PIPE_SAMPLES]
                proc.stdin.write(piece.astype("<i2", copy=False).tobytes())
            proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass  # ffmpeg stopped: its status and message say why
        returncode = proc.wait()
        log.seek(0)
        stderr = log.read()
    if returncode != 0:
        err = stderr.decode("utf-8", "replace").strip()
        if "No space left" in err:
            reason = "disk full"
        elif "Permission denied" in err:
            reason = "permission denied"
        else:
            reason = err.splitlines()[-1] if err else _exit_reason(returncode)
        raise ExportError(f"MP3 encoding failed: {reason}", part)


def _exit_reason(returncode: int) -> str:
    """ffmpeg stopped without a message: killed by a signal, most likely."""
    if returncode == -getattr(signal, "SIGXFSZ", 0):  # the file hit `ulimit -f` (POSIX)
        return "file size limit exceeded"
    if returncode < 0:
        try:
            return f"ffmpeg was killed ({signal.Signals(-returncode).name})"
        except ValueError:
            return f"ffmpeg was killed (signal {-returncode})"
    return f"exit status {returncode}"


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
        TIT1,
        TIT2,
        TLAN,
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
    language = iso639_2(tags.language)
    if language:
        id3.add(TLAN(encoding=3, text=[language]))
    if tags.series:
        id3.add(TXXX(encoding=3, desc="series", text=[tags.series]))
        # Voice (Android) reads only the movement frames; Audiobookshelf also reads
        # the grouping as "Name #part".
        id3.add(TXXX(encoding=3, desc="MVNM", text=[tags.series]))
        id3.add(TIT1(encoding=3, text=[tags.grouping]))
    if tags.series_part:
        id3.add(TXXX(encoding=3, desc="series-part", text=[tags.series_part]))
        if tags.series:
            id3.add(TXXX(encoding=3, desc="MVIN", text=[tags.series_part]))
    if tags.cover:
        mime = tags.cover_mime or _guess_mime(tags.cover)
        id3.add(APIC(encoding=3, mime=mime, type=3, desc="Cover", data=tags.cover))
    # One chapter frame per file, named like the file: a player that joins every
    # file's frames (Audiobookshelf) lists the book's chapters and nothing else, and
    # BookPlayer reads CHAP frames only under a CTOC.
    id3.add(
        CHAP(
            element_id="chp0",
            start_time=0,
            end_time=round(audio.duration * 1000),
            start_offset=0xFFFFFFFF,  # "use the times"
            end_offset=0xFFFFFFFF,
            sub_frames=[TIT2(encoding=3, text=[tags.title])],
        )
    )
    id3.add(
        CTOC(
            element_id="toc",
            flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
            child_element_ids=["chp0"],
            sub_frames=[TIT2(encoding=3, text=[tags.album])],
        )
    )
    id3.update_to_v23()  # TDRC -> TYER etc.; UTF-8 text becomes UTF-16 on save
    id3.save(part, v2_version=3)


def _decode_command(path: Path, rate: int | None = None) -> list[str]:
    """ffmpeg decoding the file's first audio stream to mono float32 on stdout."""
    cmd = [_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(path)]
    cmd += ["-map", "0:a:0", "-ac", "1"]
    if rate is not None:
        cmd += ["-ar", str(rate)]
    return [*cmd, "-f", "f32le", "-"]


def decode_audio(path: Path) -> tuple[np.ndarray, int]:
    """Decode an audio file as a player would (encoder delay and padding removed):
    mono float32 in [-1, 1] and its sample rate."""
    import mutagen

    try:
        info = mutagen.File(path)
    except Exception as exc:  # mutagen raises its own error types
        raise ExportError(f"cannot read audio: {exc}", path) from None
    rate = getattr(getattr(info, "info", None), "sample_rate", 0)
    if not rate:
        raise ExportError("cannot read audio: unknown format", path)
    try:
        proc = subprocess.run(_decode_command(path), capture_output=True, check=False)
    except OSError as exc:
        raise ExportError(f"cannot run ffmpeg: {_reason(exc)}", path) from None
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ExportError(f"cannot decode: {err[-1] if err else proc.returncode}", path)
    return np.frombuffer(proc.stdout, dtype="<f4").astype(np.float32), int(rate)


def _decoded(path: Path, rate: int | None = None) -> Iterator[np.ndarray]:
    """The file decoded as a player would, mono float32 (resampled to ``rate``), in
    blocks as ffmpeg streams them: a whole book need not fit in memory."""
    cmd = _decode_command(path, rate)
    try:
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as proc:
            assert proc.stdout is not None
            tail = b""
            while chunk := proc.stdout.read(1 << 22):
                chunk = tail + chunk
                whole = len(chunk) // 4 * 4
                tail = chunk[whole:]
                x = np.frombuffer(chunk[:whole], dtype="<f4")
                if x.size:
                    yield x
    except OSError as exc:
        raise ExportError(f"cannot run ffmpeg: {_reason(exc)}", path) from None
    if proc.returncode != 0:
        raise ExportError("cannot decode", path)


def decoded_true_peak(path: Path) -> float:
    """True peak (dBTP) of the decoded file."""
    meter = TruePeakMeter()
    for x in _decoded(path):
        meter.add(x)
    return meter.dbtp()


def decoded_levels(path: Path, rate: int) -> tuple[float, float]:
    """(true peak dBTP, integrated loudness LUFS) of the file decoded as a player
    would, measured as it streams out of the decoder: no chapter-sized array."""
    peaks = TruePeakMeter()
    meter = LoudnessMeter(rate)
    for x in _decoded(path, rate):
        peaks.add(x)
        meter.add(x)
    return peaks.dbtp(), meter.loudness()


def peak_dbfs(x: np.ndarray) -> float:
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    return 20 * float(np.log10(peak)) if peak > 0 else float("-inf")


def _correction(part: Path, audio: ChapterAudio) -> ChapterAudio | None:
    """Measure the encoded file; None when it keeps the level promises, else the
    chapter audio re-levelled to make up for what encoding did (overshoot, low-pass)."""
    peak, loudness = decoded_levels(part, audio.sample_rate)
    peak_ok = peak <= PEAK_DBFS - 0.1
    loud_ok = not np.isfinite(loudness) or abs(loudness - TARGET_LUFS) <= LOUDNESS_SLACK
    if peak_ok and loud_ok:
        return None
    x = audio.pcm.astype(np.float32) * np.float32(1 / 32768)
    if not loud_ok:
        # Down as far as needed; up only by what a codec can plausibly have taken:
        # more would undo assembly's cap on boosting a near-silent chapter.
        x *= np.float32(10 ** (min(TARGET_LUFS - loudness, MAX_CORRECTION_DB) / 20))
    if not peak_ok:
        # Lower the ceiling by what the codec added over the promise, measured from
        # where our limiter put the peaks, and win back the loudness that costs.
        excess = peak - (PEAK_DBFS - 0.1) + 0.2
        ceiling = min(CEILING_DBFS, true_peak_dbtp(x)) - excess
        aim = integrated_loudness(x, audio.sample_rate)
        if np.isfinite(aim):
            normalize_loudness(x, audio.sample_rate, x.size, ceiling, aim)
        else:
            limit_peaks(x, audio.sample_rate, ceiling)
    x *= np.float32(32768)
    np.round(x, out=x)
    np.clip(x, -32768, 32767, out=x)
    return ChapterAudio(x.astype(np.int16), audio.sample_rate, audio.spans)


def write_chapter(
    dest: Path, audio: ChapterAudio, tags: TrackTags, *, bitrate: str = "64k", verify: bool = True
) -> None:
    """Encode mono CBR MP3 (with Xing/Info header), tag it, and move it to ``dest``.

    With ``verify`` the encoded file is decoded and measured; if encoding pushed the
    true peak over -3 dBTP or the loudness off -19 LUFS it is re-levelled and encoded again
    (once: the second pass corrects by what the first one measured)."""
    dest = Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        # A fresh temporary file of our own (never through a symlink); removed on any
        # error or Ctrl-C, renamed over dest only when complete.
        with replacing(dest) as part:
            _encode(part, audio, bitrate)
            _label_lame_tag(part)
            fixed = _correction(part, audio) if verify else None
            if fixed is not None:
                _encode(part, fixed, bitrate)
                _label_lame_tag(part)
            _tag(part, audio, tags)
    except ExportError as err:
        raise ExportError(err.message, dest) from None
    except OSError as exc:
        raise ExportError(f"cannot write: {_reason(exc)}", dest) from None
    except Exception as exc:  # mutagen raises its own error types
        raise ExportError(f"cannot write tags: {exc}", dest) from None


@dataclass
class ChapterTask:
    """Everything needed to make one chapter file, in a worker process: picklable."""

    dest: Path
    chapter: Chapter
    segments: list[Segment]
    sources: list[tuple[str, SynthJob] | None]  # each segment's audio (key, job), in order
    rate: int
    bitrate: str
    tags: TrackTags


def export_chapter(ctx: SynthContext, task: ChapterTask) -> float:
    """Assemble, level, encode and tag one chapter, then write its subtitles; returns
    its seconds. Runs in a synthesis worker once the chapter's lines are cached; only
    this chapter is ever in memory."""
    by_id = {id(s): src for s, src in zip(task.segments, task.sources, strict=True)}

    def audio_for(seg: Segment) -> AudioSource:
        src = by_id.get(id(seg))
        return ctx.audio(*src) if src else None

    # Aim a little high: MP3's low-pass takes ~0.45 LU (K-weighting counts the highs),
    # which left chapters near the edge of LOUDNESS_SLACK and some re-encoded.
    # The ceiling comes down as much, so encoder overshoot keeps its room under PEAK_DBFS.
    target = TARGET_LUFS + MP3_LOUDNESS_LOSS
    ceiling = CEILING_DBFS - MP3_LOUDNESS_LOSS
    audio = assemble_chapter(task.chapter, task.segments, audio_for, task.rate, ceiling, target)
    write_chapter(task.dest, audio, task.tags, bitrate=task.bitrate)
    write_file(task.dest.with_suffix(".vtt"), format_vtt(chapter_cues(audio)))
    return audio.duration


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def write_playlist(folder: Path, name: str, entries: Sequence[tuple[str, float, str]]) -> Path:
    """``<name>.m3u8`` listing (file name relative to ``folder``, seconds, title)."""
    folder = Path(folder)
    dest = folder / f"{safe_name(name)}.m3u8"
    lines = ["#EXTM3U"]
    for filename, seconds, title in entries:
        lines.append(f"#EXTINF:{round(seconds)},{_one_line(title)}")
        lines.append(_one_line(filename))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot write playlist: {_reason(exc)}", dest) from None
    atomic_write(dest, "\n".join(lines) + "\n", what="cannot write playlist")
    return dest


def write_file(dest: Path, data: bytes | str) -> bool:
    """Write a side file (cover.jpg, desc.txt...) atomically; leave it alone when it
    already holds exactly this (so re-runs do not touch mtimes). True if written."""
    dest = Path(dest)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if read_regular(dest, limit=len(raw)) == raw:
        return False
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot write: {_reason(exc)}", dest) from None
    atomic_write(dest, raw)
    return True


# --- M4B ------------------------------------------------------------------------


def _ffmeta_escape(text: str) -> str:
    out = []
    for ch in _one_line(text):
        if ch in "=;#\\":
            out.append("\\")
        out.append(ch)
    return "".join(out)


def ffmetadata(title: str, chapters: Sequence[tuple[str, int, int]]) -> str:
    """ffmpeg's metadata file: the book title and chapters as (title, start_ms, end_ms)."""
    lines = [";FFMETADATA1", f"title={_ffmeta_escape(title)}", ""]
    for name, start, end in chapters:
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={start}", f"END={end}"]
        lines += [f"title={_ffmeta_escape(name)}", ""]
    return "\n".join(lines)


@dataclass
class BookChapter:
    title: str
    start: int  # sample offsets into the whole book, end exclusive
    end: int


@dataclass
class M4bWriter:
    """One M4B for a whole book, fed chapter by chapter so a long book is never held in
    memory: PCM streams into an AAC encoder; ``finish`` adds the chapter list (ffmpeg
    ffmetadata, ``TIMEBASE=1/1000``), tags and cover, then renames the file into place.

    Use as a context manager: leaving the block with an exception removes every
    temporary file."""

    dest: Path
    sample_rate: int
    bitrate: str = "64k"
    chapters: list[BookChapter] = field(default_factory=list)
    _proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None
    _samples: int = 0
    # Temporary names no one can predict (a symlink planted at one is never followed).
    _stem: str = field(default_factory=lambda: secrets.token_hex(6))

    @property
    def _audio_part(self) -> Path:
        return self.dest.with_name(f".{self.dest.name}.{self._stem}.aac.part")

    @property
    def _part(self) -> Path:
        return self.dest.with_name(f".{self.dest.name}.{self._stem}.part")

    @property
    def _meta_part(self) -> Path:
        return self.dest.with_name(f".{self.dest.name}.{self._stem}.ffmeta.part")

    def __enter__(self) -> M4bWriter:
        try:
            self.dest.parent.mkdir(parents=True, exist_ok=True)
            for part in (self._audio_part, self._meta_part, self._part):
                create_exclusive(part)
        except OSError as exc:
            self._cleanup(self._part)
            raise ExportError(f"cannot write: {_reason(exc)}", self.dest) from None
        self._log = tempfile.TemporaryFile()
        cmd = [_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y"]
        cmd += ["-f", "s16le", "-ar", str(self.sample_rate), "-ac", "1", "-i", "pipe:0"]
        cmd += ["-c:a", "aac", "-b:a", self.bitrate, "-ac", "1", "-f", "ipod"]
        cmd += [str(self._audio_part)]
        try:
            self._proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._log
            )
        except OSError as exc:
            self._cleanup()
            raise ExportError(f"cannot run ffmpeg: {_reason(exc)}", self.dest) from None
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            if self._proc is not None and self._proc.poll() is None:
                self._proc.kill()
                self._proc.wait()
            self._cleanup(self._part)

    def _ffmpeg_error(self, what: str) -> ExportError:
        err = ""
        if self._log is not None:
            self._log.seek(0)
            err = self._log.read().decode("utf-8", "replace").strip()
        reason = err.splitlines()[-1] if err else "ffmpeg stopped"
        if "No space left" in err:
            reason = "disk full"
        return ExportError(f"{what} failed: {reason}", self.dest)

    def add(self, title: str, audio: ChapterAudio) -> BookChapter:
        """Append one chapter's audio (at the writer's sample rate)."""
        if audio.sample_rate != self.sample_rate:
            raise ExportError("chapter sample rate differs from the book's", self.dest)
        assert self._proc is not None and self._proc.stdin is not None, "use as a context"
        try:
            self._proc.stdin.write(audio.pcm.astype("<i2", copy=False).tobytes())
        except (BrokenPipeError, OSError):
            self._proc.wait()
            raise self._ffmpeg_error("AAC encoding") from None
        chapter = BookChapter(title, self._samples, self._samples + audio.pcm.size)
        self._samples = chapter.end
        self.chapters.append(chapter)
        return chapter

    def ms(self, sample: int) -> int:
        return round(sample * 1000 / self.sample_rate)

    def finish(self, tags: TrackTags) -> None:
        assert self._proc is not None and self._proc.stdin is not None, "use as a context"
        with contextlib.suppress(OSError):
            self._proc.stdin.close()
        if self._proc.wait() != 0:
            raise self._ffmpeg_error("AAC encoding")
        marks = [(c.title, self.ms(c.start), self.ms(c.end)) for c in self.chapters]
        try:
            self._meta_part.write_text(ffmetadata(tags.album, marks), encoding="utf-8")
            cmd = [_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y"]
            cmd += ["-i", str(self._audio_part), "-f", "ffmetadata", "-i", str(self._meta_part)]
            cmd += ["-map", "0:a", "-map_metadata", "1", "-map_chapters", "1", "-c", "copy"]
            # "M4B " marks an audiobook for players that go by the brand (Apple Books)
            cmd += ["-movflags", "+faststart", "-brand", "M4B ", "-f", "ipod", str(self._part)]
            proc = subprocess.run(cmd, capture_output=True, check=False)
            if proc.returncode != 0:
                err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
                raise ExportError(f"M4B chapters failed: {err[-1] if err else ''}", self.dest)
            _tag_mp4(self._part, tags)
            os.replace(self._part, self.dest)
        except OSError as exc:
            raise ExportError(f"cannot write: {_reason(exc)}", self.dest) from None
        except ExportError:
            raise
        except Exception as exc:  # mutagen's own errors
            raise ExportError(f"cannot write tags: {exc}", self.dest) from None
        finally:
            self._cleanup(self._part)

    def _cleanup(self, *extra: Path) -> None:
        for p in (self._audio_part, self._meta_part, *extra):
            _remove(p)
        if self._log is not None:
            self._log.close()
            self._log = None


def _tag_mp4(path: Path, tags: TrackTags) -> None:
    """iTunes-style atoms players and Audiobookshelf read: book title, author, narrator
    (composer), genre, year, description, series, cover; media kind Audiobook."""
    from mutagen.mp4 import MP4, MP4Cover, MP4FreeForm

    mp4 = MP4(path)
    if mp4.tags is None:
        mp4.add_tags()
    t = mp4.tags
    assert t is not None
    t["\xa9nam"] = [tags.title]
    t["\xa9alb"] = [tags.album]
    if tags.author:
        t["\xa9ART"] = [tags.author]
        t["aART"] = [tags.author]
    if tags.narrator:
        t["\xa9wrt"] = [tags.narrator]
    t["\xa9gen"] = [tags.genre]
    if tags.year:
        t["\xa9day"] = [tags.year]
    if tags.description:
        t["desc"] = [tags.description]
        t["\xa9cmt"] = [tags.description]
    t["stik"] = [2]  # media kind: audiobook
    if tags.series:
        t["\xa9grp"] = [tags.grouping]
    language = iso639_2(tags.language)
    freeform = (("series", tags.series), ("series-part", tags.series_part))
    for key, value in (*freeform, ("LANGUAGE", language)):
        if value:
            t[f"----:com.apple.iTunes:{key}"] = [MP4FreeForm(value.encode("utf-8"))]
    if tags.cover:
        mime = tags.cover_mime or _guess_mime(tags.cover)
        fmt = MP4Cover.FORMAT_PNG if mime == "image/png" else MP4Cover.FORMAT_JPEG
        t["covr"] = [MP4Cover(tags.cover, imageformat=fmt)]
    mp4.save()


def list_chapters(path: Path) -> list[tuple[float, float, str]]:
    """(start s, end s, title) of a file's chapters as ffmpeg reads them (what ffprobe
    would list; imageio-ffmpeg ships no ffprobe)."""
    proc = subprocess.run(
        [_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, check=False
    )
    text = proc.stderr.decode("utf-8", "replace")
    out: list[tuple[float, float, str]] = []
    pattern = re.compile(
        r"Chapter #\d+:\d+: start ([\d.]+), end ([\d.]+)\n\s+Metadata:\n\s+title\s+: ([^\n]*)"
    )
    for m in pattern.finditer(text):
        out.append((float(m.group(1)), float(m.group(2)), m.group(3)))
    return out
