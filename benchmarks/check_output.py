"""Does a rendered book keep the output promises ("What you get" in the README)?
Decodes every chapter as a player would and measures it.

For each chapter file it prints integrated loudness (BS.1770, pyloudnorm), true peak
(4x oversampled, ours and ffmpeg's ``ebur128=peak=true``; the worse one is judged),
head and tail silence (and the loudest sample inside them), the worst CHAP marker
timing error against the decoded audio and against the subtitle cues, the worst cue
timing error, and the tag list; then every value outside the limits. Exit status 1 if
anything is outside them.

    python benchmarks/check_output.py                   # render the example, check it
    python benchmarks/check_output.py --format m4b      # ... as one M4B
    python benchmarks/check_output.py --quality high
    python benchmarks/check_output.py --series "Harbour Tales" --series-part 2
    python benchmarks/check_output.py --chars 70000     # a generated 70k-character novel
    python benchmarks/check_output.py --format epub     # + EPUBCheck on the read-along EPUB
    python benchmarks/check_output.py OUTPUT_FOLDER     # check books already rendered

Rendering uses the real Piper voice (``--engine tone`` for a quick dry run) into a
temporary folder (``--keep DIR`` to keep it) and the usual segment cache, so a second
run only re-encodes. The example takes ~1 min on two cores the first time.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pyloudnorm

from audiobook.assemble import true_peak_dbtp
from audiobook.export import QUALITIES, decode_audio, list_chapters, peak_dbfs
from audiobook.subtitles import Cue, read_vtt

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "the-lighthouse-at-gull-point.txt"

TARGET_LUFS, LUFS_TOLERANCE = -19.0, 1.0
MAX_TRUE_PEAK = -3.0  # dBTP
HEAD_RANGE = (0.5, 1.0)
TAIL_RANGE = (1.0, 5.0)
SILENT_DBFS = -60.0  # "truly silent": nothing in the head/tail/pauses above this
MAX_CHAP_ERROR_MS = 50.0
MAX_CUE_ERROR_MS = 100.0  # a cue may include the voice's own ~50 ms lead-in/out
ID3_REQUIRED = ["TIT2", "TALB", "TRCK", "TPE1", "TPE2", "TCOM", "TCON", "TLAN", "APIC"]
ID3_REQUIRED += ["CTOC", "CHAP"]
ID3_SERIES = ["TXXX:series", "TXXX:MVNM", "TIT1"]  # with a series part also TXXX:MVIN
MP4_REQUIRED = ["\xa9nam", "\xa9alb", "\xa9ART", "aART", "\xa9wrt", "\xa9gen", "covr"]
MP4_REQUIRED += ["----:com.apple.iTunes:LANGUAGE"]
EPUB_ROW = "read-along EPUB"


@dataclass
class Measure:
    name: str
    lufs: float
    peak: float  # true peak, dBTP: the worse of ours and ffmpeg's
    head: float
    tail: float
    head_level: float
    tail_level: float
    chap_error_ms: float
    cue_error_ms: float
    cues: int
    tags: list[str]
    problems: list[str] = field(default_factory=list)


def _db(x: np.ndarray) -> float:
    return peak_dbfs(x)


def _silence(y: np.ndarray, rate: int) -> tuple[float, float]:
    """Seconds before the first and after the last sample louder than SILENT_DBFS."""
    loud = np.flatnonzero(np.abs(y) > 10 ** (SILENT_DBFS / 20))
    if not loud.size:
        return y.size / rate, y.size / rate
    return loud[0] / rate, (y.size - 1 - loud[-1]) / rate


def _cue_error_ms(y: np.ndarray, rate: int, cues: list[Cue]) -> float:
    """Worst distance between a cue's start/end and where the decoded audio around it
    actually starts/stops being audible."""
    thr = 10 ** (SILENT_DBFS / 20)
    worst = 0.0
    for cue in cues:
        a = max(0, round((cue.start - 0.2) * rate))
        b = min(y.size, round((cue.end + 0.2) * rate))
        loud = np.flatnonzero(np.abs(y[a:b]) > thr)
        if not loud.size:
            return float("inf")
        onset, offset = (a + loud[0]) / rate, (a + loud[-1] + 1) / rate
        worst = max(worst, abs(onset - cue.start), abs(offset - cue.end))
    return worst * 1000


def _level(y: np.ndarray, rate: int, start: float, end: float) -> float:
    a, b = max(0, round(start * rate)), min(y.size, round(end * rate))
    return _db(y[a:b]) if b > a else float("-inf")


def ffmpeg_true_peak(path: Path, start: float = 0.0, end: float | None = None) -> float:
    """ffmpeg's own true peak (``ebur128=peak=true``) of a file or a stretch of it."""
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostats", "-ss", f"{start:.3f}"]
    if end is not None:
        cmd += ["-to", f"{end:.3f}"]
    cmd += ["-i", str(path), "-af", "ebur128=peak=true", "-f", "null", "-"]
    err = subprocess.run(cmd, capture_output=True, text=True, check=False).stderr
    m = re.search(r"True peak:\s*Peak:\s*(-?[\d.]+|-inf)", err)
    return float(m.group(1)) if m else float("inf")


