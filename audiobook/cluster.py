"""Synthesis on a Dask cluster: the contract of ``synth.synthesize`` (keys back in job
order, audio in the content-addressed cache, follow-ups run as their lines arrive),
with the work spread over Dask workers instead of a local process pool.

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
  (a LocalCluster) export too, as the local pool's workers do. The client renders
  several stories at once (``render_library``) so no story's last chunk leaves the
  cluster idle.

``distributed`` is an optional extra: this module imports it only when used.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import multiprocessing
import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor
from concurrent.futures import Future as LocalFuture
from concurrent.futures import wait as wait_local
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from audiobook import errors
from audiobook.engine import Engine, get_engine
from audiobook.errors import AudiobookError, Cancelled, SynthError, story_failure
from audiobook.synth import (
    AudioCache,
    FollowUp,
    SynthContext,
    SynthJob,
    SynthProgress,
    job_key,
    job_keys,
)
from audiobook.voices import Voice

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

    from audiobook.progress import Progress, ProgressCallback
    from audiobook.render import BookResult, RenderOptions, RenderReport

log = logging.getLogger(__name__)

MISSING_EXTRA = "--scheduler requires the 'distributed' extra: pip install 'audiobook[distributed]'"

# Speech per task. Piper reads ~15 characters a second; 45 s of speech is 3-10 s of
# work per task, so a few ms of overhead is lost in it, and cancelling still only
# waits for one chunk per worker.
CHUNK_SECONDS = 45.0
# A story of fewer than CHUNKS_PER_WORKER chunks per worker is cut finer, but not below
# MIN_CHUNK_SECONDS (~1 s of work: overhead stays under 1%): in the last round of
# chunks some workers idle, and the finer the chunks the shorter that round.
CHUNKS_PER_WORKER = 4
MIN_CHUNK_SECONDS = 6.0
CHARS_PER_SECOND = 15.0
# Retries of a task whose function raised (e.g. a worker's disk); a worker that dies is
# handled by the scheduler (``distributed.scheduler.allowed-failures``, default 3).
RETRIES = 2
# How long a scheduler without workers is waited for before giving up.
WORKER_WAIT_SECONDS = 120.0
CONNECT_TIMEOUT_SECONDS = 15.0

Transfer = Literal["auto", "shared", "bytes"]
TRANSFERS: tuple[Transfer, ...] = ("auto", "shared", "bytes")
Exports = Literal["auto", "client", "workers"]


# --- the extra and the connection --------------------------------------------------


def import_distributed() -> ModuleType:
    """The ``distributed`` package, or an ``AudiobookError`` saying how to get it."""
    try:
        import distributed
    except ImportError:
        raise AudiobookError(MISSING_EXTRA) from None
    return distributed


@dataclass(frozen=True)
class SchedulerSpec:
    """What ``--scheduler`` names: a running scheduler, or a LocalCluster to start."""

    address: str | None = None  # "tcp://host:port" (any Dask protocol)
    scheduler_file: Path | None = None  # the JSON file ``dask scheduler`` writes
    local_workers: int | None = None  # start a LocalCluster of this many processes

    @property
    def local(self) -> bool:
        return self.local_workers is not None


def parse_scheduler(spec: str) -> SchedulerSpec:
    """``tcp://HOST:PORT`` (or another Dask protocol), ``local``, ``local:N`` or the
    path of a scheduler file; anything else is an ``AudiobookError``."""
    text = spec.strip()
    if text == "local" or text.startswith("local:"):
        count = text.partition(":")[2]
        if not count:
            return SchedulerSpec(local_workers=os.cpu_count() or 1)
        if count.isdigit() and int(count) >= 1:
            return SchedulerSpec(local_workers=int(count))
        raise AudiobookError(f"bad --scheduler '{spec}': local:N needs a worker count N >= 1")
    if "://" in text:
        scheme, _, rest = text.partition("://")
        if scheme and rest:
            return SchedulerSpec(address=text)
    elif Path(text).is_file():
        return SchedulerSpec(scheduler_file=Path(text))
    raise AudiobookError(
        f"bad --scheduler '{spec}': expected tcp://HOST:PORT, local[:N] or a scheduler file"
    )


@dataclass
class _Session:
    client: Client
    cluster: Any = None  # the LocalCluster we started, closed with the client


_SESSIONS: dict[str, _Session] = {}
_SESSIONS_LOCK = threading.Lock()


def connect(spec: str) -> Client:
    """The client for ``spec``, made once per process and reused by every story of a
    library (a LocalCluster is started on first use and shut down at exit)."""
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(spec)
        if session is not None and session.client.status == "running":
            return session.client
        dist = import_distributed()
        parsed = parse_scheduler(spec)
        cluster = None
        try:
            if parsed.local_workers is not None:
                # Loopback only, one thread per process: Piper runs best one thread per
                # core, and the GIL would serialise the Python parts of a shared process.
                with _lean_local_workers():
                    cluster = dist.LocalCluster(
                        n_workers=parsed.local_workers,
                        threads_per_worker=1,
                        processes=True,
                        host="127.0.0.1",
                        # No dashboard, and its HTTP server on any free port, not 8787.
                        dashboard_address=":0",
                        scheduler_kwargs={"dashboard": False},
                        silence_logs=logging.ERROR,
                    )
                client = dist.Client(cluster)
                _ignore_ctrl_c(dist, client)
            elif parsed.scheduler_file is not None:
                client = dist.Client(
                    scheduler_file=str(parsed.scheduler_file), timeout=CONNECT_TIMEOUT_SECONDS
                )
            else:
                client = dist.Client(parsed.address, timeout=CONNECT_TIMEOUT_SECONDS)
        except (OSError, TimeoutError, ValueError) as exc:
            if cluster is not None:
                with contextlib.suppress(Exception):
                    cluster.close()
            raise AudiobookError(f"cannot reach the Dask scheduler at {spec} ({exc})") from None
        try:
            client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
        except (OSError, TimeoutError) as exc:
            client.close()
            raise AudiobookError(
                f"the Dask scheduler at {spec} has no workers after "
                f"{WORKER_WAIT_SECONDS:.0f} s ({type(exc).__name__})"
            ) from None
        if not _SESSIONS:
            atexit.register(close_sessions)
        _SESSIONS[spec] = _Session(client, cluster)
        log.info("Dask scheduler %s: %d worker threads", spec, sum(client.nthreads().values()))
        return client


@contextlib.contextmanager
def _lean_local_workers() -> Iterator[None]:
    """Worker processes for a LocalCluster that cost less CPU on a small machine, where
    the workers share the cores with this process: forked from a server that imported
    Dask once (instead of each importing it), and without the statistical profiler
    that feeds Dask's dashboard (which we do not start)."""
    import dask

    settings: dict[str, Any] = {"distributed.worker.profile.enabled": False}
    if "forkserver" in multiprocessing.get_all_start_methods():
        settings["distributed.worker.multiprocessing-method"] = "forkserver"
    with dask.config.set(settings):
        yield


