"""Synthesis on a Dask cluster: the backend that spreads a plan's lines over Dask
workers instead of a local process pool (same cache, same follow-ups).

Why it is shaped this way:

- Tasks are chunks of ~45 s of speech, not lines: a Dask task costs a few ms of
  scheduling and a network round trip, a line only ~0.1-1 s of synthesis.
- Each worker process keeps its engines (and so its loaded voices) for its lifetime.
- Audio lands in the same cache as a local render, so an interrupted cluster run
  resumes anywhere and local and cluster runs reuse each other's work. Workers that
  can see the client's cache folder (a ``LocalCluster``, a shared file system) write
  into it; the others send the samples back and the client stores them.
- Worker loss is Dask's business: the scheduler re-runs a lost worker's tasks
  elsewhere. Errors the user can fix (a bad voice) come back as plain strings and fail
  the story at once; anything else (a disk error on a worker) is retried.
- The client assembles and exports (follow-ups run in client threads), so remote
  workers need no access to the output folder; workers on the client's own machine
  (a LocalCluster) export too, as the local pool's workers do. A render gives the
  cluster several stories at once (``stories_at_once``) so no story's last chunk
  leaves it idle.

``distributed`` is an optional extra: ``scheduler`` imports it only when used.
"""

from __future__ import annotations

import contextlib
import functools
import os
import queue
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future as LocalFuture
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_local
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from audiobook.engine import Engine, get_engine
from audiobook.errors import AudiobookError, SynthError
from audiobook.synth.cache import AudioCache
from audiobook.synth.jobs import (
    Outcome,
    SynthContext,
    SynthJob,
    job_key,
    outcome,
    raise_outcome,
    speak,
    speech_seconds,
)
from audiobook.synth.plan import Plan, Task, cut
from audiobook.synth.scheduler import connect, machine_id
from audiobook.voices import Voice

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

# Speech per task. Piper reads ~15 characters a second; 45 s of speech is 3-10 s of
# work per task, so a few ms of overhead is lost in it, and cancelling still only
# waits for one chunk per worker.
CHUNK_SECONDS = 45.0
# A story of fewer than CHUNKS_PER_WORKER chunks per worker is cut finer, but not below
# MIN_CHUNK_SECONDS (~1 s of work: overhead stays under 1%): in the last round of
# chunks some workers idle, and the finer the chunks the shorter that round.
CHUNKS_PER_WORKER = 4
MIN_CHUNK_SECONDS = 6.0
# Retries of a task whose function raised (e.g. a worker's disk); a worker that dies is
# handled by the scheduler (``distributed.scheduler.allowed-failures``, default 3).
RETRIES = 2
# Stories rendered at once per this many cluster threads: each story waits for its
# slowest chunk and is analysed and exported here, so one story at a time leaves
# workers idle; a few at once keep them fed.
THREADS_PER_STORY = 8
MAX_STORIES_AT_ONCE = 16

Transfer = Literal["auto", "shared", "bytes"]
TRANSFERS: tuple[Transfer, ...] = ("auto", "shared", "bytes")
Exports = Literal["auto", "client", "workers"]


# --- worker side -------------------------------------------------------------------

# One engine per name per worker process, for the life of the worker: loading a voice
# takes seconds, and ``PiperEngine`` keeps loaded models per process.
_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()

# (keys done, [(key, sample rate, int16 little-endian bytes)] when not written, error)
ChunkResult = tuple[list[str], list[tuple[str, int, bytes]], Outcome | None]


def worker_engine(name: str) -> Engine:
    with _ENGINES_LOCK:
        engine = _ENGINES.get(name)
        if engine is None:
            engine = _ENGINES[name] = get_engine(name, threads=1)
        return engine


@functools.lru_cache(maxsize=1)
def _worker_voices() -> tuple[Voice, ...]:
    from audiobook.voices import discover_voices

    try:
        return tuple(discover_voices())
    except AudiobookError:
        return ()


def localise(voice: Voice) -> Voice:
    """The same voice with this machine's file paths: a remote worker may have the
    voices installed elsewhere (another venv, another user). Matched by file names;
    the job key check then proves the files are the same."""
    if voice.model.is_file() and voice.config.is_file():
        return voice
    for v in _worker_voices():
        if v.model.name == voice.model.name and v.config.name == voice.config.name:
            return replace(voice, model=v.model, config=v.config)
    return voice