def _measure(name: str, y: np.ndarray, rate: int, cues: list[Cue]) -> Measure:
    lufs = pyloudnorm.Meter(rate).integrated_loudness(y.astype(np.float64))
    head, tail = _silence(y, rate)
    # The pauses we promise silent: before the first cue and after the last (less a
    # 50 ms guard for codec pre-echo at the words' edges).
    first = cues[0].start if cues else head
    last = cues[-1].end if cues else y.size / rate - tail
    head_level = _level(y, rate, 0, first - 0.05)
    tail_level = _level(y, rate, last + 0.05, y.size / rate)
    return Measure(
        name=name,
        lufs=lufs,
        peak=true_peak_dbtp(y),
        head=head,
        tail=tail,
        head_level=head_level,
        tail_level=tail_level,
        chap_error_ms=0.0,
        cue_error_ms=_cue_error_ms(y, rate, cues) if cues else float("inf"),
        cues=len(cues),
        tags=[],
    )


def _level_problems(m: Measure) -> None:
    if not abs(m.lufs - TARGET_LUFS) <= LUFS_TOLERANCE:
        m.problems.append(f"loudness {m.lufs:.2f} LUFS not {TARGET_LUFS:g}±{LUFS_TOLERANCE:g}")
    if not m.peak <= MAX_TRUE_PEAK:
        m.problems.append(f"true peak {m.peak:.2f} dBTP > {MAX_TRUE_PEAK:g}")
    if not HEAD_RANGE[0] <= m.head <= HEAD_RANGE[1]:
        m.problems.append(f"head silence {m.head:.3f} s not in {HEAD_RANGE}")
    if not TAIL_RANGE[0] <= m.tail <= TAIL_RANGE[1]:
        m.problems.append(f"tail silence {m.tail:.3f} s not in {TAIL_RANGE}")
    for where, level in (("head", m.head_level), ("tail", m.tail_level)):
        if not level <= SILENT_DBFS:
            m.problems.append(f"{where} silence not silent: {level:.1f} dBFS")
    if not m.cue_error_ms <= MAX_CUE_ERROR_MS:
        m.problems.append(f"cue timing off by {m.cue_error_ms:.0f} ms")
    if m.cues == 0:
        m.problems.append("no subtitle cues")


def _has_info_header(path: Path) -> bool:
    """A Xing/Info frame right after the ID3 tag (players need it for seeking and for
    the exact duration)."""
    data = path.read_bytes()[:200_000]
    start = 0
    if data[:3] == b"ID3":
        size = data[6:10]
        start = 10 + ((size[0] << 21) | (size[1] << 14) | (size[2] << 7) | size[3])
    frame = data[start : start + 200]
    return frame[:1] == b"\xff" and (b"Info" in frame or b"Xing" in frame)


