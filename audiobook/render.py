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

import contextlib
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
from .errors import (
    AudiobookError,
    Cancelled,
    CastError,
    ExportError,
    StructureError,
    printable,
    story_failure,
)
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
    decoded_true_peak,
    export_chapter,
    list_chapters,
    safe_name,
    write_file,
    write_playlist,
)
from .fsutil import (
    TEMP_SUFFIX,
    file_digest,
    held_lock,
    is_plain_name,
    lock_note,
    make_dirs,
    read_regular,
    safe_unlink,
)
from .helpers import start_helpers
from .library import LibraryBook, chapter_times, metadata_json
from .model import Script, Segment
from .progress import EtaClock, Progress, ProgressCallback
from .readalong import EpubBook, ReadalongChapter, write_readalong
from .sidecar import load_sidecar, save_sidecar, sidecar_lock
from .speech import spoken_text
from .subtitles import NARRATOR, Cue, chapter_cues, format_vtt, read_vtt, speaker_label
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
from .text.lexicon import story_lexicon
from .voices import discover_voices

log = logging.getLogger(__name__)
MANIFEST = ".audiobook-render.json"
MANIFEST_FORMAT = 2
MANIFEST_MAX_BYTES = 16 * 2**20  # far above any real book's; a planted huge file is ignored
LOCK_FILE = ".audiobook-render.lock"
AUDIO_SUFFIXES = (".mp3", ".m4b")  # what stale removal may delete (with its .vtt)
MAX_TWINS = 99  # folders "Title", "Title (2)"... for different stories with one title
# Part of every file's fingerprint: bump when assembly or encoding changes what a file
# sounds like (levels, pauses, limiter), so a re-run re-makes files made the old way.
OUTPUT_VERSION = "4"
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
    format: str = "mp3"  # "mp3" (a file per chapter) | "m4b" (one file per book) | "epub"
    # A read-along EPUB of the chapter files too ("epub" is "mp3" with this on).
    readalong: bool = False
    cover: Path | None = None  # an image to use instead of the book's own/generated cover
    series: str | None = None  # override what the story says
    series_part: str | None = None
    # Audio cache cap in MB (0: none); None: $AUDIOBOOK_CACHE_MAX_MB, else the default.
    cache_max_mb: float | None = None
    scheduler: str | None = None  # issue 9: a Dask scheduler (cluster.py); None: local pool
    speed: float = 1.0  # every voice reads this much faster (times the sidecar's own)


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


@dataclass
class Made:
    """A file this render made: what it was made from, how long it is, and the size
    and checksum of it and its subtitles (a truncated or damaged file is made again)."""

    fingerprint: str
    seconds: float
    sums: dict[str, tuple[int, str]] = field(default_factory=dict)  # name -> size, sha256


@dataclass
class Manifest:
    """The book folder's record of what we made in it, and for which story (two
    stories with one title must not take over each other's folder)."""

    source: str | None = None
    files: dict[str, Made] = field(default_factory=dict)


def _made(value: object) -> Made | None:
    if not isinstance(value, dict):
        return None
    fp, seconds, sums = value.get("fingerprint"), value.get("seconds"), value.get("sums")
    if not isinstance(fp, str) or not isinstance(seconds, int | float) or not seconds >= 0:
        return None
    checked: dict[str, tuple[int, str]] = {}
    for name, pair in (sums or {}).items() if isinstance(sums, dict) else ():
        if (
            is_plain_name(name)
            and isinstance(pair, list)
            and len(pair) == 2
            and isinstance(pair[0], int)
            and isinstance(pair[1], str)
        ):
            checked[name] = (pair[0], pair[1])
    return Made(fp, float(seconds), checked)


def _read_manifest(folder: Path) -> Manifest:
    """What an earlier render recorded; entries that are not plain file names of this
    folder are dropped (a planted manifest must not name files elsewhere)."""
    raw = read_regular(folder / MANIFEST, limit=MANIFEST_MAX_BYTES)
    try:
        data = json.loads(raw) if raw is not None else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return Manifest()
    if data.get("format") != MANIFEST_FORMAT:  # an older render's {name: "fp:seconds"}
        # Nothing in it is verified: its files are made again, and removed if stale.
        return Manifest(None, {n: Made("", 0.0) for n in data if is_plain_name(n)})
    source = data.get("source")
    files = data.get("files")
    manifest = Manifest(source if isinstance(source, str) else None)
    for name, value in files.items() if isinstance(files, dict) else ():
        made = _made(value)
        if is_plain_name(name) and made is not None:
            manifest.files[name] = made
    return manifest


