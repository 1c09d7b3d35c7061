"""The one render entry point both front ends call: stories in, a book folder out that
an audiobook library reads as it is:

    OUT/Author/[Series/]Title/
        01 - Chapter.mp3  01 - Chapter.vtt  ...   (or Title.m4b + Title.vtt)
        cover.jpg  desc.txt  reader.txt  Title.m3u8

A render is resumable at two levels: segment audio lives in the content-addressed cache,
and a finished chapter file is not re-encoded when the manifest in the book folder says
it was made from the same audio, tags and settings.

``render`` picks the synthesis backend (the local pool, or the Dask cluster named by
``options.scheduler``) and renders as many stories at once as keep it busy.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

from audiobook.errors import AudiobookError, Cancelled, story_failure
from audiobook.export import book_folder
from audiobook.model import Script
from audiobook.progress import Progress, ProgressCallback
from audiobook.render.m4b import render_m4b
from audiobook.render.manifest import LOCK_FILE, MANIFEST, claim_folder
from audiobook.render.mp3 import render_mp3
from audiobook.render.options import BookResult, RenderOptions, RenderReport
from audiobook.render.plan import check_options, plan_story, speech_jobs, unique_titles
from audiobook.render.sidefiles import side_files
from audiobook.render.story import StoryRender, backend_for
from audiobook.synth.backend import Backend

__all__ = [
    "LOCK_FILE",
    "MANIFEST",
    "BookResult",
    "RenderOptions",
    "RenderReport",
    "render",
    "render_story",
    "speech_jobs",
    "unique_titles",
]


def render_story(
    path: Path,
    options: RenderOptions,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    script: Script | None = None,
    backend: Backend | None = None,
) -> BookResult:
    """Render one story (``script``: already analysed) on ``backend`` (default: the
    one ``options`` name). The book folder stays locked until it returns: two runs
    never write one book."""
    path = Path(path)
    quality = check_options(options)
    emit = progress or (lambda p: None)
    emit(Progress("analyse", path.name, 0, 1))
    backend = backend or backend_for(options)
    backend.prepare(options.engine)
    plan = plan_story(path, options, quality, script)
    out = Path(options.out_dir)
    base = book_folder(out, plan.script.meta.author, plan.script.title, plan.series)
    with contextlib.ExitStack() as locks:
        folder, manifest = claim_folder(out, base, str(path.resolve()), locks)
        cover = side_files(folder, plan.script, plan.all_jobs, plan.cover)
        run = StoryRender(plan, options, backend, emit, cancel, folder, manifest, cover)
        # A book file needs every chapter: a partial render (the TUI's one chapter) is
        # always per-chapter MP3.
        if options.format == "m4b" and options.chapters is None:
            return render_m4b(run)
        return render_mp3(run)


def render(
    paths: Sequence[Path],
    options: RenderOptions,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    on_error: Callable[[Path, AudiobookError], None] | None = None,
) -> RenderReport:
    """Render every story; a story that fails is reported (``on_error``) and the rest
    go on. Books are reported in the order given. ``Cancelled`` (or Ctrl-C) is not a
    story failure: it stops the batch, and finished work is kept."""
    backend = backend_for(options)
    width = backend.stories_at_once()
    report = RenderReport()
    t0 = time.monotonic()
    outcomes = (
        _one_by_one(paths, options, backend, progress, cancel)
        if width <= 1
        else _side_by_side(paths, options, backend, width, progress, cancel)
    )
    books: dict[int, BookResult] = {}
    for i, outcome in outcomes:
        if isinstance(outcome, BookResult):
            books[i] = outcome
            continue
        report.failures.append(outcome)
        if on_error is not None:
            on_error(paths[i], outcome)
    for i in sorted(books):
        report.books.append(books[i])
        report.segments += books[i].lines
        report.cache_hits += books[i].cached
    report.seconds = time.monotonic() - t0
    return report


_Outcome = tuple[int, BookResult | AudiobookError]  # story's position, its book or error


def _attempt(
    path: Path,
    options: RenderOptions,
    backend: Backend,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
) -> BookResult | AudiobookError:
    try:
        return render_story(Path(path), options, progress, cancel, backend=backend)
    except Cancelled:
        raise
    except Exception as exc:  # a bug in one story must not cost the rest of the batch
        return story_failure(path, exc)


def _one_by_one(
    paths: Sequence[Path],
    options: RenderOptions,
    backend: Backend,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
) -> Iterator[_Outcome]:
    for i, path in enumerate(paths):
        yield i, _attempt(path, options, backend, progress, cancel)


def _side_by_side(
    paths: Sequence[Path],
    options: RenderOptions,
    backend: Backend,
    width: int,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
) -> Iterator[_Outcome]:
    """``width`` stories at once, in threads; their progress is passed on one event at
    a time, and each outcome is yielded to this thread as its story ends (with the
    progress lock held until the caller asks for the next)."""
    stop = threading.Event()  # every story's cancel: the caller's, or ours on an error
    lock = threading.Lock()

    def emit(p: Progress) -> None:
        if progress is not None:
            with lock:
                progress(p)

    with ThreadPoolExecutor(width, thread_name_prefix="audiobook-story") as pool:
        index = {
            pool.submit(_attempt, p, options, backend, emit, stop): i for i, p in enumerate(paths)
        }
        left = set(index)
        try:
            while left:
                done, left = wait(left, timeout=0.2, return_when=FIRST_COMPLETED)
                if cancel is not None and cancel.is_set():
                    raise Cancelled()
                for fut in done:
                    with lock:  # the caller's on_error never runs amid a progress line
                        yield index[fut], fut.result()
        except BaseException:
            stop.set()  # the running stories stop at their next check; queued never start
            for fut in left:
                fut.cancel()
            raise