def check_mp3_book(
    folder: Path, expected_quality: str | None, series: tuple[str, str | None] | None = None
) -> list[Measure]:
    from mutagen.id3 import ID3

    files = sorted(folder.glob("*.mp3"))
    titles: list[str] = []
    out: list[Measure] = []
    for n, path in enumerate(files, start=1):
        vtt = path.with_suffix(".vtt")
        cues = read_vtt(vtt) if vtt.is_file() else []
        y, rate = decode_audio(path)
        m = _measure(path.name, y, rate, cues)
        m.peak = max(m.peak, ffmpeg_true_peak(path))
        _level_problems(m)
        _check_mp3_stream(path, expected_quality, m.problems)
        id3 = ID3(path)
        m.tags = sorted({k.split(":")[0] if k[:4] != "TXXX" else k for k in id3})
        _check_id3(folder, id3, n, len(files), series, m.problems)
        chap_titles, m.chap_error_ms = _check_chapters(id3, y.size / rate, m.problems)
        titles += chap_titles
        out.append(m)
    if len(set(titles)) != len(titles):
        out[0].problems.append(f"chapter titles are not unique: {titles}")
    return out


def _check_mp3_stream(path: Path, expected_quality: str | None, problems: list[str]) -> None:
    from mutagen.mp3 import MP3, BitrateMode

    info = MP3(path).info
    assert info is not None
    if info.channels != 1:
        problems.append(f"{info.channels} channels, not mono")
    if info.bitrate_mode != BitrateMode.CBR or not _has_info_header(path):
        problems.append("not CBR with a Xing/Info header")
    if expected_quality:
        q = QUALITIES[expected_quality]
        want_kbps = int(q.mp3_bitrate.rstrip("k"))
        if info.sample_rate != q.sample_rate or round(info.bitrate / 1000) != want_kbps:
            problems.append(
                f"{info.sample_rate} Hz {info.bitrate // 1000} kbps, not "
                f"{q.sample_rate} Hz {want_kbps} kbps"
            )


def _check_id3(
    folder: Path,
    id3: object,
    n: int,
    total: int,
    series: tuple[str, str | None] | None,
    problems: list[str],
) -> None:
    from mutagen.id3 import ID3

    assert isinstance(id3, ID3)
    if id3.version[:2] != (2, 3):
        problems.append(f"ID3v2.{id3.version[1]}, not v2.3")
    missing = [f for f in ID3_REQUIRED if not id3.getall(f)]
    if (folder / "desc.txt").is_file() and not id3.getall("COMM"):
        missing.append("COMM")
    if series is not None:
        missing += [f for f in ID3_SERIES if not id3.getall(f)]
        if series[1] and not id3.getall("TXXX:MVIN"):
            missing.append("TXXX:MVIN")
    if missing:
        problems.append("missing " + " ".join(missing))
    if str(id3.get("TIT2", "")) == str(id3.get("TALB", "")):
        problems.append("chapter title equals the book title")
    if str(id3.get("TRCK", "")) != f"{n}/{total}":
        problems.append(f"TRCK {id3.get('TRCK')} not {n}/{total}")
    if str(id3.get("TPE1", "")) != str(id3.get("TPE2", "")):
        problems.append("TPE1 != TPE2")
    if not str(id3.get("TCON", "")).strip():
        problems.append("TCON is empty")
    if id3.getall("TLAN") and not re.fullmatch(r"[a-z]{3}", str(id3["TLAN"])):
        problems.append(f"TLAN {id3['TLAN']} is not an ISO 639-2 code")
    if series is not None and id3.getall("TIT1"):
        name, part = series
        got = (str(id3.get("TXXX:MVNM", "")), str(id3.get("TXXX:MVIN", "")) or None)
        grouping = f"{name} #{part}" if part else name
        if got != (name, part) or str(id3["TIT1"]) != grouping:
            problems.append(f"series tags {got} / TIT1 {id3['TIT1']} != {series}")
    cover = folder / "cover.jpg"
    apic = id3.getall("APIC")
    if cover.is_file() and not (apic and apic[0].data == cover.read_bytes() and apic[0].type == 3):
        problems.append("embedded cover differs from cover.jpg")


