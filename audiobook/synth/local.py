"""Synthesis in a local process pool, built for throughput on few cores.

One single-threaded engine per worker (two single-threaded Piper processes beat one
two-threaded one by ~40%), workers forked from a server that imported the heavy modules
once, short lines batched into one task, and work that needs some lines' audio (a
chapter's encoding: ``FollowUp``) run in the pool as soon as those lines are cached,
ahead of the rest, so encoding overlaps synthesis instead of following it.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from audiobook.engine import Engine, get_engine
from audiobook.errors import AudiobookError, SynthError
from audiobook.helpers import context, real_stderr, start_helpers, stderr_fd
from audiobook.synth.cache import AudioCache
from audiobook.synth.jobs import Outcome, SynthContext, outcome, raise_outcome, run_one
from audiobook.synth.plan import Plan, Task, cut

# Seconds of audio that follow-ups running at once may hold between them: a chapter
# being levelled and encoded needs ~8 bytes a sample (~0.7 GB an hour at 22 kHz), on
# top of its worker's ~0.4 GB of Piper. Two short chapters go side by side; two of a
# novel's 20-minute ones one after the other (the other worker keeps synthesising),
# which keeps a render's peak under 1.5 GB. One always runs.
FOLLOWUP_BUDGET = 25 * 60.0

# A task of short lines, up to about this much speech (~240 characters): per-task
# overhead is a few ms, but cancelling waits for running tasks, so tasks stay short
# (~1 s of work).
BATCH_COST = 16.0
BATCH_JOBS = 12


def batches(queue: Task, limit: float, workers: int = 1) -> list[Task]:
    """Consecutive jobs grouped into tasks of up to ``limit`` seconds of speech.
    Towards the end tasks shrink (to a share of the work left per worker), so the
    workers run out of work together instead of one finishing a big last task alone."""
    return cut(queue, lambda left: min(limit, left / (2 * max(1, workers))), BATCH_JOBS)


# --- worker side ----------------------------------------------------------------

_WORKER: SynthContext | None = None


def _init_worker(
    engine_name: str, cache_root: str, env: dict[str, str], cwd: str, quiet: bool
) -> None:
    global _WORKER
    # Ctrl-C is the parent's to handle: it cancels, and running lines finish and
    # are cached instead of dying half-written.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A forked worker has the fork server's environment and folder, which may be
    # older than the parent's: take the parent's (cache and voice folders depend on them).
    os.environ.clear()
    os.environ.update(env)
    with contextlib.suppress(OSError):
        os.chdir(cwd)
    if quiet:  # the parent writes its messages elsewhere (a UI owns the terminal)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.close(null)
    _WORKER = SynthContext(
        get_engine(engine_name, threads=1), AudioCache(Path(cache_root)), pooled=True
    )
    threading.Thread(target=_exit_with_parent, daemon=True).start()


def _exit_with_parent() -> None:
    """A pool worker waits for work forever, even when its parent was killed (kill -9,
    an out-of-memory kill): leave then, and take the fork server with us. Whatever was
    being written is a ``.part`` file, never a file under its final name."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    from multiprocessing.connection import wait as wait_for

    wait_for([parent.sentinel])
    os._exit(1)


def _work(batch: Task) -> tuple[list[str], Outcome | None]:
    """Runs in a worker; returns the keys done and the first error as plain strings,
    never audio and never an exception object (ours do not all survive pickling)."""
    assert _WORKER is not None, "worker not initialised"
    done: list[str] = []
    for key, job in batch:
        try:
            run_one(_WORKER.engine, _WORKER.cache, job, key)
        except AudiobookError as err:
            return done, outcome(err)
        done.append(key)
    if _WORKER.pooled and _resident_mb() > RELOAD_ABOVE_MB:
        _release_memory(_WORKER.engine)
    return done, None


# A pool worker whose resident memory passes this between tasks drops its models and
# loads them afresh. A worker levels off at ~0.57 GB within ~40 lines, then creeps on
# over a long chapter (0.74 GB seen); a reload (~0.4 s) starts it again from ~0.2 GB.
RELOAD_ABOVE_MB = 600


def _resident_mb() -> float:
    """This process's resident memory (0 where /proc is missing: never reload)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def _follow(fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, Outcome | None]:
    assert _WORKER is not None, "worker not initialised"
    if _WORKER.pooled:
        # A chapter export needs no model (its lines are cached): it runs without the
        # synthesis working memory, which would otherwise sit under the chapter's.
        _release_memory(_WORKER.engine)
    try:
        return fn(_WORKER, *args), None
    except AudiobookError as err:
        return None, outcome(err)
    finally:
        if _WORKER.pooled:
            _release_memory(_WORKER.engine)


def _release_memory(engine: Engine) -> None:
    """Around a follow-up (a chapter), in a pool worker: drop the engine's loaded models
    and give freed memory back to the system. onnxruntime's arena only grows, by
    fragmentation as much as by need: a worker drifted from ~0.4 to ~0.75 GB over a
    14-hour book; a reload (~0.4 s, at most once a chapter) starts it afresh. glibc
    likewise kept ~100-250 MB of a levelled chapter's freed heap (no-op without glibc)."""
    release = getattr(engine, "release", None)
    if callable(release):
        release()
    global _LIBC
    if _LIBC is None:
        try:
            _LIBC = ctypes.CDLL("libc.so.6")
            _LIBC.malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):
            _LIBC = False
    if _LIBC:
        _LIBC.malloc_trim(0)


