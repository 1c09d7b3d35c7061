"""A story as a file per chapter (MP3, with its .vtt), a playlist, metadata.json and,
if asked, a read-along EPUB.

A chapter whose file is already made from the same audio is left alone (its lines are
not even looked up); every other chapter is encoded by the synthesis backend as soon
as its own lines are done, while later chapters are still being synthesised.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from audiobook.export import ChapterTask, chapter_filename, export_chapter, write_playlist
from audiobook.library import chapter_times
from audiobook.progress import Progress
from audiobook.render.events import chapter_made
from audiobook.render.manifest import fingerprint, record, remove_stale, reusable, write_manifest
from audiobook.render.options import BookResult
from audiobook.render.sidefiles import library_file, readalong_file
from audiobook.render.story import StoryRender
from audiobook.synth import FollowUp

CHARS_PER_SECOND = 14.0  # about how fast the voices read: a chapter's length from its text


@dataclass
class _Chapter:
    """A chapter to encode: its position in the book (from 1), fingerprint and task."""

    number: int
    fingerprint: str
    task: ChapterTask


def render_mp3(run: StoryRender) -> BookResult:
    made: dict[int, tuple[Path, float]] = {}  # chapter position -> file, seconds
    todo = _plan_chapters(run, made)
    reused = len(made)
    if todo:
        _encode(run, todo, made)
    return _finish(run, made, reused)


def _plan_chapters(run: StoryRender, made: dict[int, tuple[Path, float]]) -> list[_Chapter]:
    """The chapters to encode; those already made go into ``made``."""
    plan, wanted = run.plan, run.options.chapters
    bitrate = run.options.bitrate or plan.quality.mp3_bitrate
    rate = plan.quality.sample_rate
    total = len(plan.script.chapters)
    todo: list[_Chapter] = []
    for n, chapter in enumerate(plan.script.chapters, start=1):
        if wanted is not None and chapter.index not in wanted:
            continue
        title = plan.titles[n - 1]
        tags = plan.tags(title, n, total)
        dest = run.folder / chapter_filename(n, total, title)
        fp = fingerprint(plan.chapter_keys(chapter.index), tags, ["mp3", bitrate, str(rate)])
        seconds = reusable(dest, run.manifest, fp)
        if seconds is not None:
            made[n] = (dest, seconds)
            chapter_made(run.emit, run.story, chapter.index, title)
            continue
        segs = plan.chapter_segments(chapter.index)
        sources = [plan.source(s) for s in segs]
        todo.append(_Chapter(n, fp, ChapterTask(dest, chapter, segs, sources, rate, bitrate, tags)))
    return todo


def _encode(run: StoryRender, todo: list[_Chapter], made: dict[int, tuple[Path, float]]) -> None:
    """Synthesise the chapters' lines; each chapter is encoded as its lines are done,
    and noted in the manifest at once (a cancelled render keeps it)."""
    plan = run.plan
    needs = [[i for i in map(plan.index, c.task.segments) if i in plan.keys] for c in todo]
    order = sorted({i for chapter_jobs in needs for i in chapter_jobs})
    at = {i: p for p, i in enumerate(order)}
    followups = [
        FollowUp(
            tuple(at[i] for i in chapter_jobs),
            export_chapter,
            (c.task,),
            weight=sum(len(plan.jobs[i].text) for i in chapter_jobs) / CHARS_PER_SECOND,
        )
        for chapter_jobs, c in zip(needs, todo, strict=True)
    ]

    def exported(t: int, seconds: float) -> None:
        c = todo[t]
        made[c.number] = (c.task.dest, seconds)
        record(run.manifest, c.task.dest, c.fingerprint, seconds)
        write_manifest(run.folder, run.manifest)
        chapter_made(run.emit, run.story, c.task.chapter.index, plan.titles[c.number - 1])

    run.synthesise(order, followups, exported)


def _finish(run: StoryRender, made: dict[int, tuple[Path, float]], reused: int) -> BookResult:
    """The playlist and the book's side files (for a whole book), and the result."""
    plan = run.plan
    script, titles, total = plan.script, plan.titles, len(plan.script.chapters)
    files: list[Path] = []
    playlist: list[tuple[str, float, str]] = []
    seconds = 0.0
    for n in sorted(made):
        dest, dur = made[n]
        run.emit(Progress("export", run.story, n - 1, total, None, titles[n - 1]))
        files.append(dest)
        playlist.append((dest.name, dur, titles[n - 1]))
        seconds += dur
    if run.options.chapters is None:
        write_playlist(run.folder, script.title, playlist)
        chapters = chapter_times([t for _, _, t in playlist], [d for _, d, _ in playlist])
        library_file(run.folder, plan.book_tags(), chapters, script, plan.all_jobs)
        if run.options.readalong or run.options.format == "epub":
            run.emit(Progress("export", run.story, total, total, None, "read-along EPUB"))
            readalong_file(run.folder, script, titles, made, plan.book_tags())
        remove_stale(run.folder, run.manifest, {f.name for f in files})
        write_manifest(run.folder, run.manifest)
    return run.result(files, len(files), seconds, reused)