def _check_chapters(id3: object, seconds: float, problems: list[str]) -> tuple[list[str], float]:
    """One CHAP frame under a top-level ordered CTOC, spanning the whole file and
    named like it: a library that joins every file's frames lists the book's chapters,
    never scenes. Returns the CHAP titles and how far the frame's end is off (ms)."""
    from mutagen.id3 import ID3

    assert isinstance(id3, ID3)
    tocs = id3.getall("CTOC")
    chaps = {c.element_id: c for c in id3.getall("CHAP")}
    if len(tocs) != 1 or tocs[0].flags & 0x03 != 0x03:
        problems.append("CTOC missing or not top-level+ordered")
        return [], float("inf")
    order = [chaps[i] for i in tocs[0].child_element_ids if i in chaps]
    if len(order) != len(chaps) or len(order) != 1:
        problems.append(f"{len(chaps)} CHAP frames ({len(order)} in the CTOC), not 1")
        return [str(c.sub_frames.get("TIT2", "")) for c in order], float("inf")
    chap = order[0]
    error_ms = abs(chap.end_time - seconds * 1000)
    if chap.start_time != 0 or error_ms > MAX_CHAP_ERROR_MS:
        problems.append(f"CHAP {chap.start_time}-{chap.end_time} ms, file {seconds:.3f} s")
    title = str(chap.sub_frames.get("TIT2", ""))
    if title != str(id3.get("TIT2", "")):
        problems.append(f"CHAP title {title!r} is not the file's title")
    return [title], error_ms


def check_m4b_book(
    folder: Path, expected_titles: list[str] | None, series: tuple[str, str | None] | None = None
) -> list[Measure]:
    from mutagen.mp4 import MP4

    books = sorted(folder.glob("*.m4b"))
    out: list[Measure] = []
    if len(books) != 1 or list(folder.glob("*.mp3")):
        m = Measure(folder.name, 0, 0, 0, 0, 0, 0, 0, 0, 0, [])
        m.problems.append(f"{len(books)} .m4b files (and mp3s: {len(list(folder.glob('*.mp3')))})")
        return [m]
    path = books[0]
    chapters = list_chapters(path)
    y, rate = decode_audio(path)
    cues = read_vtt(path.with_suffix(".vtt")) if path.with_suffix(".vtt").is_file() else []
    mp4 = MP4(path)
    tags: list[str] = sorted(mp4.tags.keys()) if mp4.tags else []
    print(f"  chapters listed by ffmpeg -i ({len(chapters)}):")
    for start, end, title in chapters:
        print(f"    {start:9.3f} - {end:9.3f}  {title}")
    duration = y.size / rate
    for i, (start, end, title) in enumerate(chapters):
        a, b = round(start * rate), round(end * rate)
        ccues = [
            Cue(c.start - start, c.end - start, c.text, c.voice)
            for c in cues
            if start <= c.start < end
        ]
        m = _measure(title, y[a:b], rate, ccues)
        m.peak = max(m.peak, ffmpeg_true_peak(path, start, end))
        _level_problems(m)
        m.tags = tags
        if i == 0 and start != 0:
            m.problems.append(f"first chapter starts at {start} s")
        if i + 1 < len(chapters) and abs(chapters[i + 1][0] - end) > 0.001:
            m.problems.append("chapters not contiguous")
        if i + 1 == len(chapters):
            m.chap_error_ms = abs(end - duration) * 1000
            if m.chap_error_ms > MAX_CHAP_ERROR_MS:
                m.problems.append(f"last chapter ends {m.chap_error_ms:.0f} ms off the audio")
        out.append(m)
    if not out:
        m = Measure(path.name, 0, 0, 0, 0, 0, 0, 0, 0, 0, tags, ["no chapters"])
        out.append(m)
    missing = [t for t in MP4_REQUIRED if t not in tags]
    if series is not None:
        name, part = series
        grouping = f"{name} #{part}" if part else name
        if mp4.tags is None or mp4.tags.get("\xa9grp") != [grouping]:
            out[0].problems.append(f"\xa9grp is not {grouping!r}")
    if path.read_bytes()[8:12] != b"M4B ":
        out[0].problems.append("the ftyp brand is not 'M4B '")
    if missing:
        out[0].problems.append("missing " + " ".join(missing))
    if expected_titles is not None and [c[2] for c in chapters] != expected_titles:
        out[0].problems.append(f"chapter titles {[c[2] for c in chapters]} != {expected_titles}")
    return out


