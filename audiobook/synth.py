"""Synthesize many segments into a content-addressed cache, in-process or in a pool.

The cache is what makes renders resumable: a job's key depends only on what changes
its audio, so a re-run (or a cancelled run restarted) only synthesizes what is missing.

The pool is built for throughput on few cores: one single-threaded engine per worker
(two single-threaded Piper processes beat one two-threaded one by ~40%), workers
forked from a server that imported the heavy modules once, short lines batched into
one task, and work that needs some lines' audio (a chapter's encoding: ``FollowUp``)
run in the pool as soon as those lines are cached, ahead of the rest, so encoding
overlaps synthesis instead of following it.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import logging
import multiprocessing
import os
import signal
import struct
import threading
import time
import zlib
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import numpy as np
import platformdirs

from audiobook import errors
from audiobook.engine import Engine, get_engine
from audiobook.errors import AudiobookError, Cancelled, ExportError, SynthError
from audiobook.fsutil import replacing, write_into
from audiobook.helpers import context, real_stderr, stderr_fd
from audiobook.voices import Voice

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SynthJob:
    text: str
    voice: Voice


_CONFIG_HASHES: dict[tuple[str, int, int], str] = {}


def _file_identity(path: Path, *, hash_content: bool) -> dict[str, object]:
    """Name + size (+ content hash for small files), cached by mtime: keys for
    thousands of jobs must not re-read the same config thousands of times."""
    try:
        st = path.stat()
    except OSError:
        return {"name": path.name, "missing": True}
    ident: dict[str, object] = {"name": path.name, "size": st.st_size}
    if hash_content:
        memo = (str(path), st.st_mtime_ns, st.st_size)
        digest = _CONFIG_HASHES.get(memo)
        if digest is None:
            try:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:
                digest = "unreadable"
            _CONFIG_HASHES[memo] = digest
        ident["sha256"] = digest
    return ident


def job_key(job: SynthJob, engine: Engine) -> str:
    """Stable sha256 of everything that changes a job's audio (not the voice's name:
    two names for the same settings share audio)."""
    return _key(job, engine.name, engine.version(), {})


def job_keys(jobs: Sequence[SynthJob], engine: str) -> list[str]:
    """``job_key`` of each job, for an engine by name (cheap: loads no model). The
    engine's version and each voice file's identity are looked up once, not per job:
    a novel has ~15,000 lines."""
    eng = get_engine(engine)
    version = eng.version()
    files: dict[tuple[Path, bool], dict[str, object]] = {}
    return [_key(j, eng.name, version, files) for j in jobs]


def _key(
    job: SynthJob, engine: str, version: str, files: dict[tuple[Path, bool], dict[str, object]]
) -> str:
    v = job.voice
    for path, content in ((v.model, False), (v.config, True)):
        if (path, content) not in files:
            files[path, content] = _file_identity(path, hash_content=content)
    payload = {
        "text": job.text,
        "model": files[v.model, False],
        "config": files[v.config, True],
        "speaker": v.speaker_id,
        "pitch": round(v.pitch, 4),
        "tempo": round(v.tempo, 4),
        "f0": v.f0,
        "noise_scale": v.noise_scale,
        "noise_w": v.noise_w,
        "rate": v.sample_rate,
        "engine": engine,
        "engine_version": version,
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


def default_cache_dir() -> Path:
    env = os.environ.get("AUDIOBOOK_CACHE_DIR")
    return Path(env) if env else Path(platformdirs.user_cache_dir("audiobook"))


# A 12-hour novel is ~1.9 GB of cached speech at 22 kHz: the default keeps a few.
DEFAULT_CACHE_MAX_MB = 10_240
CACHE_MAX_ENV = "AUDIOBOOK_CACHE_MAX_MB"
# A ``.part`` older than this is a writer's leftover (killed mid-write), not a write
# in progress: prune removes it.
STALE_PART_SECONDS = 600.0


def cache_max_bytes() -> int | None:
    """The size cap from ``$AUDIOBOOK_CACHE_MAX_MB`` (0: no cap), else the default."""
    raw = os.environ.get(CACHE_MAX_ENV, "").strip()
    if not raw:
        return DEFAULT_CACHE_MAX_MB * 1024 * 1024
    try:
        mb = float(raw)
    except ValueError:
        log.warning("ignoring %s=%r: not a number of megabytes", CACHE_MAX_ENV, raw)
        return DEFAULT_CACHE_MAX_MB * 1024 * 1024
    return None if mb <= 0 else int(mb * 1024 * 1024)


@dataclass
class CacheStats:
    entries: int = 0
    bytes: int = 0
    parts: int = 0  # temporary files (writes in progress, or left by a killed run)
    oldest: float | None = None  # last use of the least recently used entry (epoch s)


# Entry = header + little-endian int16 samples. The header carries the rate (so
# assembly can resample) and a length + CRC so a truncated/corrupt file reads as missing.
# The CRC covers the header's own fields too: a flipped bit in the rate would otherwise
# change a book's length silently.
_MAGIC = b"ABPCM2\0\0"
_HEADER = struct.Struct("<8sIQI")  # magic, sample rate, samples, crc32 of the rest
_FIELDS = struct.Struct("<8sIQ")  # what the CRC covers before the data
# Entries of the first format (CRC of the data only) stay readable, so an upgrade does
# not throw away hours of synthesis; their rate must be one a voice really uses, and
# no single flipped bit turns one of these into another.
_MAGIC_V1 = b"ABPCM1\0\0"
_V1_RATES = frozenset({16000, 22050, 24000, 44100, 48000})


def _entry_crc(magic: bytes, rate: int, samples: int, data: bytes) -> int:
    if magic == _MAGIC_V1:
        return zlib.crc32(data)
    return zlib.crc32(data, zlib.crc32(_FIELDS.pack(magic, rate, samples)))


class AudioCache:
    """Segment audio by key, one file each; an entry's mtime is its last use, so the
    size cap evicts the least recently used audio first."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.pcm"

    def _read_header(self, f: BinaryIO, size: int) -> tuple[bytes, int, int, int] | None:
        raw = f.read(_HEADER.size)
        if len(raw) != _HEADER.size:
            return None
        magic, rate, n, crc = _HEADER.unpack(raw)
        if magic == _MAGIC_V1 and rate not in _V1_RATES:
            return None
        if magic not in (_MAGIC, _MAGIC_V1) or rate <= 0 or size != _HEADER.size + 2 * n:
            return None
        return magic, int(rate), int(n), int(crc)

    def load(self, key: str) -> tuple[np.ndarray, int] | None:
        """(int16 PCM, sample rate), or None if missing, truncated or corrupt."""
        try:
            with open(self.path(key), "rb") as f:
                size = os.fstat(f.fileno()).st_size
                header = self._read_header(f, size)
                if header is None:
                    return None
                magic, rate, n, crc = header
                data = f.read(2 * n)
        except OSError:
            return None
        if len(data) != 2 * n or _entry_crc(magic, rate, n, data) != crc:
            return None
        self.touch(key)
        return np.frombuffer(data, dtype="<i2").astype(np.int16), rate

    def get(self, key: str) -> np.ndarray | None:
        entry = self.load(key)
        return None if entry is None else entry[0]

    def sample_rate(self, key: str) -> int | None:
        try:
            with open(self.path(key), "rb") as f:
                header = self._read_header(f, os.fstat(f.fileno()).st_size)
        except OSError:
            return None
        return None if header is None else header[1]

    def has(self, key: str, *, touch: bool = False) -> bool:
        """Cheap check (header and length); ``load`` also verifies the CRC."""
        ok = self.sample_rate(key) is not None
        if ok and touch:
            self.touch(key)
        return ok

    def valid(self, key: str) -> bool:
        return self.load(key) is not None

    def touch(self, key: str) -> None:
        """Mark an entry used now (atime is unreliable: relatime/noatime mounts)."""
        with contextlib.suppress(OSError):
            os.utime(self.path(key))

    def put(self, key: str, pcm: np.ndarray, sample_rate: int) -> None:
        """Atomic: concurrent writers of the same key each write their own ``.part``."""
        data = np.ascontiguousarray(pcm, dtype="<i2").tobytes()
        n = len(data) // 2
        header = _HEADER.pack(_MAGIC, sample_rate, n, _entry_crc(_MAGIC, sample_rate, n, data))
        dest = self.path(key)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            with replacing(dest) as tmp:  # concurrent writers each have their own
                write_into(tmp, (header, data))
        except OSError as exc:  # disk full, not a folder...: one line, no traceback
            reason = exc.strerror or str(exc)
            raise ExportError(f"cannot write the audio cache ({reason})", self.root) from None

    # --- size ---------------------------------------------------------------------

    def _files(self) -> Iterator[tuple[Path, os.stat_result]]:
        """Every entry and temporary file, with its stat (only our two-hex folders)."""
        try:
            folders = [d for d in self.root.iterdir() if len(d.name) == 2 and d.is_dir()]
        except OSError:
            return
        for folder in folders:
            try:
                names = list(os.scandir(folder))
            except OSError:
                continue
            for entry in names:
                if entry.name.endswith((".pcm", ".part")):
                    with contextlib.suppress(OSError):
                        yield Path(entry.path), entry.stat()

    def stats(self) -> CacheStats:
        st = CacheStats()
        for path, s in self._files():
            if path.suffix == ".part":
                st.parts += 1
                continue
            st.entries += 1
            st.bytes += s.st_size
            st.oldest = s.st_mtime if st.oldest is None else min(st.oldest, s.st_mtime)
        return st

    def prune(self, max_bytes: int, keep: Collection[str] = ()) -> tuple[int, int]:
        """Delete least recently used entries until the cache holds ``max_bytes`` or
        less, never one of ``keep`` (what the current render uses); also removes
        temporary files left by killed writers. Returns (entries removed, bytes freed)."""
        now = time.time()
        entries: list[tuple[float, int, Path]] = []
        total = 0
        for path, s in self._files():
            if path.suffix == ".part":
                if now - s.st_mtime > STALE_PART_SECONDS:
                    path.unlink(missing_ok=True)
                continue
            total += s.st_size
            if path.stem not in keep:
                entries.append((s.st_mtime, s.st_size, path))
        removed = freed = 0
        entries.sort()
        for _, size, path in entries:
            if total <= max_bytes:
                break
            with contextlib.suppress(OSError):
                path.unlink()
                total -= size
                removed += 1
                freed += size
        if total > max_bytes:
            log.info("audio cache is over its cap: the current book alone needs more")
        return removed, freed

    def clear(self) -> tuple[int, int]:
        """Delete every entry (and temporary file); returns (entries, bytes) removed."""
        removed = freed = 0
        for path, s in self._files():
            with contextlib.suppress(OSError):
                path.unlink()
                if path.suffix == ".pcm":
                    removed += 1
                    freed += s.st_size
        with contextlib.suppress(OSError):
            for d in self.root.iterdir():
                if len(d.name) == 2 and d.is_dir():
                    with contextlib.suppress(OSError):
                        d.rmdir()  # only if empty
        return removed, freed


