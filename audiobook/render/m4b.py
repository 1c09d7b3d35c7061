"""A story as one M4B book (AAC, chapter markers, one .vtt) and its metadata.json."""

from __future__ import annotations

import logging
from pathlib import Path

from audiobook.assemble import PEAK_DBFS, AudioSource, assemble_chapter
from audiobook.engine import get_engine
from audiobook.errors import Cancelled
from audiobook.export import (
    AAC_CEILING_DBFS,
    M4bWriter,
    book_filename,
    decoded_true_peak,
    list_chapters,
    safe_name,
    write_file,
)
from audiobook.fsutil import safe_unlink
from audiobook.model import Segment
from audiobook.progress import EtaClock, Progress
from audiobook.render.events import chapter_made
from audiobook.render.manifest import fingerprint, record, remove_stale, reusable, write_manifest
from audiobook.render.options import BookResult
from audiobook.render.sidefiles import library_file
from audiobook.render.story import StoryRender
from audiobook.subtitles import Cue, chapter_cues, format_vtt
from audiobook.synth import SynthContext

log = logging.getLogger(__name__)


def render_m4b(run: StoryRender) -> BookResult:
    plan = run.plan
    script = plan.script
    bitrate = run.options.bitrate or plan.quality.aac_bitrate
    dest = run.folder / book_filename(script.title)
    keys = [k for chapter in script.chapters for k in plan.chapter_keys(chapter.index)]
    settings = ["m4b", bitrate, str(plan.quality.sample_rate), *plan.titles]
    fp = fingerprint(keys, plan.book_tags(), settings)
    seconds = reusable(dest, run.manifest, fp)
    reused = 1 if seconds is not None else 0
    if seconds is None:
        run.synthesise(plan.order)
        seconds = _write_levelled(run, dest, bitrate)
        record(run.manifest, dest, fp, seconds)
    remove_stale(run.folder, run.manifest, {dest.name})
    write_manifest(run.folder, run.manifest)
    chapters = [(title, start, end) for start, end, title in list_chapters(dest)]
    library_file(run.folder, plan.book_tags(), chapters, script, plan.all_jobs)
    safe_unlink(run.folder, run.folder / f"{safe_name(script.title)}.m3u8")
    return run.result([dest], len(script.chapters), seconds, reused)


def _write_levelled(run: StoryRender, dest: Path, bitrate: str) -> float:
    """Write the book; its true peak is measured on the decoded book, and if it is over
    the promise (rare) it is written once more, the limiter lower by what the encoder
    added. Returns its seconds."""
    ceiling, seconds = AAC_CEILING_DBFS, 0.0
    for _attempt in range(2):
        seconds = _write_m4b(run, dest, bitrate, ceiling)
        over = decoded_true_peak(dest) - (PEAK_DBFS - 0.1)
        if over <= 0:
            break
        log.info("%s: peak %.2f dB over after AAC, re-encoding", dest.name, over)
        ceiling -= over + 0.2
    return seconds


def _write_m4b(run: StoryRender, dest: Path, bitrate: str, ceiling_dbfs: float) -> float:
    """Assemble every chapter into one M4B (and its .vtt); returns its seconds."""
    plan = run.plan
    ctx = SynthContext(get_engine(run.options.engine), run.cache())

    def audio_for(seg: Segment) -> AudioSource:
        src = plan.source(seg)
        return ctx.audio(*src) if src else None

    rate = plan.quality.sample_rate
    clock = EtaClock()
    total = len(plan.script.chapters)
    cues: list[Cue] = []
    with M4bWriter(dest, rate, bitrate) as writer:
        for n, chapter in enumerate(plan.script.chapters, start=1):
            if run.cancel is not None and run.cancel.is_set():
                raise Cancelled()
            title = plan.titles[n - 1]
            run.emit(Progress("export", run.story, n - 1, total, clock.eta(n - 1, total), title))
            segs = plan.chapter_segments(chapter.index)
            audio = assemble_chapter(chapter, segs, audio_for, rate, ceiling_dbfs)
            placed = writer.add(title, audio)
            cues += chapter_cues(audio, offset=placed.start / rate)
            del audio
            chapter_made(run.emit, run.story, chapter.index, title)
        writer.finish(plan.book_tags())
        samples = writer.chapters[-1].end if writer.chapters else 0
    write_file(dest.with_suffix(".vtt"), format_vtt(cues))
    return samples / rate