_LIBC: Any = None  # glibc, loaded on first use (False: not available)


# --- pools ----------------------------------------------------------------------


class _Inline:
    """The pool interface, run in this process as each task is submitted."""

    def __init__(self, ctx: SynthContext) -> None:
        self.ctx = ctx

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        global _WORKER
        fut: Future[Any] = Future()
        saved, _WORKER = _WORKER, self.ctx
        try:
            fut.set_result(fn(*args))
        except BaseException as exc:  # handed to the caller through the future
            fut.set_exception(exc)
        finally:
            _WORKER = saved
        return fut

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        pass


def _start_pool(engine: str, cache: AudioCache, workers: int) -> ProcessPoolExecutor:
    ctx = context(engine)
    # Workers write to the process's fd 2. When sys.stderr is something else (a UI
    # lent it /dev/null, or captures it), fd 2 is likely the UI's terminal: keep off it.
    quiet = stderr_fd() != 2
    with real_stderr():
        if ctx.get_start_method() == "forkserver":
            from multiprocessing import forkserver

            forkserver.ensure_running()
        else:
            from multiprocessing import resource_tracker

            resource_tracker.ensure_running()
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(engine, str(cache.root), dict(os.environ), os.getcwd(), quiet),
    )


class _Pool(Protocol):
    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]: ...


@dataclass
class LocalPool:
    """Synthesis backend: ``workers`` processes on this machine (in-process for one)."""

    workers: int = 1

    def prepare(self, engine: str) -> None:
        if self.workers > 1:
            start_helpers(engine)  # the pool's fork server warms up meanwhile

    def stories_at_once(self) -> int:
        return 1  # one story keeps the pool busy: its chapters overlap each other

    def run(self, plan: Plan) -> None:
        # Nothing (or one line) to synthesize: the pool's start-up would cost more than
        # it saves, and follow-ups run one at a time anyway.
        if self.workers <= 1 or len(plan.pending) <= 1:
            ctx = SynthContext(get_engine(plan.engine), plan.cache)
            _PoolRun(plan).go(_Inline(ctx), window=1, batch_cost=0.0)
            return
        pool = _start_pool(plan.engine, plan.cache, self.workers)
        try:
            # A small window, not everything at once: a follow-up that becomes ready
            # starts after at most one more batch, and cancelling drops the rest.
            _PoolRun(plan).go(pool, window=self.workers + 1, batch_cost=BATCH_COST)
        except BrokenProcessPool as exc:
            raise SynthError(f"a synthesis worker process died ({exc})") from None
        finally:
            # Running tasks finish (their audio is cached, so a re-run resumes there).
            pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class _PoolRun:
    """One plan's tasks in flight: at most ``window`` at once, follow-ups first."""

    plan: Plan
    synth: set[Future[Any]] = field(default_factory=set)
    follow: dict[Future[Any], int] = field(default_factory=dict)  # -> follow-up
    ready: list[int] = field(default_factory=list)  # follow-ups to start

    def go(self, pool: _Pool, *, window: int, batch_cost: float) -> None:
        workers = max(1, window - 1)
        tasks = batches(self.plan.queue(together=workers, longest_first=True), batch_cost, workers)
        self.ready = self.plan.ready()
        nxt = 0
        while nxt < len(tasks) or self.synth or self.follow or self.ready:
            if self.plan.cancel is not None and self.plan.cancel.is_set():
                for fut in (*self.synth, *self.follow):
                    fut.cancel()
                self.plan.check_cancel()
            self._start_followups(pool, workers)
            while nxt < len(tasks) and len(self.synth) + len(self.follow) < window:
                self.synth.add(pool.submit(_work, tasks[nxt]))
                nxt += 1
            if self.synth or self.follow:
                done, _ = wait({*self.synth, *self.follow}, 0.2, FIRST_COMPLETED)
                for fut in done:
                    self._finished(fut)
                self.ready.sort()

    def _start_followups(self, pool: _Pool, slots: int) -> None:
        """Each follow-up holds a whole chapter in memory: side by side only while
        they fit the budget (and leave room in the window: synthesis needs workers)."""
        followups = self.plan.followups
        while self.ready and len(self.follow) < slots:
            fu = followups[self.ready[0]]
            held = sum(followups[n].weight for n in self.follow.values())
            if self.follow and held + fu.weight > FOLLOWUP_BUDGET:
                break
            self.follow[pool.submit(_follow, fu.fn, fu.args)] = self.ready.pop(0)

    def _finished(self, fut: Future[Any]) -> None:
        if fut in self.follow:
            n = self.follow.pop(fut)
            result, err = fut.result()
            if err is not None:
                raise_outcome(*err)
            self.plan.followed(n, result)
            return
        self.synth.discard(fut)
        keys, err = fut.result()
        self.ready += self.plan.cached(keys)
        if err is not None:
            raise_outcome(*err)
