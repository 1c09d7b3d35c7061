"""A story made ready to render, before any audio: the script, who speaks in which
voice, the cache key of every line, chapter titles and tags."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from audiobook.analyze import analyze
from audiobook.cast import Casting, cast_voices
from audiobook.cover import book_cover
from audiobook.errors import CastError, ExportError, StructureError
from audiobook.export import FORMATS, QUALITIES, Quality, TrackTags
from audiobook.model import Script, Segment
from audiobook.render.options import RenderOptions
from audiobook.sidecar import load_sidecar, save_sidecar, sidecar_lock
from audiobook.speech import spoken_text
from audiobook.synth import SynthJob, job_keys
from audiobook.text.lexicon import story_lexicon
from audiobook.voices import discover_voices

log = logging.getLogger(__name__)


def check_options(options: RenderOptions) -> Quality:
    """The quality preset, once the options are known to make sense together."""
    quality = QUALITIES.get(options.quality)
    if quality is None:
        raise ExportError(f"unknown quality '{options.quality}' (known: {', '.join(QUALITIES)})")
    if options.format == "m4b" and options.readalong:
        raise ExportError("a read-along EPUB is made of chapter files: use --format mp3 or epub")
    if options.format not in FORMATS:
        raise ExportError(f"unknown format '{options.format}' (known: {', '.join(FORMATS)})")
    return quality


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


def unique_titles(titles: list[str], book: str) -> list[str]:
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


@dataclass
class StoryPlan:
    """Everything the audio is made from, worked out once for both formats."""

    path: Path
    script: Script
    casting: Casting
    quality: Quality
    cover: bytes
    series: str | None
    series_part: str | None
    titles: list[str]  # unique, in chapter order
    all_jobs: dict[int, SynthJob]  # every spoken segment (the side files name every voice)
    jobs: dict[int, SynthJob]  # the spoken segments of the chapters rendered
    keys: dict[int, str]  # segment index -> its job's key, for ``jobs``
    seg_index: dict[int, int]  # id(segment) -> its index

    @property
    def order(self) -> list[int]:
        """The rendered lines' segment indexes, in reading order."""
        return sorted(self.jobs)

    def index(self, seg: Segment) -> int:
        return self.seg_index[id(seg)]

    def source(self, seg: Segment) -> tuple[str, SynthJob] | None:
        """Where a segment's audio comes from: (key, job), or None when it is silent."""
        i = self.index(seg)
        return (self.keys[i], self.jobs[i]) if i in self.keys else None

    def chapter_segments(self, index: int) -> list[Segment]:
        return [s for s in self.script.segments if s.chapter == index]

    def chapter_keys(self, index: int) -> list[str]:
        indexes = map(self.index, self.chapter_segments(index))
        return [self.keys[i] for i in indexes if i in self.keys]

    def tags(self, title: str, track: int, tracks: int) -> TrackTags:
        meta = self.script.meta
        return TrackTags(
            title=title,
            album=self.script.title,
            author=meta.author,
            track=track,
            total=tracks,
            narrator=self.casting.narrator.name,
            year=meta.year,
            description=meta.description,
            series=self.series,
            series_part=self.series_part,
            cover=self.cover,
            cover_mime="image/jpeg",
            genre=meta.genre or "Audiobook",
            # unsaid by the source: the book is in the language it is read in
            language=meta.language or self.casting.narrator.language,
        )

    def book_tags(self) -> TrackTags:
        return self.tags(self.script.title, 1, 1)


def plan_story(
    path: Path, options: RenderOptions, quality: Quality, script: Script | None = None
) -> StoryPlan:
    """Analyse (unless ``script`` is given), cast (saving the sidecar when asked) and
    key every line. A bad ``--cover`` fails here, before any synthesis."""
    script = script or analyze(path, read_front_matter=options.read_front_matter)
    with sidecar_lock(path):  # another run's save must not be lost between load and save
        sidecar = load_sidecar(path)
        casting = cast_voices(script, discover_voices(options.voice_dirs), sidecar, options.speed)
        if options.save_sidecar:
            try:
                save_sidecar(sidecar)
            except CastError as e:  # a read-only story folder must not stop the render
                log.warning("%s", e)
    cover = book_cover(script.title, script.meta.author, script.meta.cover, options.cover)
    all_jobs = speech_jobs(script, casting)
    if not all_jobs:  # not a silent book: say so (its path is added by render())
        raise StructureError("nothing to read aloud (everything is front matter or markup)")
    wanted = options.chapters
    jobs = {
        i: j for i, j in all_jobs.items() if wanted is None or script.segments[i].chapter in wanted
    }
    order = sorted(jobs)
    keys = job_keys([jobs[i] for i in order], options.engine)
    return StoryPlan(
        path=path,
        script=script,
        casting=casting,
        quality=quality,
        cover=cover,
        series=options.series or script.meta.series,
        series_part=options.series_part or script.meta.series_part,
        titles=unique_titles([c.title for c in script.chapters], script.title),
        all_jobs=all_jobs,
        jobs=jobs,
        keys=dict(zip(order, keys, strict=True)),
        seg_index={id(s): i for i, s in enumerate(script.segments)},
    )