def _ignore_ctrl_c(dist: ModuleType, client: Client) -> None:
    """Ctrl-C reaches the LocalCluster's workers too (one process group): they leave it
    to this process, which cancels, keeps what is done and closes them, instead of
    dying with a traceback each. A plugin, so a replaced worker gets it too."""

    plugin_base: Any = dist.WorkerPlugin

    class IgnoreCtrlC(plugin_base):  # defined here: sent by value, needs no import
        def setup(self, worker: Any) -> None:
            import signal

            with contextlib.suppress(ValueError):  # only possible in a main thread
                signal.signal(signal.SIGINT, signal.SIG_IGN)

    client.register_plugin(IgnoreCtrlC(), name="audiobook-ignore-ctrl-c")


def close_sessions() -> None:
    """Close every client (and LocalCluster) ``connect`` made; safe to call twice."""
    with _SESSIONS_LOCK:
        sessions = list(_SESSIONS.values())
        _SESSIONS.clear()
    for s in sessions:
        with contextlib.suppress(Exception):
            s.client.close()
        if s.cluster is not None:
            with contextlib.suppress(Exception):
                s.cluster.close()


# --- worker side -------------------------------------------------------------------

# One engine per name per worker process, for the life of the worker: loading a voice
# takes seconds, and ``PiperEngine`` keeps loaded models per process.
_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()

