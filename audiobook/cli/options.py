"""Options more than one command takes, each declared once, and what the CLI prints
besides a command's own output (errors that let the run go on, warnings)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from audiobook.errors import AudiobookError, printable

F = TypeVar("F", bound=Callable[..., Any])

ENGINES = ("piper", "tone")  # what ``engine.get_engine`` knows; the CLI lists them once
JOBS_PER_CORE = 4  # more workers than this only add memory and switching, never speed


def say_error(err: AudiobookError) -> None:
    """One line on stderr for an error that stops one input, not the run (the exit
    status is decided when the run ends)."""
    click.echo(f"audiobook: error: {err}", err=True)


def warn(text: str) -> None:
    click.echo(f"audiobook: warning: {printable(text)}", err=True)


class CannotStart(Exception):
    """An error found before any work that makes the whole command pointless (an
    unreachable cluster): the group shows it as one line and exits 2, like a usage
    error, not 1 (some input failed)."""

    def __init__(self, err: AudiobookError) -> None:
        super().__init__(str(err))
        self.err = err


def worker_count(jobs: int | None) -> int:
    """--jobs, or the number of cores; capped at JOBS_PER_CORE x cores with a warning."""
    cores = os.cpu_count() or 1
    if jobs is None:
        return cores
    if jobs > JOBS_PER_CORE * cores:
        warn(
            f"--jobs {jobs} is more than {JOBS_PER_CORE}x the {cores} cores; "
            f"using {JOBS_PER_CORE * cores}"
        )
        return JOBS_PER_CORE * cores
    return jobs


def engine_option(purpose: str, *, envvar: str | None = None) -> Callable[[F], F]:
    """--engine; ``purpose`` says what the fast stand-in is for in this command."""
    return click.option(
        "--engine",
        type=click.Choice(ENGINES),
        envvar=envvar,
        default="piper",
        show_default=True,
        help=f"'tone' is a fast stand-in {purpose}.",
    )


voice_dir_option = click.option(
    "--voice-dir",
    "voice_dirs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Extra folder of Piper voices (.onnx + .onnx.json); repeatable.",
)

jobs_option = click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Synthesis worker processes [default: number of cores].",
)

cache_dir_option = click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Segment audio cache [default: $AUDIOBOOK_CACHE_DIR or the user cache dir].",
)

json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


def out_dir_option(what: str) -> Callable[[F], F]:
    """-o/--out: where renders go (``output/`` beside the user, git-ignored in the repo)."""
    return click.option(
        "-o",
        "--out",
        "out_dir",
        type=click.Path(path_type=Path),
        default=Path("output"),
        show_default=True,
        help=what,
    )


def wav_option(default: str) -> Callable[[F], F]:
    """-o/--out of the commands that speak one line into a WAV."""
    return click.option(
        "-o",
        "--out",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help=f"WAV file to write [default: {default}.wav].",
    )