@dataclass
class SynthProgress:
    done_chars: int
    total_chars: int
    done_jobs: int
    total_jobs: int
    cache_hits: int


def _excerpt(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _failure(job: SynthJob, exc: BaseException) -> AudiobookError:
    if isinstance(exc, AudiobookError):
        return exc
    return SynthError(
        f"voice '{job.voice.name}' failed on \"{_excerpt(job.text)}\": {type(exc).__name__}: {exc}"
    )


def _run_one(engine: Engine, cache: AudioCache, job: SynthJob, key: str) -> None:
    try:
        pcm = engine.synthesize(job.text, job.voice)
    except Exception as exc:
        raise _failure(job, exc) from exc
    cache.put(key, pcm, engine.sample_rate(job.voice))


@dataclass
class SynthContext:
    """What a follow-up gets to work with, in a worker or in-process: the cache, and
    an engine to remake an entry that went missing or bad since it was checked."""

    engine: Engine
    cache: AudioCache
    pooled: bool = False  # in a pool worker (memory is released after each follow-up)

    def audio(self, key: str, job: SynthJob) -> tuple[np.ndarray, int]:
        entry = self.cache.load(key)
        if entry is None:
            _run_one(self.engine, self.cache, job, key)
            entry = self.cache.load(key)
            if entry is None:
                raise SynthError(f'cannot read back the audio of "{_excerpt(job.text)}"')
        return entry


@dataclass(frozen=True)
class FollowUp:
    """Work that needs the audio of some jobs (indexes into the job list): it runs as
    ``fn(ctx, *args)`` as soon as all of them are cached, in the pool ahead of further
    synthesis. ``fn`` must be a module-level function and ``args`` picklable."""

    needs: tuple[int, ...]
    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    # What it holds in memory while it runs, in seconds of audio (a chapter's length):
    # follow-ups run side by side while their weights fit FOLLOWUP_BUDGET.
    weight: float = 0.0


# Seconds of audio that follow-ups running at once may hold between them: a chapter
# being levelled and encoded needs ~8 bytes a sample (~0.7 GB an hour at 22 kHz), on
# top of its worker's ~0.4 GB of Piper. Two short chapters go side by side; two of a
# novel's 20-minute ones one after the other (the other worker keeps synthesising),
# which keeps a render's peak under 1.5 GB. One always runs.
FOLLOWUP_BUDGET = 25 * 60.0


def _cost(job: SynthJob) -> float:
    """Relative synthesis time: audio length. Pitch variants are synthesized longer
    (then resampled), slower tempos are longer."""
    return len(job.text) * 2 ** (job.voice.pitch / 12) / max(job.voice.tempo, 0.1)


# A task of short lines, up to about this cost (characters): per-task overhead is a
# few ms, but cancelling waits for running tasks, so tasks stay short (~1 s).
BATCH_COST = 240.0
BATCH_JOBS = 12


def _batches(
    queue: list[tuple[str, SynthJob]], limit: float, workers: int = 1
) -> list[list[tuple[str, SynthJob]]]:
    """Consecutive jobs grouped into tasks of up to ``limit``. Towards the end tasks
    shrink (to a share of the work left per worker), so the workers run out of work
    together instead of one finishing a big last task alone."""
    out: list[list[tuple[str, SynthJob]]] = []
    cost = 0.0
    left = sum(_cost(j) for _, j in queue)
    for kj in queue:
        c = _cost(kj[1])
        cap = min(limit, left / (2 * max(1, workers)))
        left -= c
        if out and cost + c <= cap and len(out[-1]) < BATCH_JOBS:
            out[-1].append(kj)
            cost += c
        else:
            out.append([kj])
            cost = c
    return out


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


_Outcome = tuple[str | None, str | None, str | None]  # (error class, message, path)


def _outcome(err: AudiobookError) -> _Outcome:
    return type(err).__name__, err.message, None if err.path is None else str(err.path)


def _raise_outcome(kind: str, message: str | None, path: str | None) -> None:
    cls = getattr(errors, kind, None)
    if not (isinstance(cls, type) and issubclass(cls, AudiobookError)) or cls is Cancelled:
        cls = SynthError
    raise cls(message or "synthesis failed", path)


def _work(batch: list[tuple[str, SynthJob]]) -> tuple[list[str], _Outcome | None]:
    """Runs in a worker; returns the keys done and the first error as plain strings,
    never audio and never an exception object (ours do not all survive pickling)."""
    assert _WORKER is not None, "worker not initialised"
    done: list[str] = []
    for key, job in batch:
        try:
            _run_one(_WORKER.engine, _WORKER.cache, job, key)
        except AudiobookError as err:
            return done, _outcome(err)
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


def _follow(fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, _Outcome | None]:
    assert _WORKER is not None, "worker not initialised"
    if _WORKER.pooled:
        # A chapter export needs no model (its lines are cached): it runs without the
        # synthesis working memory, which would otherwise sit under the chapter's.
        _release_memory(_WORKER.engine)
    try:
        return fn(_WORKER, *args), None
    except AudiobookError as err:
        return None, _outcome(err)
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


# --- driver ---------------------------------------------------------------------


def synthesize(
    jobs: Sequence[SynthJob],
    *,
    engine: str = "piper",
    cache: AudioCache,
    workers: int = 1,
    on_progress: Callable[[SynthProgress], None] | None = None,
    cancel: threading.Event | None = None,
    followups: Sequence[FollowUp] = (),
    on_followup: Callable[[int, Any], None] | None = None,
    keys: Sequence[str] | None = None,
) -> list[str]:
    """Make sure every job's audio is in ``cache``; return the keys in job order.

    Duplicate jobs are synthesized once; progress counts distinct jobs, and cached ones
    count as done (and as hits) from the first report on. Each follow-up runs once all
    its jobs are cached; ``on_followup(i, result)`` gets its result here, and this
    returns only after every follow-up has run. Jobs are done follow-up by follow-up
    (longest first within each; the last ``workers`` follow-ups' jobs mixed, so those
    finish together and run side by side), then the rest longest first.
    """
    eng = get_engine(engine)
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
    run = _Run(keys, pending, followups, on_followup, report, cancel)
    # Nothing (or one line) to synthesize: the pool's start-up would cost more than
    # it saves, and follow-ups run one at a time anyway.
    if workers <= 1 or len(pending) <= 1:
        run.go(_Inline(SynthContext(eng, cache)), window=1, batch_cost=0.0)
    else:
        pool = _start_pool(engine, cache, workers)
        try:
            # A small window, not everything at once: a follow-up that becomes ready
            # starts after at most one more batch, and cancelling drops the rest.
            run.go(pool, window=workers + 1, batch_cost=BATCH_COST)
        except BrokenProcessPool as exc:
            raise SynthError(f"a synthesis worker process died ({exc})") from None
        finally:
            # Running tasks finish (their audio is cached, so a re-run resumes there).
            pool.shutdown(wait=True, cancel_futures=True)
    return keys


class _Pool(Protocol):
    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]: ...