def _write_manifest(folder: Path, manifest: Manifest) -> None:
    # Atomic, an ExportError on a full disk, and no .part left by Ctrl-C.
    data = {
        "format": MANIFEST_FORMAT,
        "source": manifest.source,
        "files": {
            name: {"fingerprint": m.fingerprint, "seconds": round(m.seconds, 3), "sums": m.sums}
            for name, m in manifest.files.items()
        },
    }
    write_file(folder / MANIFEST, json.dumps(data, indent=1, sort_keys=True))


def _record(manifest: Manifest, dest: Path, fp: str, seconds: float) -> None:
    """Note a file just made, with the checksums that let a later run trust it."""
    sums: dict[str, tuple[int, str]] = {}
    for path in (dest, dest.with_suffix(".vtt")):
        digest = file_digest(path)
        if digest is None:  # vanished already: nothing to trust next time
            manifest.files.pop(dest.name, None)
            return
        sums[path.name] = digest
    manifest.files[dest.name] = Made(fp, seconds, sums)


def _reusable(dest: Path, manifest: Manifest, fp: str) -> float | None:
    """Seconds of audio of a finished file made from the same inputs and still as it
    was written (size and checksum of it and its subtitles), else None."""
    made = manifest.files.get(dest.name)
    if made is None or made.fingerprint != fp:
        return None
    names = (dest.name, dest.with_suffix(".vtt").name)
    if any(n not in made.sums for n in names):
        return None
    for name in names:
        if file_digest(dest.with_name(name)) != made.sums[name]:
            log.info("%s changed since it was made; making it again", dest.with_name(name))
            return None
    return made.seconds


def _owned_by_another(manifest: Manifest, source: str) -> bool:
    """The folder holds the book of another story that still exists."""
    other = manifest.source
    return other is not None and other != source and Path(other).exists()


def _remove_leftovers(folder: Path) -> None:
    """Temporary files of a run that was killed (kill -9, power cut): with the book's
    lock held no other run is writing here, so every one of them is dead."""
    try:
        names = [e.name for e in os.scandir(folder) if e.is_file(follow_symlinks=False)]
    except OSError:
        return
    for name in names:
        if name.startswith(".") and name.endswith(TEMP_SUFFIX):
            with contextlib.suppress(OSError):
                safe_unlink(folder, folder / name)


def _claim_folder(
    out: Path, base: Path, source: str, locks: contextlib.ExitStack
) -> tuple[Path, Manifest]:
    """The book folder for ``source``, locked for this render: ``base``, or ``base (2)``...
    when another story with the same author and title already has it."""
    for n in range(1, MAX_TWINS + 1):
        folder = base if n == 1 else base.with_name(f"{base.name} ({n})")
        make_dirs(out, folder)
        if lock_note(folder / LOCK_FILE) not in (None, "", source):
            continue  # another story is being written there right now (a parallel batch)
        lock = contextlib.ExitStack()
        lock.enter_context(held_lock(folder / LOCK_FILE, "this book", note=source))
        manifest = _read_manifest(folder)
        if not _owned_by_another(manifest, source):
            locks.enter_context(lock.pop_all())
            if n > 1:
                log.warning(
                    "%s: another story already has %s; this one goes to %s",
                    printable(source), printable(base.name), folder,
                )  # fmt: skip
            manifest.source = source
            _remove_leftovers(folder)
            return folder, manifest
        lock.close()
    raise ExportError(f"{MAX_TWINS} other stories already have this title", base)


def _voices(script: Script, jobs: dict[int, SynthJob]) -> dict[str, str]:
    """Who speaks with which voice, in order of appearance."""
    voices: dict[str, str] = {}
    for i in sorted(jobs):
        voices.setdefault(speaker_label(script.segments[i]), jobs[i].voice.name)
    return voices


def reader_text(script: Script, jobs: dict[int, SynthJob]) -> str:
    """reader.txt: the narrator's voice on the first line (Audiobookshelf reads only that
    line, as the narrator), then who speaks with which voice, in order of appearance."""
    voices = _voices(script, jobs)
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


def _library_file(
    folder: Path,
    tags: TrackTags,
    chapters: list[tuple[str, float, float]],
    script: Script,
    jobs: dict[int, SynthJob],
) -> None:
    """metadata.json, so Audiobookshelf takes the book as we made it."""
    voices = _voices(script, jobs)
    narrators = [tags.narrator or "", *voices.values()]
    book = LibraryBook(
        title=tags.album,
        authors=[tags.author] if tags.author else [],
        narrators=[v for v in dict.fromkeys(narrators) if v],
        chapters=chapters,
        series=tags.series,
        series_part=tags.series_part,
        genre=script.meta.genre,
        year=tags.year,
        description=tags.description,
        language=tags.language,
    )
    write_file(folder / "metadata.json", metadata_json(book))