def _fmt(x: float, spec: str) -> str:
    return format(x, spec) if np.isfinite(x) else "-inf" if x < 0 else "inf"


def report(folder: Path, measures: list[Measure]) -> int:
    print(f"\n{folder}")
    header = (
        f"  {'file':<44} {'LUFS':>6} {'dBTP':>6} {'head s':>6} {'tail s':>6} "
        f"{'h/t max dBFS':>13} {'CHAP err':>8} {'cue err':>7} {'cues':>4}"
    )
    print(header)
    for m in measures:
        name = m.name if len(m.name) <= 44 else m.name[:41] + "..."
        if m.name == EPUB_ROW:  # no audio of its own: only its pars
            print(f"  {name:<44} {'':>61} {m.cues:4d} pars")
            continue
        print(
            f"  {name:<44} {_fmt(m.lufs, '6.2f')} {_fmt(m.peak, '6.2f')} {m.head:6.3f} "
            f"{m.tail:6.3f} {_fmt(m.head_level, '6.1f')}/{_fmt(m.tail_level, '6.1f')} "
            f"{_fmt(m.chap_error_ms, '5.1f')} ms {_fmt(m.cue_error_ms, '4.0f')} ms {m.cues:4d}"
        )
        print(f"    tags: {' '.join(m.tags)}")
    bad = 0
    for m in measures:
        for p in m.problems:
            print(f"  FAIL {m.name}: {p}")
            bad += 1
    side = ["cover.jpg", "reader.txt", "metadata.json"]
    missing = [n for n in side if not (folder / n).is_file()]
    if not missing:
        meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
        if meta.get("description") and not (folder / "desc.txt").is_file():
            missing.append("desc.txt")  # the story has a summary
        if not meta.get("chapters") or not meta.get("language"):
            print("  FAIL metadata.json has no chapters or no language")
            bad += 1
    if missing:
        print(f"  FAIL missing {' '.join(missing)}")
        bad += 1
    return bad


def epubcheck(path: Path) -> list[str]:
    """EPUBCheck's errors and warnings on an EPUB (Debian's ``epubcheck`` package, a
    Java program: ``apt-get install epubcheck``); a problem if it is not installed."""
    exe = shutil.which("epubcheck")
    if exe is None:
        return ["epubcheck is not installed (apt-get install epubcheck)"]
    real = Path(exe).resolve()
    cmd = ["java", "-jar", str(real)] if real.suffix == ".jar" else [exe]
    proc = subprocess.run([*cmd, str(path)], capture_output=True, text=True, check=False)
    text = proc.stdout + proc.stderr
    print(f"  EPUBCheck: {' '.join(text.split('Messages:')[-1].split()[:8])}")
    found = [ln for ln in text.splitlines() if re.match(r"(FATAL|ERROR|WARNING)", ln)]
    if proc.returncode != 0 and not found:
        found.append(f"epubcheck exit status {proc.returncode}")
    return found


def check_epub(folder: Path) -> list[Measure]:
    """The read-along EPUB beside the chapter files passes EPUBCheck cleanly, and has
    an overlay for each chapter file."""
    import zipfile

    m = Measure(EPUB_ROW, 0, 0, 0, 0, 0, 0, 0, 0, 0, [])
    books = sorted(folder.glob("*.epub"))
    if len(books) != 1:
        m.problems.append(f"{len(books)} .epub files, not 1")
        return [m]
    m.problems += epubcheck(books[0])
    with zipfile.ZipFile(books[0]) as z:
        smils = [n for n in z.namelist() if n.endswith(".smil")]
        m.cues = sum(z.read(n).count(b"<par ") for n in smils)
    if len(smils) != len(list(folder.glob("*.mp3"))):
        m.problems.append(f"{len(smils)} overlays for {len(list(folder.glob('*.mp3')))} files")
    print(f"  {books[0].name}: {len(smils)} overlays, {m.cues} pars")
    return [m]