def _shared_cache(root: str | None, probe: str | None) -> AudioCache | None:
    """The client's cache, if this worker sees the very folder (the probe file the
    client wrote for this run is there); else None: send the audio back."""
    if root is None or probe is None or not (Path(root) / probe).is_file():
        return None
    return AudioCache(Path(root))


def synth_chunk(
    engine_name: str,
    items: Task,
    cache_root: str | None = None,
    probe: str | None = None,
    require_shared: bool = False,
) -> ChunkResult:
    """Runs on a worker: synthesise a chunk of (key, job). Each line is written to the
    shared cache when the worker sees it, else returned as bytes. An error the user
    can cause comes back as strings (our exceptions do not all survive pickling) and
    is not retried; anything else raises, and Dask retries the task."""
    engine = worker_engine(engine_name)
    cache = _shared_cache(cache_root, probe)
    done: list[str] = []
    audio: list[tuple[str, int, bytes]] = []
    if cache is None and require_shared:
        msg = f"worker on {socket.gethostname()} cannot see the cache folder {cache_root}"
        return done, audio, ("SynthError", msg, None)
    for key, job in items:
        local = SynthJob(job.text, localise(job.voice))
        if job_key(local, engine) != key:
            host = socket.gethostname()
            msg = (
                f"worker on {host}: voice '{job.voice.name}' ({job.voice.model.name}) or the "
                f"'{engine_name}' engine differs from the client's; install the same voices "
                "and versions on every worker"
            )
            return done, audio, ("VoiceError", msg, None)
        try:
            pcm, rate = speak(engine, local)
        except AudiobookError as err:  # the engine's own failure on this text: not retried
            return done, audio, outcome(err)
        if cache is not None:
            cache.put(key, pcm, rate)  # an OSError here raises: retried elsewhere
        else:
            audio.append((key, rate, np.ascontiguousarray(pcm, dtype="<i2").tobytes()))
        done.append(key)
    return done, audio, None


def run_followup(
    engine_name: str,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    root: str | None,
    probe: str | None,
    machine: str | None = None,
) -> tuple[bool, Any, Outcome | None]:
    """Runs on a worker: a follow-up (a chapter's export), if this worker is on the
    client's ``machine`` (so it sees the output folder) and sees the client's cache;
    returns (ran, result, error as strings). Not ran: the client runs it itself."""
    cache = _shared_cache(root, probe)
    if cache is None or (machine is not None and machine != machine_id()):
        return False, None, None
    try:
        return True, fn(SynthContext(worker_engine(engine_name), cache), *args), None
    except AudiobookError as err:
        return True, None, outcome(err)


# --- client side -------------------------------------------------------------------


def chunk_jobs(queue_: Task, workers: int, target: float = CHUNK_SECONDS) -> list[Task]:
    """Consecutive runs of jobs of up to ``target`` seconds of speech, finer for a small
    story so each worker gets CHUNKS_PER_WORKER chunks (never below MIN_CHUNK_SECONDS)."""
    total = sum(speech_seconds(j) for _, j in queue_)
    limit = max(MIN_CHUNK_SECONDS, min(target, total / max(1, CHUNKS_PER_WORKER * workers)))
    return cut(queue_, lambda left: limit)


def _task_error(exc: BaseException | None) -> SynthError:
    name = type(exc).__name__
    if name == "KilledWorker":  # Dask's message is a paragraph: its first sentence
        first = str(exc).split(". ")[0].strip()
        return SynthError(f"Dask workers kept dying while running a synthesis task ({first})")
    if isinstance(exc, ModuleNotFoundError):
        return SynthError(f"a Dask worker cannot import a module; install audiobook there ({exc})")
    return SynthError(f"a synthesis task failed on the Dask cluster: {name}: {exc}")


@contextlib.contextmanager
def _probe(cache: AudioCache, transfer: Transfer) -> Iterator[tuple[str | None, str | None]]:
    """A file only this run writes into the cache folder: a worker that sees it sees
    the client's cache. Yields (the folder for workers, the probe's name)."""
    if transfer == "bytes":
        yield None, None
        return
    name = f".cluster-probe-{uuid.uuid4().hex}"
    path = cache.root / name
    try:
        cache.root.mkdir(parents=True, exist_ok=True)
        path.write_text("audiobook\n", encoding="utf-8")
    except OSError:
        yield None, None
        return
    try:
        yield str(cache.root.resolve()), name
    finally:
        path.unlink(missing_ok=True)