def _readalong_file(
    folder: Path,
    script: Script,
    titles: list[str],
    made: dict[int, tuple[Path, float]],
    tags: TrackTags,
) -> None:
    """<Title>.epub: the text with the chapter files as its Media Overlays, timed by
    the cues beside each file."""
    chapters = [
        ReadalongChapter(
            script.chapters[n - 1], titles[n - 1], mp3, seconds, read_vtt(mp3.with_suffix(".vtt"))
        )
        for n, (mp3, seconds) in sorted(made.items())
    ]
    book = EpubBook(tags.album, tags.author, tags.language, tags.description, tags.cover)
    write_readalong(folder / book_filename(script.title, "epub"), script, chapters, book)


def _remove_stale(folder: Path, manifest: Manifest, keep: set[str]) -> None:
    """Files an earlier render made that this one did not (renamed chapters, the other
    format): a library would list them as extra tracks. Only audio files named in our
    manifest, and only inside this folder."""
    for name in sorted(set(manifest.files) - keep):
        if Path(name).suffix.lower() in AUDIO_SUFFIXES:
            for path in (folder / name, (folder / name).with_suffix(".vtt")):
                try:
                    safe_unlink(folder, path)
                except (OSError, AudiobookError) as e:
                    log.warning("cannot remove old file %s: %s", path, e)
        del manifest.files[name]


def render_story(
    path: Path,
    options: RenderOptions,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    script: Script | None = None,
) -> tuple[BookResult, int, int]:
    """Render one story; returns the result, its lines, and how many of them needed no
    synthesis (cached, or in a chapter file already made from the same audio).
    The book folder stays locked until it returns: two runs never write one book."""
    with contextlib.ExitStack() as locks:
        return _render_story(Path(path), options, progress, cancel, script, locks)


def _render_story(
    path: Path,
    options: RenderOptions,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
    script: Script | None,
    locks: contextlib.ExitStack,
) -> tuple[BookResult, int, int]:
    quality = QUALITIES.get(options.quality)
    if quality is None:
        raise ExportError(f"unknown quality '{options.quality}' (known: {', '.join(QUALITIES)})")
    if options.format == "m4b" and options.readalong:
        raise ExportError("a read-along EPUB is made of chapter files: use --format mp3 or epub")
    if options.format not in FORMATS:
        raise ExportError(f"unknown format '{options.format}' (known: {', '.join(FORMATS)})")
    emit = progress or (lambda p: None)
    story = path.name
    emit(Progress("analyse", story, 0, 1))
    if options.jobs > 1 and not options.scheduler:
        start_helpers(options.engine)  # the pool's fork server warms up meanwhile
    script = script or analyze(path, read_front_matter=options.read_front_matter)
    with sidecar_lock(path):  # another run's save must not be lost between load and save
        sidecar = load_sidecar(path)
        casting = cast_voices(script, discover_voices(options.voice_dirs), sidecar, options.speed)
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

    out = Path(options.out_dir)
    base = book_folder(out, script.meta.author, script.title, series)
    folder, manifest = _claim_folder(out, base, str(path.resolve()), locks)
    cover_path = _side_files(folder, script, all_jobs, cover)
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
            genre=script.meta.genre or "Audiobook",
            # unsaid by the source: the book is in the language it is read in
            language=script.meta.language or casting.narrator.language,
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
                over = decoded_true_peak(dest) - (PEAK_DBFS - 0.1)
                if over <= 0:
                    break
                log.info("%s: peak %.2f dB over after AAC, re-encoding", dest.name, over)
                ceiling -= over + 0.2
            seconds = book_seconds
            _record(manifest, dest, fp, seconds)
        _remove_stale(folder, manifest, {dest.name})
        _write_manifest(folder, manifest)
        chapters = [(title, start, end) for start, end, title in list_chapters(dest)]
        _library_file(folder, tags, chapters, script, all_jobs)
        safe_unlink(folder, folder / f"{safe_name(script.title)}.m3u8")
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
        _record(manifest, task.dest, fp, seconds)
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
        chapters = chapter_times([t for _, _, t in playlist], [d for _, d, _ in playlist])
        _library_file(folder, tags_for(script.title, 1, 1), chapters, script, all_jobs)
        if options.readalong or options.format == "epub":
            emit(Progress("export", story, total, total, None, "read-along EPUB"))
            _readalong_file(folder, script, titles, made, tags_for(script.title, 1, 1))
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
        except Exception as exc:  # a bug in one story must not cost the rest of the batch
            e = story_failure(p, exc)
            report.failures.append(e)
            if on_error is not None:
                on_error(p, e)
            continue
        report.books.append(book)
        report.segments += n
        report.cache_hits += hits
    report.seconds = time.monotonic() - t0
    return report
