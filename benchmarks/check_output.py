"""Does a rendered book keep the output promises (issue 6)? Decodes every chapter as a
player would and measures it.

For each chapter file it prints integrated loudness (BS.1770, pyloudnorm), sample peak,
head and tail silence (and the loudest sample inside them), the worst CHAP marker
timing error against the decoded audio and against the subtitle cues, the worst cue
timing error, and the tag list; then every value outside the limits. Exit status 1 if
anything is outside them.

    python benchmarks/check_output.py                   # render the example, check it
    python benchmarks/check_output.py --format m4b      # ... as one M4B
    python benchmarks/check_output.py --quality high
    python benchmarks/check_output.py OUTPUT_FOLDER     # check books already rendered

Rendering uses the real Piper voice (``--engine tone`` for a quick dry run) into a
temporary folder (``--keep DIR`` to keep it) and the usual segment cache, so a second
run only re-encodes. The example takes ~1 min on two cores the first time.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyloudnorm

from audiobook.export import QUALITIES, decode_audio, list_chapters, peak_dbfs
from audiobook.subtitles import Cue, read_vtt

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "the-lighthouse-at-gull-point.txt"

TARGET_LUFS, LUFS_TOLERANCE = -19.0, 1.0
MAX_PEAK_DBFS = -3.0
HEAD_RANGE = (0.5, 1.0)
TAIL_RANGE = (1.0, 5.0)
SILENT_DBFS = -60.0  # "truly silent": nothing in the head/tail/pauses above this
MAX_CHAP_ERROR_MS = 50.0
MAX_CUE_ERROR_MS = 100.0  # a cue may include the voice's own ~50 ms lead-in/out
ID3_REQUIRED = ["TIT2", "TALB", "TRCK", "TPE1", "TPE2", "TCOM", "TCON", "APIC", "CTOC", "CHAP"]
MP4_REQUIRED = ["\xa9nam", "\xa9alb", "\xa9ART", "aART", "\xa9wrt", "\xa9gen", "covr"]


@dataclass
class Measure:
    name: str
    lufs: float
    peak: float
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


def _silent_runs(y: np.ndarray, rate: int, min_seconds: float) -> list[tuple[float, float]]:
    """(start, end) seconds of stretches at or below SILENT_DBFS lasting min_seconds+."""
    quiet = np.abs(y) <= 10 ** (SILENT_DBFS / 20)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]])))
    runs = []
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if (b - a) / rate >= min_seconds:
            runs.append((a / rate, b / rate))
    return runs


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
        peak=_db(y),
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
    if not m.peak <= MAX_PEAK_DBFS:
        m.problems.append(f"peak {m.peak:.2f} dBFS > {MAX_PEAK_DBFS:g}")
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


def check_mp3_book(folder: Path, expected_quality: str | None) -> list[Measure]:
    from mutagen.id3 import ID3
    from mutagen.mp3 import MP3, BitrateMode

    files = sorted(folder.glob("*.mp3"))
    cover = (folder / "cover.jpg").read_bytes() if (folder / "cover.jpg").is_file() else None
    has_desc = (folder / "desc.txt").is_file()
    titles: list[str] = []
    out: list[Measure] = []
    for n, path in enumerate(files, start=1):
        vtt = path.with_suffix(".vtt")
        cues = read_vtt(vtt) if vtt.is_file() else []
        y, rate = decode_audio(path)
        m = _measure(path.name, y, rate, cues)
        _level_problems(m)
        info = MP3(path).info
        assert info is not None
        if info.channels != 1:
            m.problems.append(f"{info.channels} channels, not mono")
        if info.bitrate_mode != BitrateMode.CBR or not _has_info_header(path):
            m.problems.append("not CBR with a Xing/Info header")
        if expected_quality:
            q = QUALITIES[expected_quality]
            want_kbps = int(q.mp3_bitrate.rstrip("k"))
            if info.sample_rate != q.sample_rate or round(info.bitrate / 1000) != want_kbps:
                m.problems.append(
                    f"{info.sample_rate} Hz {info.bitrate // 1000} kbps, not "
                    f"{q.sample_rate} Hz {want_kbps} kbps"
                )
        id3 = ID3(path)
        m.tags = sorted({k.split(":")[0] if k[:4] != "TXXX" else k for k in id3})
        if id3.version[:2] != (2, 3):
            m.problems.append(f"ID3v2.{id3.version[1]}, not v2.3")
        missing = [f for f in ID3_REQUIRED if not id3.getall(f)]
        if has_desc and not id3.getall("COMM"):
            missing.append("COMM")
        if missing:
            m.problems.append("missing " + " ".join(missing))
        title = str(id3.get("TIT2", ""))
        titles.append(title)
        if title == str(id3.get("TALB", "")):
            m.problems.append("chapter title equals the book title")
        if str(id3.get("TRCK", "")) != f"{n}/{len(files)}":
            m.problems.append(f"TRCK {id3.get('TRCK')} not {n}/{len(files)}")
        if str(id3.get("TPE1", "")) != str(id3.get("TPE2", "")):
            m.problems.append("TPE1 != TPE2")
        if str(id3.get("TCON", "")) != "Audiobook":
            m.problems.append("TCON is not Audiobook")
        apic = id3.getall("APIC")
        if cover is not None and not (apic and apic[0].data == cover and apic[0].type == 3):
            m.problems.append("embedded cover differs from cover.jpg")
        m.chap_error_ms = _check_chapters(id3, y, rate, cues, m.problems)
        out.append(m)
    if len(set(titles)) != len(titles):
        out[0].problems.append("chapter titles are not unique")
    return out


def _check_chapters(
    id3: object, y: np.ndarray, rate: int, cues: list[Cue], problems: list[str]
) -> float:
    """CTOC/CHAP structure, and each marker against the decoded audio: the first at 0,
    the last ending with the audio, each later one inside the silent scene break,
    half-way between the cues either side (where we put it). Worst error in ms."""
    from mutagen.id3 import ID3

    assert isinstance(id3, ID3)
    tocs = id3.getall("CTOC")
    chaps = {c.element_id: c for c in id3.getall("CHAP")}
    if len(tocs) != 1 or tocs[0].flags & 0x03 != 0x03:
        problems.append("CTOC missing or not top-level+ordered")
        return float("inf")
    order = [chaps[i] for i in tocs[0].child_element_ids if i in chaps]
    if len(order) != len(chaps) or not order:
        problems.append("CTOC children do not match the CHAP frames")
        return float("inf")
    duration_ms = y.size / rate * 1000
    errors = [abs(order[0].start_time - 0), abs(order[-1].end_time - duration_ms)]
    runs = _silent_runs(y, rate, 1.0)
    for prev, chap in itertools.pairwise(order):
        if prev.end_time != chap.start_time:
            problems.append(f"gap/overlap between CHAP frames at {chap.start_time} ms")
        at = chap.start_time / 1000
        run = next(((a, b) for a, b in runs if a <= at <= b), None)
        if run is None:
            problems.append(f"CHAP at {at:.3f} s is not in a silent scene break")
            errors.append(float("inf"))
            continue
        before = [c.end for c in cues if c.end <= at]
        after = [c.start for c in cues if c.start >= at]
        planned = (max(before) + min(after)) / 2 if before and after else at
        # The audible gap is narrower than the planned pause by the voice's quiet
        # lead-in/out, about equally on both sides: its middle is where the marker goes.
        errors += [abs(at - (run[0] + run[1]) / 2) * 1000, abs(at - planned) * 1000]
    worst = max(errors)
    if not worst <= MAX_CHAP_ERROR_MS:
        problems.append(f"CHAP timing off by {worst:.0f} ms")
    return worst


def check_m4b_book(folder: Path, expected_titles: list[str] | None) -> list[Measure]:
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
        f"  {'file':<44} {'LUFS':>6} {'peak':>6} {'head s':>6} {'tail s':>6} "
        f"{'h/t max dBFS':>13} {'CHAP err':>8} {'cue err':>7} {'cues':>4}"
    )
    print(header)
    for m in measures:
        name = m.name if len(m.name) <= 44 else m.name[:41] + "..."
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
    side = [n for n in ("cover.jpg", "desc.txt", "reader.txt") if not (folder / n).is_file()]
    if side:
        print(f"  FAIL missing {' '.join(side)}")
        bad += 1
    return bad


def _book_folders(root: Path) -> list[Path]:
    found = {p.parent for p in root.rglob("*.mp3")} | {p.parent for p in root.rglob("*.m4b")}
    return sorted(found)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", nargs="?", type=Path, help="rendered output to check")
    ap.add_argument("--story", type=Path, default=EXAMPLE)
    ap.add_argument("--format", choices=["mp3", "m4b"], default="mp3")
    ap.add_argument("--quality", choices=list(QUALITIES), default=None)
    ap.add_argument("--engine", choices=["piper", "tone"], default="piper")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", type=Path, help="render here instead of a temporary folder")
    args = ap.parse_args()

    expected_titles: list[str] | None = None
    tmp = None
    if args.folder is not None:
        root = args.folder
    else:
        from audiobook.analyze import analyze
        from audiobook.render import RenderOptions, _unique_titles, render

        if args.keep is not None:
            root = args.keep
        else:
            tmp = tempfile.TemporaryDirectory(prefix="audiobook-check-")
            root = Path(tmp.name)
        opts = RenderOptions(
            out_dir=root,
            jobs=args.jobs,
            engine=args.engine,
            format=args.format,
            quality=args.quality or "standard",
            save_sidecar=False,  # leave the example folder as it is
        )
        t0 = time.monotonic()
        rep = render([args.story], opts)
        if rep.failures:
            for f in rep.failures:
                print(f"render failed: {f}", file=sys.stderr)
            return 1
        print(
            f"rendered {args.story.name} ({args.engine}, {args.format}, {opts.quality}) in "
            f"{time.monotonic() - t0:.1f} s: {rep.audio_seconds:.1f} s of audio -> {root}"
        )
        script = analyze(args.story)
        expected_titles = _unique_titles([c.title for c in script.chapters], script.title)
        args.quality = opts.quality

    bad = 0
    folders = _book_folders(root)
    if not folders:
        print(f"no .mp3/.m4b under {root}", file=sys.stderr)
        return 1
    for folder in folders:
        if list(folder.glob("*.m4b")):
            measures = check_m4b_book(folder, expected_titles)
        else:
            measures = check_mp3_book(folder, args.quality)
        bad += report(folder, measures)
    print(
        f"\nlimits: {TARGET_LUFS:g}±{LUFS_TOLERANCE:g} LUFS, peak <= {MAX_PEAK_DBFS:g} dBFS, "
        f"head {HEAD_RANGE[0]}-{HEAD_RANGE[1]} s, tail {TAIL_RANGE[0]}-{TAIL_RANGE[1]} s, "
        f"silence <= {SILENT_DBFS:g} dBFS, CHAP <= {MAX_CHAP_ERROR_MS:g} ms, "
        f"cues <= {MAX_CUE_ERROR_MS:g} ms"
    )
    print("RESULT:", "all within limits" if not bad else f"{bad} problem(s)")
    if tmp is not None:
        tmp.cleanup()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
