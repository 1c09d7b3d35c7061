"""``audiobook make``: stories in, tagged chapter files out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from audiobook.errors import AudiobookError, printable

from .options import (
    CannotStart,
    cache_dir_option,
    engine_option,
    jobs_option,
    out_dir_option,
    say_error,
    voice_dir_option,
    worker_count,
)

if TYPE_CHECKING:
    from audiobook.render import RenderReport


def _check_options(readalong: bool, fmt: str, cover: Path | None) -> None:
    """Usage errors found before any work, so a batch never half-runs on them."""
    from audiobook.cover import read_cover_file

    if readalong and fmt == "m4b":
        raise click.UsageError("--readalong needs the chapter files: use --format mp3 or epub")
    if cover is not None:
        try:
            read_cover_file(cover)  # a bad image is a usage error, found before any work
        except AudiobookError as e:
            raise click.BadParameter(e.message, param_hint="--cover") from None


def _report(report: RenderReport, missing: int) -> int:
    """Where each book went, then (on stderr) what was made, how fast and how much
    failed; returns how many stories failed."""
    from audiobook.progress import fmt_duration

    for book in report.books:
        click.echo(printable(f"{book.source}: {book.chapters} chapters -> {book.folder}"))
    failed = len(report.failures) + missing
    audio = report.audio_seconds
    speed = audio / report.seconds if report.seconds > 0 else 0.0
    files = sum(len(b.files) for b in report.books)
    unchanged = sum(b.reused for b in report.books)
    line = (
        f"done: {len(report.books)} stories, {sum(b.chapters for b in report.books)} chapters, "
        f"{files} files ({unchanged} unchanged), {fmt_duration(audio)} of audio "
        f"({audio / 3600:.2f} h) in {fmt_duration(report.seconds)} wall "
        f"({speed:.1f}x real time), {report.segments} lines, {report.cache_hits} from cache, "
        f"{failed} failed"
    )
    click.echo(line, err=True)
    return failed


@click.command()
# readable=False: an unreadable story is that story's error (exit 1, the rest are
# rendered), not a usage error that stops the whole batch.
@click.argument("stories", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))
@out_dir_option("Output folder (Author/Title/NN - Chapter.mp3 inside).")
@jobs_option
@cache_dir_option
@voice_dir_option
@click.option(
    "--read-front-matter",
    is_flag=True,
    help="Also read summaries, author's notes and disclaimers aloud.",
)
@engine_option("for dry runs and tests")
@click.option(
    "--quality",
    type=click.Choice(["standard", "high"]),
    default="standard",
    show_default=True,
    help="standard: 22.05 kHz 64 kbps (listening); high: 44.1 kHz 192 kbps CBR (store level).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mp3", "m4b", "epub"]),
    default="mp3",
    show_default=True,
    help="mp3: a file per chapter; m4b: one file per book with chapter markers; "
    "epub: the mp3 files and a read-along EPUB of them.",
)
@click.option(
    "--readalong",
    is_flag=True,
    help="Also make a read-along EPUB 3 (text highlighted as the audio reads it).",
)
@click.option(
    "--cover",
    "cover",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="Cover image (JPEG/PNG/...) [default: the story's own, else a generated one].",
)
@click.option("--series", default=None, help="Series name (a Series folder and tag).")
@click.option("--series-part", default=None, help="Number of the book in its series.")
@click.option(
    "--scheduler",
    default=None,
    metavar="tcp://HOST:PORT|local[:N]",
    help="Synthesise on a Dask cluster: its scheduler, or local:N worker processes here.",
)
@click.option("--debug", is_flag=True, help="Show the traceback of an unexpected error.")
@click.option(
    "--speed",
    "reading_speed",
    type=click.FloatRange(0.8, 1.5),
    default=1.0,
    show_default=True,
    help="Reading speed of every voice (1.25: a quarter faster), times the sidecar's own.",
)
def make(
    stories: tuple[Path, ...],
    out_dir: Path,
    jobs: int | None,
    cache_dir: Path | None,
    voice_dirs: tuple[Path, ...],
    read_front_matter: bool,
    engine: str,
    quality: str,
    fmt: str,
    readalong: bool,
    cover: Path | None,
    series: str | None,
    series_part: str | None,
    scheduler: str | None,
    debug: bool,
    reading_speed: float,
) -> None:
    """Render STORIES (files or folders, searched recursively) into tagged chapter MP3s
    (or one M4B per book), with cover, description and synced subtitles."""
    jobs = worker_count(jobs)
    if scheduler is None and jobs > 1:
        from audiobook.helpers import start_helpers

        # First thing: the fork server imports the engine and loads the bundled voice
        # while this process imports the rest and reads the stories.
        start_helpers(engine)
    from audiobook.load import find_stories
    from audiobook.progress import StderrBar
    from audiobook.render import RenderOptions, render

    _check_options(readalong, fmt, cover)
    paths, missing = find_stories(stories, exclude=[out_dir])
    for err in missing:
        say_error(err)
    if not paths and not missing:
        where = ", ".join(printable(s) for s in stories)
        raise click.UsageError(f"no stories found in {where} (.txt, .md, .html, .htm, .epub)")
    if scheduler is not None:  # reach the cluster (or start one) before any work
        from audiobook.synth.scheduler import connect

        try:
            connect(scheduler)
        except AudiobookError as e:
            raise CannotStart(e) from None
    opts = RenderOptions(
        out_dir=out_dir,
        jobs=jobs,
        cache_dir=cache_dir,
        engine=engine,
        read_front_matter=read_front_matter,
        voice_dirs=voice_dirs,
        quality=quality,
        format=fmt,
        readalong=readalong,
        cover=cover,
        series=series,
        series_part=series_part,
        scheduler=scheduler,
        speed=reading_speed,
    )
    bar = StderrBar()

    def on_error(path: Path, err: AudiobookError) -> None:
        bar.finish()
        say_error(err)
        if debug and err.__cause__ is not None:
            import traceback

            click.echo("".join(traceback.format_exception(err.__cause__)), err=True, nl=False)

    report = render(paths, opts, progress=bar, on_error=on_error)
    bar.finish()
    sys.exit(1 if _report(report, len(missing)) else 0)
