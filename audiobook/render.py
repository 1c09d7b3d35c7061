"""The one render entry point both front ends call: stories in, a book folder out that
an audiobook library reads as it is:

    OUT/Author/[Series/]Title/
        01 - Chapter.mp3  01 - Chapter.vtt  ...   (or Title.m4b + Title.vtt)
        cover.jpg  desc.txt  reader.txt  Title.m3u8

A render is resumable at two levels: segment audio lives in the content-addressed cache,
and a finished chapter file is not re-encoded when the manifest in the book folder says
it was made from the same audio, tags and settings.
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
from typing import Any

from .analyze import analyze
from .assemble import PEAK_DBFS, AudioSource, assemble_chapter
from .cast import Casting, cast_voices
from .cover import book_cover
from .engine import get_engine
from .errors import AudiobookError, Cancelled, CastError, ExportError, StructureError
from .export import (
    AAC_CEILING_DBFS,
    FORMATS,
    QUALITIES,
    ChapterTask,
    M4bWriter,
    TrackTags,
    book_filename,
    book_folder,
    chapter_filename,
    decoded_peak_dbfs,
    export_chapter,
    safe_name,
    write_file,
    write_playlist,
)
from .helpers import start_helpers
from .lexicon import story_lexicon
from .model import Script, Segment
from .progress import EtaClock, Progress, ProgressCallback
from .sidecar import load_sidecar, save_sidecar
from .speech import spoken_text
from .subtitles import NARRATOR, Cue, chapter_cues, format_vtt, speaker_label
from .synth import (
    AudioCache,
    FollowUp,
    SynthContext,
    SynthJob,
    SynthProgress,
    cache_max_bytes,
    default_cache_dir,
    job_keys,
    synthesize,
)
from .voices import discover_voices

log = logging.getLogger(__name__)
MANIFEST = ".audiobook-render.json"
# Part of every file's fingerprint: bump when assembly or encoding changes what a file
# sounds like (levels, pauses, limiter), so a re-run re-makes files made the old way.
OUTPUT_VERSION = "3"
CHARS_PER_SECOND = 14.0  # about how fast the voices read: a chapter's length from its text


@dataclass
class RenderOptions:
    out_dir: Path = Path("output")
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    cache_dir: Path | None = None
    engine: str = "piper"
    read_front_matter: bool = False
    bitrate: str | None = None  # overrides the quality preset's bitrate
    voice_dirs: Sequence[Path] = ()
    chapters: set[int] | None = None  # only these chapter indexes (the TUI renders one)
    save_sidecar: bool = True
    quality: str = "standard"  # a key of export.QUALITIES: "standard" | "high"
    format: str = "mp3"  # "mp3" (a file per chapter) | "m4b" (one file per book)
    cover: Path | None = None  # an image to use instead of the book's own/generated cover
    series: str | None = None  # override what the story says
    series_part: str | None = None
    # Audio cache cap in MB (0: none); None: $AUDIOBOOK_CACHE_MAX_MB, else the default.
    cache_max_mb: float | None = None
    scheduler: str | None = None  # issue 9: a Dask scheduler (cluster.py); None: local pool


@dataclass
class BookResult:
    source: Path
    folder: Path
    files: list[Path]
    chapters: int
    audio_seconds: float
    reused: int = 0  # chapter files already complete from an earlier run
    subtitles: list[Path] = field(default_factory=list)  # the .vtt beside each file
    cover: Path | None = None


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
    lexicon = story_lexicon(script.source)  # built-in < user < the story's sidecar
    for i, seg in enumerate(script.segments):
        if seg.kind == "skip":
            continue
        text = spoken_text(seg, lexicon)
        if text:
            jobs[i] = SynthJob(text=text, voice=casting.voice_for(seg))
    return jobs


def _fingerprint(keys: Sequence[str], tags: TrackTags, settings: Sequence[str]) -> str:
    fields = dict(vars(tags))
    cover = fields.pop("cover", None)
    fields["cover"] = hashlib.sha256(cover).hexdigest() if cover else None
    h = hashlib.sha256()
    payload = [list(keys), list(settings), OUTPUT_VERSION, fields]
    h.update(json.dumps(payload, sort_keys=True, default=str).encode())
    return h.hexdigest()[:32]


def _read_manifest(folder: Path) -> dict[str, str]:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_manifest(folder: Path, manifest: dict[str, str]) -> None:
    # Atomic, an ExportError on a full disk, and no .part left by Ctrl-C.
    write_file(folder / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))


def _reusable(dest: Path, manifest: dict[str, str], fp: str) -> float | None:
    """Seconds of audio of a finished file made from the same inputs, else None."""
    entry = manifest.get(dest.name, "")
    if not (entry.startswith(fp + ":") and dest.exists() and dest.with_suffix(".vtt").exists()):
        return None
    try:
        return float(entry.split(":", 1)[1])
    except ValueError:
        return None


def reader_text(script: Script, jobs: dict[int, SynthJob]) -> str:
    """reader.txt: the narrator's voice on the first line (Audiobookshelf reads only that
    line, as the narrator), then who speaks with which voice, in order of appearance."""
    voices: dict[str, str] = {}
    for i in sorted(jobs):
        voices.setdefault(speaker_label(script.segments[i]), jobs[i].voice.name)
    narrator = voices.get(NARRATOR) or next(iter(voices.values()), "")
    lines = [narrator, "", "Voices:"]
    lines += [f"{who}: {voice}" for who, voice in voices.items()]
    return "\n".join(lines) + "\n"


def _side_files(folder: Path, script: Script, jobs: dict[int, SynthJob], cover: bytes) -> Path:
    """cover.jpg, desc.txt (the summary) and reader.txt (the voices); returns the cover."""
    write_file(folder / "cover.jpg", cover)
    description = (script.meta.description or "").strip()
    if description:
        write_file(folder / "desc.txt", description + "\n")
    write_file(folder / "reader.txt", reader_text(script, jobs))
    return folder / "cover.jpg"


def _remove_stale(folder: Path, manifest: dict[str, str], keep: set[str]) -> None:
    """Files an earlier render made that this one did not (renamed chapters, the other
    format): a library would list them as extra tracks. Only files in our manifest."""
    for name in sorted(set(manifest) - keep):
        for path in (folder / name, (folder / name).with_suffix(".vtt")):
            try:
                path.unlink(missing_ok=True)
            except OSError as e:
                log.warning("cannot remove old file %s: %s", path, e)
        del manifest[name]


def render_story(
    path: Path,
    options: RenderOptions,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    script: Script | None = None,
) -> tuple[BookResult, int, int]:
    """Render one story; returns the result, its lines, and how many of them needed no
    synthesis (cached, or in a chapter file already made from the same audio)."""
    path = Path(path)
    quality = QUALITIES.get(options.quality)
    if quality is None:
        raise ExportError(f"unknown quality '{options.quality}' (known: {', '.join(QUALITIES)})")
    if options.format not in FORMATS:
        raise ExportError(f"unknown format '{options.format}' (known: {', '.join(FORMATS)})")
    emit = progress or (lambda p: None)
    story = path.name
    emit(Progress("analyse", story, 0, 1))
    if options.jobs > 1 and not options.scheduler:
        start_helpers(options.engine)  # the pool's fork server warms up meanwhile
    script = script or analyze(path, read_front_matter=options.read_front_matter)
    sidecar = load_sidecar(path)
    casting = cast_voices(script, discover_voices(options.voice_dirs), sidecar)
    if options.save_sidecar:
        try:
            save_sidecar(sidecar)
        except CastError as e:  # a read-only story folder must not stop the render
            log.warning("%s", e)
    series = options.series or script.meta.series
    series_part = options.series_part or script.meta.series_part
    # Before any synthesis: a bad --cover must fail fast.
    cover = book_cover(script.title, script.meta.author, script.meta.cover, options.cover)

    wanted = options.chapters
    all_jobs = speech_jobs(script, casting)
    if not all_jobs:  # not a silent book: say so (its path is added by render())
        raise StructureError("nothing to read aloud (everything is front matter or markup)")
    jobs = {
        i: j for i, j in all_jobs.items() if wanted is None or script.segments[i].chapter in wanted
    }
    order = sorted(jobs)
    cache = _cache(options)
    keys = job_keys([jobs[i] for i in order], options.engine)
    key_of = dict(zip(order, keys, strict=True))
    clock = EtaClock()
    synthesised = 0

    def on_synth(sp: SynthProgress) -> None:
        nonlocal synthesised
        synthesised = sp.total_jobs - sp.cache_hits
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

    def run_synthesis(
        indexes: Sequence[int],
        followups: Sequence[FollowUp] = (),
        on_followup: Callable[[int, Any], None] | None = None,
    ) -> None:
        synth = synthesize
        if options.scheduler:  # issue 9: a Dask cluster synthesises (audiobook/cluster.py)
            from .cluster import cluster_synthesize

            synth = cluster_synthesize(options.scheduler)
        synth(
            [jobs[i] for i in indexes],
            keys=[key_of[i] for i in indexes],
            engine=options.engine,
            cache=cache,
            workers=max(1, options.jobs),
            on_progress=on_synth,
            cancel=cancel,
            followups=followups,
            on_followup=on_followup,
        )
        if synthesised:
            _prune_cache(cache, options, set(keys))

    folder = book_folder(Path(options.out_dir), script.meta.author, script.title, series)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(f"cannot create output folder ({e.strerror or e})", folder) from e
    cover_path = _side_files(folder, script, all_jobs, cover)
    manifest = _read_manifest(folder)
    rate = quality.sample_rate
    total = len(script.chapters)
    seg_index = {id(s): i for i, s in enumerate(script.segments)}
    titles = _unique_titles([c.title for c in script.chapters], script.title)
    ctx = SynthContext(get_engine(options.engine), cache)

    def source(seg: Segment) -> tuple[str, SynthJob] | None:
        i = seg_index[id(seg)]
        return (key_of[i], jobs[i]) if i in key_of else None

    def audio_for(seg: Segment) -> AudioSource:
        src = source(seg)
        return ctx.audio(*src) if src else None

    def chapter_segments(index: int) -> tuple[list[Segment], list[str]]:
        segs = [s for s in script.segments if s.chapter == index]
        return segs, [key_of[seg_index[id(s)]] for s in segs if seg_index[id(s)] in key_of]

    def tags_for(title: str, track: int, tracks: int) -> TrackTags:
        return TrackTags(
            title=title,
            album=script.title,
            author=script.meta.author,
            track=track,
            total=tracks,
            narrator=casting.narrator.name,
            year=script.meta.year,
            description=script.meta.description,
            series=series,
            series_part=series_part,
            cover=cover,
            cover_mime="image/jpeg",
            # A fanfic's fandom is what a library groups it by.
            genre=script.meta.fandom or "Audiobook",
        )

    # A book file needs every chapter: a partial render (the TUI's one chapter) is
    # always per-chapter MP3.
    if options.format == "m4b" and wanted is None:
        bitrate = options.bitrate or quality.aac_bitrate
        dest = folder / book_filename(script.title)
        all_keys: list[str] = []
        for chapter in script.chapters:
            all_keys += chapter_segments(chapter.index)[1]
        tags = tags_for(script.title, 1, 1)
        fp = _fingerprint(all_keys, tags, ["m4b", bitrate, str(rate), *titles])
        seconds = _reusable(dest, manifest, fp)
        reused = 1 if seconds is not None else 0
        if seconds is None:
            run_synthesis(order)
            ceiling, book_seconds = AAC_CEILING_DBFS, 0.0
            for _attempt in range(2):
                book_seconds = _write_m4b(
                    dest, script, titles, chapter_segments, audio_for, rate, bitrate, tags,
                    emit, story, cancel, ceiling
                )  # fmt: skip
                # Measured on the decoded book; over the promise (rare): once more, with
                # the limiter lower by what the encoder added.
                over = decoded_peak_dbfs(dest) - (PEAK_DBFS - 0.1)
                if over <= 0:
                    break
                log.info("%s: peak %.2f dB over after AAC, re-encoding", dest.name, over)
                ceiling -= over + 0.2
            seconds = book_seconds
            manifest[dest.name] = f"{fp}:{seconds:.3f}"
        _remove_stale(folder, manifest, {dest.name})
        _write_manifest(folder, manifest)
        (folder / f"{safe_name(script.title)}.m3u8").unlink(missing_ok=True)
        emit(Progress("done", story, 1, 1))
        vtt = dest.with_suffix(".vtt")
        result = BookResult(path, folder, [dest], total, seconds, reused, [vtt], cover_path)
        return result, len(order), len(order) - synthesised

    # MP3: a chapter whose file is already made from the same audio is left alone
    # (its lines are not even looked up); every other chapter is encoded by the
    # synthesis pool as soon as its own lines are done, while later chapters are
    # still being synthesised.
    bitrate = options.bitrate or quality.mp3_bitrate
    made: dict[int, tuple[Path, float]] = {}  # chapter position -> file, seconds
    tasks: list[tuple[int, str, ChapterTask]] = []  # position, fingerprint, task
    for n, chapter in enumerate(script.chapters, start=1):
        if wanted is not None and chapter.index not in wanted:
            continue
        segs, ckeys = chapter_segments(chapter.index)
        tags = tags_for(titles[n - 1], n, total)
        dest = folder / chapter_filename(n, total, titles[n - 1])
        fp = _fingerprint(ckeys, tags, ["mp3", bitrate, str(rate)])
        dur = _reusable(dest, manifest, fp)
        if dur is not None:
            made[n] = (dest, dur)
            continue
        task = ChapterTask(dest, chapter, segs, [source(s) for s in segs], rate, bitrate, tags)
        tasks.append((n, fp, task))
    reused = len(made)

    def on_exported(t: int, seconds: float) -> None:
        n, fp, task = tasks[t]
        made[n] = (task.dest, seconds)
        manifest[task.dest.name] = f"{fp}:{seconds:.3f}"
        _write_manifest(folder, manifest)

    if tasks:
        needs = [_job_indexes(task, seg_index) for _, _, task in tasks]
        run_order = sorted({i for chapter_jobs in needs for i in chapter_jobs})
        at = {i: p for p, i in enumerate(run_order)}
        followups = [
            FollowUp(
                tuple(at[i] for i in chapter_jobs),
                export_chapter,
                (task,),
                weight=sum(len(jobs[i].text) for i in chapter_jobs) / CHARS_PER_SECOND,
            )
            for chapter_jobs, (_, _, task) in zip(needs, tasks, strict=True)
        ]
        run_synthesis(run_order, followups, on_exported)
    files: list[Path] = []
    playlist: list[tuple[str, float, str]] = []
    seconds = 0.0
    for n in sorted(made):
        dest, dur = made[n]
        emit(Progress("export", story, n - 1, total, None, titles[n - 1]))
        files.append(dest)
        playlist.append((dest.name, dur, titles[n - 1]))
        seconds += dur
    if wanted is None:
        write_playlist(folder, script.title, playlist)
        _remove_stale(folder, manifest, {f.name for f in files})
        _write_manifest(folder, manifest)
    emit(Progress("done", story, 1, 1))
    vtts = [f.with_suffix(".vtt") for f in files]
    return (
        BookResult(path, folder, files, len(files), seconds, reused, vtts, cover_path),
        len(order),
        len(order) - synthesised,
    )


def _job_indexes(task: ChapterTask, seg_index: dict[int, int]) -> list[int]:
    return [seg_index[id(s)] for s, src in zip(task.segments, task.sources, strict=True) if src]


def _prune_cache(cache: AudioCache, options: RenderOptions, keep: set[str]) -> None:
    """Keep the cache under its cap, least recently used out first; never what this
    book uses."""
    cap = (
        cache_max_bytes()
        if options.cache_max_mb is None
        else (int(options.cache_max_mb * 1024 * 1024) if options.cache_max_mb > 0 else None)
    )
    if cap is None:
        return
    removed, freed = cache.prune(cap, keep)
    if removed:
        log.info("audio cache: %d old entries removed (%.0f MB)", removed, freed / 2**20)


def _write_m4b(
    dest: Path,
    script: Script,
    titles: list[str],
    chapter_segments: Callable[[int], tuple[list[Segment], list[str]]],
    audio_for: Callable[[Segment], AudioSource],
    rate: int,
    bitrate: str,
    tags: TrackTags,
    emit: ProgressCallback,
    story: str,
    cancel: threading.Event | None,
    ceiling_dbfs: float,
) -> float:
    """Assemble every chapter into one M4B (and its .vtt); returns its seconds."""
    clock = EtaClock()
    total = len(script.chapters)
    cues: list[Cue] = []
    with M4bWriter(dest, rate, bitrate) as writer:
        for n, chapter in enumerate(script.chapters, start=1):
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            emit(Progress("export", story, n - 1, total, clock.eta(n - 1, total), titles[n - 1]))
            segs = chapter_segments(chapter.index)[0]
            audio = assemble_chapter(chapter, segs, audio_for, rate, ceiling_dbfs)
            placed = writer.add(titles[n - 1], audio)
            cues += chapter_cues(audio, offset=placed.start / rate)
            del audio
        writer.finish(tags)
        samples = writer.chapters[-1].end if writer.chapters else 0
    write_file(dest.with_suffix(".vtt"), format_vtt(cues))
    return samples / rate


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