_LOCAL_WORKERS: dict[str, bool] = {}  # client id -> has workers on this machine


def _has_local_workers(client: Client) -> bool:
    """Are some workers on this machine (a LocalCluster, ``dask worker`` here)? Asked
    once per client; each export task checks again where it lands."""
    known = _LOCAL_WORKERS.get(client.id)
    if known is None:
        try:
            ids = client.run(machine_id, on_error="ignore")
        except Exception:  # an old or odd cluster: exports stay here
            ids = {}
        known = _LOCAL_WORKERS[client.id] = machine_id() in ids.values()
    return known


# Chapters encoded at once on this machine, by every story in flight together: each
# holds a chapter's audio in memory, and encoding is this machine's share of the work.
EXPORT_THREADS = max(1, min(4, os.cpu_count() or 1))
_EXPORTS: ThreadPoolExecutor | None = None
_EXPORTS_LOCK = threading.Lock()


def _export_pool() -> ThreadPoolExecutor:
    global _EXPORTS
    with _EXPORTS_LOCK:
        if _EXPORTS is None:
            _EXPORTS = ThreadPoolExecutor(EXPORT_THREADS, thread_name_prefix="audiobook-export")
        return _EXPORTS


@dataclass
class DaskBackend:
    """Synthesis backend: the Dask cluster ``scheduler`` names (a ``--scheduler``
    string, see ``scheduler.parse_scheduler``) or a Client.

    ``transfer``: "shared" (workers write into the cache folder), "bytes" (they send
    the audio back) or "auto" (each worker writes if it sees the folder). Follow-ups
    run as soon as their lines are cached, ahead of further synthesis:
    ``exports="workers"`` on the cluster (they must see the cache and the follow-up's
    files; one that cannot see the cache hands it back), "client" here
    (``EXPORT_THREADS`` at once, shared by all stories), "auto" on workers on this
    machine (a LocalCluster: they see its files), else here.
    """

    scheduler: str | Client
    transfer: Transfer = "auto"
    exports: Exports = "auto"
    chunk_seconds: float = CHUNK_SECONDS
    retries: int = RETRIES

    def __post_init__(self) -> None:
        if self.transfer not in TRANSFERS:
            raise ValueError(f"transfer must be one of {TRANSFERS}, not {self.transfer!r}")

    def client(self) -> Client:
        return connect(self.scheduler) if isinstance(self.scheduler, str) else self.scheduler

    def prepare(self, engine: str) -> None:
        pass  # the cluster's workers keep their engines warm

    def stories_at_once(self) -> int:
        """One story per THREADS_PER_STORY cluster threads, at least 2, at most
        MAX_STORIES_AT_ONCE."""
        threads = sum(self.client().nthreads().values())
        return max(2, min(MAX_STORIES_AT_ONCE, threads // THREADS_PER_STORY))

    def run(self, plan: Plan) -> None:
        ctx = SynthContext(get_engine(plan.engine), plan.cache)
        if not plan.pending and (self.exports == "client" or not plan.followups):
            _DaskRun(plan, ctx, self).go()  # no need for the cluster
            return
        client = self.client()
        run = _DaskRun(plan, ctx, self, client)
        if self.exports == "workers" or (
            self.exports == "auto" and plan.followups and _has_local_workers(client)
        ):
            run.followups_on = None if self.exports == "workers" else machine_id()
        with _probe(plan.cache, self.transfer) as (root, probe):
            if self.transfer == "shared" and root is None:
                raise SynthError(f"cannot write to the cache folder {plan.cache.root}")
            run.where = (root, probe, self.transfer == "shared")
            run.go()


@dataclass
class _DaskRun:
    """One plan on the cluster: its chunks there, its follow-ups there or here. Dask's
    and the export pool's threads only post to ``events``; this thread does the rest."""

    plan: Plan
    ctx: SynthContext
    backend: DaskBackend
    client: Client | None = None
    where: tuple[str | None, str | None, bool] = (None, None, False)  # cache, probe, must
    # Follow-ups go to workers on this machine (its id), to any worker (None), or are
    # run here (False).
    followups_on: str | Literal[False] | None = False
    events: queue.Queue[tuple[str, int]] = field(default_factory=queue.Queue)
    chunks: dict[int, Any] = field(default_factory=dict)
    remote: dict[int, Any] = field(default_factory=dict)  # follow-ups on the cluster
    local: dict[int, LocalFuture[Any]] = field(default_factory=dict)  # follow-ups here

    def go(self) -> None:
        ready = self.plan.ready()
        self._submit_chunks()
        try:
            while self.chunks or self.remote or self.local or ready:
                self.plan.check_cancel()
                for n in ready:
                    self._start_followup(n)
                try:
                    kind, n = self.events.get(timeout=0.2)
                except queue.Empty:
                    ready = []
                    continue
                ready = self._finished(kind, n)
        finally:
            self._drop_the_rest()

    def _notify(self, kind: str, n: int) -> Callable[[Any], None]:
        """A done-callback (run in Dask's or the pool's thread) that wakes the loop."""
        return lambda _future: self.events.put((kind, n))

    def _submit_chunks(self) -> None:
        if self.client is None or not self.plan.pending:
            return
        workers = max(1, sum(self.client.nthreads().values()))
        tag = uuid.uuid4().hex[:10]
        chunks = chunk_jobs(self.plan.queue(), workers, self.backend.chunk_seconds)
        for n, chunk in enumerate(chunks):
            self.chunks[n] = self.client.submit(
                synth_chunk, self.plan.engine, chunk, *self.where,
                key=f"audiobook-synth-{tag}-{n}",
                priority=-n,  # higher runs first: chunks in chapter order
                retries=self.backend.retries, pure=False,
            )  # fmt: skip
            self.chunks[n].add_done_callback(self._notify("chunk", n))

    def _start_followup(self, n: int) -> None:
        fu = self.plan.followups[n]
        if self.followups_on is not False and self.client is not None:
            self.remote[n] = self.client.submit(
                run_followup, self.plan.engine, fu.fn, fu.args, self.where[0], self.where[1],
                self.followups_on,
                key=f"audiobook-export-{uuid.uuid4().hex[:10]}",
                priority=1,  # ahead of every chunk, as in the local pool
                retries=self.backend.retries, pure=False,
            )  # fmt: skip
            self.remote[n].add_done_callback(self._notify("remote", n))
        else:  # queued in the shared pool: only running ones hold audio
            self.local[n] = _export_pool().submit(fu.fn, self.ctx, *fu.args)
            self.local[n].add_done_callback(self._notify("local", n))

    def _finished(self, kind: str, n: int) -> list[int]:
        """Take in a finished task; returns the follow-ups to start now."""
        if kind == "local":
            self.plan.followed(n, self.local.pop(n).result())  # re-raises the export's error
        elif kind == "remote":
            ran, result, err = _result(self.remote.pop(n))
            if not ran:  # the worker is elsewhere, or blind to the cache: here
                self.followups_on = False
                return [n]
            if err is not None:
                raise_outcome(*err)
            self.plan.followed(n, result)
        else:
            done, audio, err = _result(self.chunks.pop(n))
            for key, rate, data in audio:
                self.ctx.cache.put(key, np.frombuffer(data, dtype="<i2"), rate)
            ready = self.plan.cached(done)
            if err is not None:
                raise_outcome(*err)
            return ready
        return []

    def _drop_the_rest(self) -> None:
        outstanding = [*self.chunks.values(), *self.remote.values()]
        if self.client is not None and outstanding:
            with contextlib.suppress(Exception):
                self.client.cancel(outstanding)
        # Exports not started are dropped; running ones finish (a chapter file is
        # written whole or not at all).
        for job in self.local.values():
            job.cancel()
        wait_local(self.local.values())


def _result(fut: Any) -> Any:
    """A finished task's value (then released on the workers), or a ``SynthError``."""
    status = fut.status
    if status == "error":
        raise _task_error(fut.exception())
    if status != "finished":
        raise SynthError(f"the Dask cluster dropped a task (status: {status})")
    value = fut.result()
    fut.release()
    return value