def _book_folders(root: Path) -> list[Path]:
    found = {p.parent for p in root.rglob("*.mp3")} | {p.parent for p in root.rglob("*.m4b")}
    return sorted(found)


def _story(args: argparse.Namespace, work: Path) -> Path:
    """The story to render: --story, or with --chars a novel generated that long."""
    if not args.chars:
        return Path(args.story)
    from memory import novel  # benchmarks/memory.py: our own generated text

    path = work / f"generated-{args.chars}.txt"
    path.write_text(novel(args.chars), encoding="utf-8")
    return path


def _render(args: argparse.Namespace, root: Path) -> list[str] | None:
    """Render the story into ``root``; the chapter titles the book must list, or None
    if the render failed."""
    from audiobook.analyze import analyze
    from audiobook.render import RenderOptions, render, unique_titles

    story = _story(args, root)
    opts = RenderOptions(
        out_dir=root / "out",
        jobs=args.jobs,
        engine=args.engine,
        format=args.format,
        quality=args.quality or "standard",
        series=args.series,
        series_part=args.series_part,
        save_sidecar=False,  # leave the example folder as it is
    )
    t0 = time.monotonic()
    rep = render([story], opts)
    if rep.failures:
        for f in rep.failures:
            print(f"render failed: {f}", file=sys.stderr)
        return None
    print(
        f"rendered {story.name} ({args.engine}, {args.format}, {opts.quality}) in "
        f"{time.monotonic() - t0:.1f} s: {rep.audio_seconds:.1f} s of audio -> {root}"
    )
    script = analyze(story)
    args.quality = opts.quality
    return unique_titles([c.title for c in script.chapters], script.title)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", nargs="?", type=Path, help="rendered output to check")
    ap.add_argument("--story", type=Path, default=EXAMPLE)
    ap.add_argument("--chars", type=int, default=0, help="render a generated novel this long")
    ap.add_argument("--format", choices=["mp3", "m4b", "epub"], default="mp3")
    ap.add_argument("--quality", choices=list(QUALITIES), default=None)
    ap.add_argument("--engine", choices=["piper", "tone"], default="piper")
    ap.add_argument("--series", default=None, help="render with --series and check its tags")
    ap.add_argument("--series-part", default=None)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", type=Path, help="render here instead of a temporary folder")
    args = ap.parse_args()

    expected_titles: list[str] | None = None
    tmp = None
    if args.folder is not None:
        root = args.folder
    else:
        if args.keep is not None:
            root = args.keep
            root.mkdir(parents=True, exist_ok=True)
        else:
            tmp = tempfile.TemporaryDirectory(prefix="audiobook-check-")
            root = Path(tmp.name)
        expected_titles = _render(args, root)
        if expected_titles is None:
            return 1
    series = (args.series, args.series_part) if args.series else None

    bad = 0
    folders = _book_folders(root)
    if not folders:
        print(f"no .mp3/.m4b under {root}", file=sys.stderr)
        return 1
    for folder in folders:
        if list(folder.glob("*.m4b")):
            measures = check_m4b_book(folder, expected_titles, series)
        else:
            measures = check_mp3_book(folder, args.quality, series)
        if args.format == "epub":
            measures += check_epub(folder)
        bad += report(folder, measures)
    print(
        f"\nlimits: {TARGET_LUFS:g}±{LUFS_TOLERANCE:g} LUFS, true peak <= {MAX_TRUE_PEAK:g} "
        f"dBTP, head {HEAD_RANGE[0]}-{HEAD_RANGE[1]} s, tail {TAIL_RANGE[0]}-{TAIL_RANGE[1]} s, "
        f"silence <= {SILENT_DBFS:g} dBFS, CHAP <= {MAX_CHAP_ERROR_MS:g} ms, "
        f"cues <= {MAX_CUE_ERROR_MS:g} ms"
    )
    print("RESULT:", "all within limits" if not bad else f"{bad} problem(s)")
    if tmp is not None:
        tmp.cleanup()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
