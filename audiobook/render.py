"""The one render entry point both front ends call: stories in, tagged chapter MP3s out.

A render is resumable at two levels: segment audio lives in the content-addressed cache,
and a finished chapter file is not re-encoded when the manifest in the book folder says
it was made from the same audio and tags.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .analyze import analyze
from .assemble import AudioSource, assemble_chapter
from .cast import Casting, cast_voices
from .errors import AudiobookError, Cancelled, CastError, ExportError
from .export import TrackTags, book_folder, chapter_filename, write_chapter, write_playlist
from .model import Script, Segment
from .progress import EtaClock, Progress, ProgressCallback
from .sidecar import load_sidecar, save_sidecar
from .speech import spoken_text
from .synth import AudioCache, SynthJob, SynthProgress, default_cache_dir, synthesize
from .voices import discover_voices

log = logging.getLogger(__name__)
MANIFEST = ".audiobook-render.json"


@dataclass
class RenderOptions:
    out_dir: Path = Path("output")
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    cache_dir: Path | None = None
    engine: str = "piper"
    read_front_matter: bool = False
    bitrate: str = "64k"
    voice_dirs: Sequence[Path] = ()
    chapters: set[int] | None = None  # only these chapter indexes (the TUI renders one)
    save_sidecar: bool = True


@dataclass
class BookResult:
    source: Path
    folder: Path
    files: list[Path]
    chapters: int
    audio_seconds: float
    reused: int = 0  # chapter files already complete from an earlier run


@dataclass
class RenderReport:
    books: list[BookResult] = field(default_factory=list)
    failures: list[AudiobookError] = field(default_factory=list)
    seconds: float = 0.0
    segments: int = 0
    cache_hits: int = 0

    @property
    def audio_seconds(self) -> float:
        return sum(b.audio_seconds for b in self.books)


def _cache(options: RenderOptions) -> AudioCache:
    return AudioCache(Path(options.cache_dir) if options.cache_dir else default_cache_dir())


def speech_jobs(script: Script, casting: Casting) -> dict[int, SynthJob]:
    """Segment index -> what to synthesise; silent segments are absent."""
    jobs: dict[int, SynthJob] = {}
    for i, seg in enumerate(script.segments):
        if seg.kind == "skip":
            continue
        text = spoken_text(seg)
        if text:
            jobs[i] = SynthJob(text=text, voice=casting.voice_for(seg))
    return jobs


def _fingerprint(keys: Sequence[str], tags: TrackTags, bitrate: str) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([list(keys), bitrate, repr(tags)], sort_keys=True).encode())
    return h.hexdigest()[:32]


def _read_manifest(folder: Path) -> dict[str, str]:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_manifest(folder: Path, manifest: dict[str, str]) -> None:
    tmp = folder / (MANIFEST + ".part")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, folder / MANIFEST)


def render_story(
    path: Path,
    options: RenderOptions,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    script: Script | None = None,
) -> tuple[BookResult, int, int]:
    """Render one story; returns the result, segments synthesised and cache hits."""
    path = Path(path)
    emit = progress or (lambda p: None)
    story = path.name
    emit(Progress("analyse", story, 0, 1))
    script = script or analyze(path, read_front_matter=options.read_front_matter)
    sidecar = load_sidecar(path)
    casting = cast_voices(script, discover_voices(options.voice_dirs), sidecar)
    if options.save_sidecar:
        try:
            save_sidecar(sidecar)
        except CastError as e:  # a read-only story folder must not stop the render
            log.warning("%s", e)

    wanted = options.chapters
    jobs = {
        i: j
        for i, j in speech_jobs(script, casting).items()
        if wanted is None or script.segments[i].chapter in wanted
    }
    order = sorted(jobs)
    cache = _cache(options)
    clock = EtaClock()
    hits = 0

    def on_synth(sp: SynthProgress) -> None:
        nonlocal hits
        hits = sp.cache_hits
        emit(
            Progress(
                "synthesise",
                story,
                sp.done_chars,
                sp.total_chars,
                clock.eta(sp.done_chars, sp.total_chars),
                f"{sp.done_jobs}/{sp.total_jobs} lines",
            )
        )

    keys = synthesize(
        [jobs[i] for i in order],
        engine=options.engine,
        cache=cache,
        workers=max(1, options.jobs),
        on_progress=on_synth,
        cancel=cancel,
    )
    key_of = dict(zip(order, keys, strict=True))

    folder = book_folder(
        Path(options.out_dir), script.meta.author, script.title, script.meta.series
    )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(f"cannot create output folder ({e.strerror or e})", folder) from e
    manifest = _read_manifest(folder)
    rate = casting.narrator.sample_rate
    total = len(script.chapters)
    files: list[Path] = []
    playlist: list[tuple[str, float, str]] = []
    seconds = 0.0
    reused = 0
    seg_index = {id(s): i for i, s in enumerate(script.segments)}

    def audio_for(seg: Segment) -> AudioSource:
        k = key_of.get(seg_index[id(seg)])
        return cache.load(k) if k else None

    clock = EtaClock()
    titles = _unique_titles([c.title for c in script.chapters], script.title)
    for n, chapter in enumerate(script.chapters, start=1):
        if wanted is not None and chapter.index not in wanted:
            continue
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        emit(Progress("export", story, n - 1, total, clock.eta(n - 1, total), titles[n - 1]))
        segs = [s for s in script.segments if s.chapter == chapter.index]
        ckeys = [key_of[seg_index[id(s)]] for s in segs if seg_index[id(s)] in key_of]
        tags = TrackTags(
            title=titles[n - 1],
            album=script.title,
            author=script.meta.author,
            track=n,
            total=total,
            narrator=casting.narrator.name,
            year=script.meta.year,
            description=script.meta.description,
            series=script.meta.series,
            series_part=script.meta.series_part,
            cover=script.meta.cover,
            cover_mime=script.meta.cover_mime,
        )
        dest = folder / chapter_filename(n, total, titles[n - 1])
        fp = _fingerprint(ckeys, tags, options.bitrate)
        if dest.exists() and manifest.get(dest.name, "").startswith(fp):
            dur = float(manifest[dest.name].split(":", 1)[1])
            reused += 1
        else:
            audio = assemble_chapter(chapter, segs, audio_for, rate)
            write_chapter(dest, audio, tags, bitrate=options.bitrate)
            dur = audio.duration
            manifest[dest.name] = f"{fp}:{dur:.3f}"
            _write_manifest(folder, manifest)
        files.append(dest)
        playlist.append((dest.name, dur, titles[n - 1]))
        seconds += dur
    if wanted is None:
        write_playlist(folder, script.title, playlist)
    emit(Progress("done", story, 1, 1))
    return BookResult(path, folder, files, len(files), seconds, reused), len(order), hits


def _unique_titles(titles: list[str], book: str) -> list[str]:
    """Players list chapters by title: make each one unique and different from the
    book's own title."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, t in enumerate(titles, start=1):
        t = t.strip() or f"Chapter {i}"
        if t == book and len(titles) > 1:
            t = f"{t} ({i})"
        n = seen.get(t, 0)
        seen[t] = n + 1
        out.append(t if n == 0 else f"{t} ({n + 1})")
    return out


def render(
    paths: Sequence[Path],
    options: RenderOptions,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    on_error: Callable[[Path, AudiobookError], None] | None = None,
) -> RenderReport:
    """Render every story; a story that fails is reported and the rest go on.
    ``Cancelled`` is not a story failure: it stops the batch."""
    report = RenderReport()
    t0 = time.monotonic()
    for p in paths:
        try:
            book, n, hits = render_story(Path(p), options, progress, cancel)
        except Cancelled:
            raise
        except AudiobookError as e:
            if e.path is None:  # the user must learn which story failed
                e = type(e)(e.message, Path(p))
            report.failures.append(e)
            if on_error is not None:
                on_error(p, e)
            continue
        report.books.append(book)
        report.segments += n
        report.cache_hits += hits
    report.seconds = time.monotonic() - t0
    return report