@dataclass
class _Run:
    """One synthesize call's scheduling state."""

    keys: list[str]
    pending: dict[str, SynthJob]
    followups: Sequence[FollowUp]
    on_followup: Callable[[int, Any], None] | None
    report: Callable[[Sequence[str]], None]
    cancel: threading.Event | None
    waiting: dict[int, set[str]] = field(default_factory=dict)  # follow-up -> keys missing

    def _queue(self, together: int = 1) -> list[tuple[str, SynthJob]]:
        """Pending jobs in the order to run them: follow-up by follow-up, longest first
        in each, then the rest longest first. The last ``together`` follow-ups' jobs
        are run as one group, so those follow-ups become ready at about the same time
        at the end and run side by side (one at the end would leave workers idle)."""
        groups: list[set[str]] = []
        seen: set[str] = set()
        for fu in self.followups:
            group = {self.keys[i] for i in fu.needs if self.keys[i] in self.pending} - seen
            if group:
                groups.append(group)
                seen |= group
        if len(groups) > 1 and together > 1:
            groups[-together:] = [set().union(*groups[-together:])]
        groups.append(set(self.pending) - seen)
        queue: list[tuple[str, SynthJob]] = []
        for group in groups:
            queue += sorted(((k, self.pending[k]) for k in group), key=lambda kj: -_cost(kj[1]))
        return queue

    def go(self, pool: _Pool, *, window: int, batch_cost: float) -> None:
        for n, fu in enumerate(self.followups):
            self.waiting[n] = {self.keys[i] for i in fu.needs if self.keys[i] in self.pending}
        workers = max(1, window - 1)
        batches = _batches(self._queue(together=workers), batch_cost, workers)
        ready = [n for n, missing in self.waiting.items() if not missing]
        synth: set[Future[Any]] = set()
        follow: dict[Future[Any], int] = {}
        nxt = 0
        while nxt < len(batches) or synth or follow or ready:
            if self.cancel is not None and self.cancel.is_set():
                for fut in (*synth, *follow):
                    fut.cancel()
                raise Cancelled()
            # Each follow-up holds a whole chapter in memory: side by side only while
            # they fit the budget (and the window: synthesis needs workers too).
            while ready and len(follow) < max(1, window - 1):
                fu = self.followups[ready[0]]
                held = sum(self.followups[n].weight for n in follow.values())
                if follow and held + fu.weight > FOLLOWUP_BUDGET:
                    break
                follow[pool.submit(_follow, fu.fn, fu.args)] = ready.pop(0)
            while nxt < len(batches) and len(synth) + len(follow) < window:
                synth.add(pool.submit(_work, batches[nxt]))
                nxt += 1
            if not synth and not follow:
                continue
            done, _ = wait({*synth, *follow}, timeout=0.2, return_when=FIRST_COMPLETED)
            for fut in done:
                if fut in follow:
                    n = follow.pop(fut)
                    result, err = fut.result()
                    if err is not None:
                        _raise_outcome(*err)
                    if self.on_followup is not None:
                        self.on_followup(n, result)
                    continue
                synth.discard(fut)
                keys, err = fut.result()
                self.report(keys)
                for n, missing in self.waiting.items():
                    if missing:
                        missing.difference_update(keys)
                        if not missing:
                            ready.append(n)
                if err is not None:
                    _raise_outcome(*err)
            ready.sort()
