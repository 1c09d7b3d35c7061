"""``audiobook tui STORY`` (or just ``audiobook STORY``): the review UI."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .options import engine_option, jobs_option, out_dir_option, voice_dir_option, worker_count


@click.command()
@click.argument("story", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@out_dir_option("Output folder for renders started from the UI.")
@jobs_option
@voice_dir_option
@engine_option("for trying the UI", envvar="AUDIOBOOK_ENGINE")
def tui(
    story: Path, out_dir: Path, jobs: int | None, voice_dirs: tuple[Path, ...], engine: str
) -> None:
    """Review STORY in a terminal UI: cast, voices, who says each line; then render.

    `audiobook STORY` does the same. Every decision is saved to STORY.audiobook.toml.
    """
    from audiobook.tui.app import run_tui  # Textual is only imported here, never by the core

    jobs = None if jobs is None else worker_count(jobs)
    sys.exit(run_tui(story, engine=engine, out_dir=out_dir, jobs=jobs, voice_dirs=voice_dirs))