_Outcome = tuple[str, str, str | None]  # (error class name, message, path)
# (keys done, [(key, sample rate, int16 little-endian bytes)] when not written, error)
ChunkResult = tuple[list[str], list[tuple[str, int, bytes]], _Outcome | None]


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


def _excerpt(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _outcome(err: AudiobookError) -> _Outcome:
    return type(err).__name__, err.message, None if err.path is None else str(err.path)


def _shared_cache(root: str | None, probe: str | None) -> AudioCache | None:
    """The client's cache, if this worker sees the very folder (the probe file the
    client wrote for this run is there); else None: send the audio back."""
    if root is None or probe is None or not (Path(root) / probe).is_file():
        return None
    return AudioCache(Path(root))


def synth_chunk(
    engine_name: str,
    items: list[tuple[str, SynthJob]],
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
            pcm = engine.synthesize(local.text, local.voice)
            rate = engine.sample_rate(local.voice)
        except AudiobookError as err:
            return done, audio, _outcome(err)
        except Exception as exc:  # the engine's own failure on this text: not retried
            msg = (
                f"voice '{job.voice.name}' failed on \"{_excerpt(job.text)}\": "
                f"{type(exc).__name__}: {exc}"
            )
            return done, audio, ("SynthError", msg, None)
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
) -> tuple[bool, Any, _Outcome | None]:
    """Runs on a worker: a follow-up (a chapter's export), if this worker is on the
    client's ``machine`` (so it sees the output folder) and sees the client's cache;
    returns (ran, result, error as strings). Not ran: the client runs it itself."""
    cache = _shared_cache(root, probe)
    if cache is None or (machine is not None and machine != machine_id()):
        return False, None, None
    try:
        return True, fn(SynthContext(worker_engine(engine_name), cache), *args), None
    except AudiobookError as err:
        return True, None, _outcome(err)


# --- client side -------------------------------------------------------------------


def _cost(job: SynthJob) -> float:
    """Seconds of work, in seconds of speech: pitch variants are synthesised longer
    and then resampled; slow tempos are longer."""
    voice = job.voice
    return len(job.text) / CHARS_PER_SECOND * 2 ** (voice.pitch / 12) / max(voice.tempo, 0.1)


def chunk_jobs(
    queue_: Sequence[tuple[str, SynthJob]], workers: int, target: float = CHUNK_SECONDS
) -> list[list[tuple[str, SynthJob]]]:
    """Consecutive runs of jobs of up to ``target`` seconds of speech, finer for a small
    story so each worker gets CHUNKS_PER_WORKER chunks (never below MIN_CHUNK_SECONDS)."""
    total = sum(_cost(j) for _, j in queue_)
    limit = max(MIN_CHUNK_SECONDS, min(target, total / max(1, CHUNKS_PER_WORKER * workers)))
    chunks: list[list[tuple[str, SynthJob]]] = []
    cost = 0.0
    for kj in queue_:
        c = _cost(kj[1])
        if chunks and cost + c <= limit:
            chunks[-1].append(kj)
            cost += c
        else:
            chunks.append([kj])
            cost = c
    return chunks


def _raise_outcome(kind: str, message: str, path: str | None) -> None:
    cls = getattr(errors, kind, None)
    if not (isinstance(cls, type) and issubclass(cls, AudiobookError)) or cls is Cancelled:
        cls = SynthError
    raise cls(message, path)


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


def synthesize_on_cluster(
    jobs: Sequence[SynthJob],
    *,
    scheduler: str | Client,
    engine: str = "piper",
    cache: AudioCache,
    on_progress: Callable[[SynthProgress], None] | None = None,
    cancel: threading.Event | None = None,
    followups: Sequence[FollowUp] = (),
    on_followup: Callable[[int, Any], None] | None = None,
    keys: Sequence[str] | None = None,
    transfer: Transfer = "auto",
    exports: Exports = "auto",
    chunk_seconds: float = CHUNK_SECONDS,
    retries: int = RETRIES,
) -> list[str]:
    """``synth.synthesize`` on a Dask cluster: make sure every job's audio is in
    ``cache`` and return the keys in job order.

    ``scheduler`` is a ``--scheduler`` string (see ``parse_scheduler``) or a Client.
    ``transfer``: "shared" (workers write into ``cache.root``), "bytes" (they send the
    audio back) or "auto" (each worker writes if it sees the folder).

    Follow-ups run as soon as their lines are cached, ahead of further synthesis:
    ``exports="workers"`` on the cluster (they must see the cache and the follow-up's
    files; one that cannot see the cache hands it back), "client" here
    (``EXPORT_THREADS`` at once, shared by all calls), "auto" on workers on this
    machine (a LocalCluster: they see its files), else here. ``on_followup`` and
    ``on_progress`` are called from the calling thread.

    Raises ``Cancelled`` when ``cancel`` is set (queued tasks are dropped; running
    ones finish and are cached), ``SynthError`` when the cluster cannot finish.
    """
    if transfer not in TRANSFERS:
        raise ValueError(f"transfer must be one of {TRANSFERS}, not {transfer!r}")
    keys = list(keys) if keys is not None else job_keys(jobs, engine)
    unique: dict[str, SynthJob] = {}
    for key, job in zip(keys, jobs, strict=True):
        unique.setdefault(key, job)
    pending = {k: j for k, j in unique.items() if not cache.has(k, touch=True)}
    hits = len(unique) - len(pending)
    total_chars = sum(len(j.text) for j in unique.values())
    progress = SynthProgress(
        done_chars=total_chars - sum(len(j.text) for j in pending.values()),
        total_chars=total_chars,
        done_jobs=hits,
        total_jobs=len(unique),
        cache_hits=hits,
    )

    def report(done: Sequence[str] = ()) -> None:
        for key in done:
            progress.done_jobs += 1
            progress.done_chars += len(unique[key].text)
        if on_progress is not None:
            on_progress(SynthProgress(**vars(progress)))

    report()
    if cancel is not None and cancel.is_set():
        raise Cancelled()
    if not pending and not followups:
        return keys
    ctx = SynthContext(get_engine(engine), cache)
    run = _ClusterRun(keys, pending, followups, on_followup, report, cancel, ctx, engine)
    if not pending and (exports == "client" or not followups):
        run.go(None, (None, None, False), chunk_seconds, retries)  # no need for the cluster
        return keys
    client = connect(scheduler) if isinstance(scheduler, str) else scheduler
    if exports == "workers" or (exports == "auto" and followups and _has_local_workers(client)):
        run.followups_on = None if exports == "workers" else machine_id()
    with _probe(cache, transfer) as (root, probe):
        if transfer == "shared" and root is None:
            raise SynthError(f"cannot write to the cache folder {cache.root}")
        run.go(client, (root, probe, transfer == "shared"), chunk_seconds, retries)
    return keys


def machine_id() -> str:
    """This machine (this boot of it): workers with the client's id see its files."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        boot = f"{uuid.getnode():x}"
    return f"{socket.gethostname()}/{boot}"


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


def _notify(events: queue.Queue[tuple[str, int]], kind: str, n: int) -> Callable[[Any], None]:
    """A done-callback (run in Dask's or the pool's thread) that wakes the loop."""
    return lambda _future: events.put((kind, n))


@dataclass
class _ClusterRun:
    """One call's state: chunks on the cluster, follow-ups there or here."""

    keys: list[str]
    pending: dict[str, SynthJob]
    followups: Sequence[FollowUp]
    on_followup: Callable[[int, Any], None] | None
    report: Callable[[Sequence[str]], None]
    cancel: threading.Event | None
    ctx: SynthContext
    engine: str
    # Follow-ups go to workers on this machine (its id), to any worker (None), or are
    # run here (False).
    followups_on: str | Literal[False] | None = False

    def _queue(self) -> list[tuple[str, SynthJob]]:
        """Pending jobs follow-up by follow-up, in order: the first chapters are
        finished (and encoded) while the cluster works on the later ones."""
        order: list[tuple[str, SynthJob]] = []
        seen: set[str] = set()
        for fu in self.followups:
            for i in fu.needs:
                k = self.keys[i]
                if k in self.pending and k not in seen:
                    seen.add(k)
                    order.append((k, self.pending[k]))
        return order + [(k, j) for k, j in self.pending.items() if k not in seen]

    def go(
        self,
        client: Client | None,
        where: tuple[str | None, str | None, bool],
        chunk_seconds: float,
        retries: int,
    ) -> None:
        waiting = {
            n: {self.keys[i] for i in fu.needs if self.keys[i] in self.pending}
            for n, fu in enumerate(self.followups)
        }
        ready = [n for n, missing in waiting.items() if not missing]
        events: queue.Queue[tuple[str, int]] = queue.Queue()
        chunks: dict[int, Any] = {}
        if client is not None and self.pending:
            workers = max(1, sum(client.nthreads().values()))
            tag = uuid.uuid4().hex[:10]
            for n, chunk in enumerate(chunk_jobs(self._queue(), workers, chunk_seconds)):
                chunks[n] = client.submit(
                    synth_chunk, self.engine, chunk, *where,
                    key=f"audiobook-synth-{tag}-{n}",
                    priority=-n,  # higher runs first: chunks in chapter order
                    retries=retries, pure=False,
                )  # fmt: skip
                chunks[n].add_done_callback(_notify(events, "chunk", n))
        remote: dict[int, Any] = {}  # follow-ups on the cluster
        local: dict[int, LocalFuture[Any]] = {}  # follow-ups here
        try:
            while chunks or remote or local or ready:
                if self.cancel is not None and self.cancel.is_set():
                    raise Cancelled()
                for n in ready:
                    fu = self.followups[n]
                    if self.followups_on is not False and client is not None:
                        remote[n] = client.submit(
                            run_followup, self.engine, fu.fn, fu.args, where[0], where[1],
                            self.followups_on,
                            key=f"audiobook-export-{uuid.uuid4().hex[:10]}",
                            priority=1,  # ahead of every chunk, as in the local pool
                            retries=retries, pure=False,
                        )  # fmt: skip
                        remote[n].add_done_callback(_notify(events, "remote", n))
                    else:  # queued in the shared pool: only running ones hold audio
                        local[n] = _export_pool().submit(fu.fn, self.ctx, *fu.args)
                        local[n].add_done_callback(_notify(events, "local", n))
                ready = []
                try:
                    kind, n = events.get(timeout=0.2)
                except queue.Empty:
                    continue
                if kind == "local":
                    result = local.pop(n).result()  # re-raises the export's error
                    if self.on_followup is not None:
                        self.on_followup(n, result)
                elif kind == "remote":
                    ran, result, err = _result(remote.pop(n))
                    if not ran:  # the worker is elsewhere, or blind to the cache: here
                        self.followups_on = False
                        ready.append(n)
                    elif err is not None:
                        _raise_outcome(*err)
                    elif self.on_followup is not None:
                        self.on_followup(n, result)
                else:
                    done = self._collect(chunks.pop(n))
                    self.report(done)
                    for m, missing in waiting.items():
                        if missing:
                            missing.difference_update(done)
                            if not missing:
                                ready.append(m)
        finally:
            outstanding = [*chunks.values(), *remote.values()]
            if client is not None and outstanding:
                with contextlib.suppress(Exception):
                    client.cancel(outstanding)
            # Exports not started are dropped; running ones finish (a chapter file is
            # written whole or not at all).
            for job in local.values():
                job.cancel()
            wait_local(local.values())

    def _collect(self, fut: Any) -> list[str]:
        """Store a finished chunk's returned audio; raise its error, or the cluster's."""
        done, audio, err = _result(fut)
        for key, rate, data in audio:
            self.ctx.cache.put(key, np.frombuffer(data, dtype="<i2"), rate)
        if err is not None:
            self.report(done)
            _raise_outcome(*err)
        return list(done)


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


def cluster_synthesize(scheduler: str) -> Callable[..., list[str]]:
    """``synth.synthesize`` as ``render`` calls it, on ``scheduler`` instead of the
    local pool (``workers``, the pool's size, means nothing on a cluster)."""

    def run(jobs: Sequence[SynthJob], *, workers: int = 1, **kwargs: Any) -> list[str]:
        return synthesize_on_cluster(jobs, scheduler=scheduler, **kwargs)

    return run


# --- a whole library ---------------------------------------------------------------

# Stories rendered at once per this many cluster threads: each story waits for its
# slowest chunk and is analysed and exported here, so one story at a time leaves
# workers idle; a few at once keep them fed.
THREADS_PER_STORY = 8
MAX_STORIES_AT_ONCE = 16


def render_library(
    paths: Sequence[Path],
    options: RenderOptions,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    on_error: Callable[[Path, AudiobookError], None] | None = None,
) -> RenderReport:
    """``render.render`` on the cluster named by ``options.scheduler``, several stories
    at once (one per THREADS_PER_STORY cluster threads, at least 2, at most
    MAX_STORIES_AT_ONCE): the same report, books in the order given, ``on_error`` and
    ``progress`` called one at a time. ``Cancelled`` (or Ctrl-C) stops every story;
    finished work is kept."""
    from audiobook.render import RenderReport, render_story

    if not options.scheduler:
        raise ValueError("render_library needs options.scheduler")
    threads = sum(connect(options.scheduler).nthreads().values())
    width = max(2, min(MAX_STORIES_AT_ONCE, threads // THREADS_PER_STORY))
    report = RenderReport()
    t0 = time.monotonic()
    stop = threading.Event()  # every story's cancel: the caller's, or our own on error
    lock = threading.Lock()

    def emit(p: Progress) -> None:
        if progress is not None:
            with lock:
                progress(p)

    results: dict[int, tuple[BookResult, int, int]] = {}
    with ThreadPoolExecutor(width, thread_name_prefix="audiobook-story") as pool:
        index = {
            pool.submit(render_story, Path(p), options, emit, stop): i for i, p in enumerate(paths)
        }
        left = set(index)
        try:
            while left:
                done, left = wait_local(left, timeout=0.2, return_when=FIRST_COMPLETED)
                if cancel is not None and cancel.is_set():
                    raise Cancelled()
                for fut in done:
                    i = index[fut]
                    try:
                        results[i] = fut.result()
                    except Cancelled:
                        raise
                    except Exception as exc:  # one story's bug must not stop the others
                        e = story_failure(paths[i], exc)
                        report.failures.append(e)
                        if on_error is not None:
                            with lock:
                                on_error(paths[i], e)
        except BaseException:
            stop.set()  # the running stories stop at their next check; queued never start
            for fut in left:
                fut.cancel()
            raise
    for i in sorted(results):
        book, n, hits = results[i]
        report.books.append(book)
        report.segments += n
        report.cache_hits += hits
    report.seconds = time.monotonic() - t0
    return report
