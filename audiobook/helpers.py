"""The synthesis pool's fork server, startable before anything heavy is imported.

Kept to the standard library so ``audiobook make`` can start the server first thing:
it then imports the engine and loads the bundled voice while the command is still
importing and analysing the story, and every pool worker forks from it ready to
speak: start-up is on the critical path of every render."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
from collections.abc import Iterator
from multiprocessing.context import BaseContext

# What the fork server imports once, so each worker starts without importing: the
# engine and the export path. (No scipy: ~1.4 s to import, so assemble does its
# filters in numpy.)
PRELOAD = ["audiobook.synth.local", "audiobook.export", "onnxruntime", "piper.voice", "mutagen.id3"]
# Imported last, for the piper engine only: Praat (~0.4 s to import; the voices made
# from joe move their pitch with it), then the bundled voice's model, which the
# workers then share (copy-on-write) instead of each loading it.
WARM = ["parselmouth", "audiobook.warm"]


def stderr_fd() -> int:
    """The file descriptor behind ``sys.stderr``, or -1."""
    try:
        return sys.stderr.fileno() if sys.stderr is not None else -1
    except (AttributeError, OSError, ValueError):
        return -1


@contextlib.contextmanager
def real_stderr() -> Iterator[bool]:
    """multiprocessing hands ``sys.stderr.fileno()`` to its helper processes; under a
    full-screen UI (Textual) ``sys.stderr`` is a capture whose fileno is -1 and pool
    start-up fails ("bad value(s) in fds_to_keep"). Lend it /dev/null while the
    helpers start. Yields True when it had to."""
    if stderr_fd() >= 0:
        yield False
        return
    saved = sys.stderr
    with open(os.devnull, "w", encoding="utf-8") as null:
        sys.stderr = null
        try:
            yield True
        finally:
            if sys.stderr is null:  # unless someone replaced it since
                sys.stderr = saved


def context(engine: str = "piper") -> BaseContext:
    """forkserver where there is one: a fresh server process (safe to start from a
    thread, and while onnxruntime is loaded here) imports the engine once, and every
    worker forks from it already warm. Elsewhere spawn. ``engine`` decides what the
    server preloads when this call is the one that starts it."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        preload = PRELOAD + (WARM if engine == "piper" else [])
        ctx.set_forkserver_preload(preload)  # no effect once the server runs
        return ctx
    return multiprocessing.get_context("spawn")


def start_helpers(engine: str = "piper") -> None:
    """Start the fork server now (it imports the engine in the background), so a
    pool started later does not wait for it. Safe to call more than once."""
    ctx = context(engine)
    if ctx.get_start_method() != "forkserver":
        return
    from multiprocessing import forkserver

    with real_stderr():
        forkserver.ensure_running()
