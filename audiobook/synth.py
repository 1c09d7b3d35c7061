"""Synthesize many segments into a content-addressed cache, in-process or in a pool.

The cache is what makes renders resumable: a job's key depends only on what changes
its audio, so a re-run (or a cancelled run restarted) only synthesizes what is missing.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import struct
import threading
import uuid
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import platformdirs

from audiobook.engine import Engine, get_engine
from audiobook.errors import AudiobookError, Cancelled, SynthError, VoiceError
from audiobook.voices import Voice


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
    v = job.voice
    payload = {
        "text": job.text,
        "model": _file_identity(v.model, hash_content=False),
        "config": _file_identity(v.config, hash_content=True),
        "speaker": v.speaker_id,
        "pitch": round(v.pitch, 4),
        "tempo": round(v.tempo, 4),
        "noise_scale": v.noise_scale,
        "noise_w": v.noise_w,
        "rate": v.sample_rate,
        "engine": engine.name,
        "engine_version": engine.version(),
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


def default_cache_dir() -> Path:
    env = os.environ.get("AUDIOBOOK_CACHE_DIR")
    return Path(env) if env else Path(platformdirs.user_cache_dir("audiobook"))


# Entry = header + little-endian int16 samples. The header carries the rate (so
# assembly can resample) and a length + CRC so a truncated/corrupt file reads as missing.
_MAGIC = b"ABPCM1\0\0"
_HEADER = struct.Struct("<8sIQI")  # magic, sample rate, samples, crc32 of the data


class AudioCache:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.pcm"

    def _read_header(self, f: BinaryIO, size: int) -> tuple[int, int, int] | None:
        raw = f.read(_HEADER.size)
        if len(raw) != _HEADER.size:
            return None
        magic, rate, n, crc = _HEADER.unpack(raw)
        if magic != _MAGIC or rate <= 0 or size != _HEADER.size + 2 * n:
            return None
        return int(rate), int(n), int(crc)

    def load(self, key: str) -> tuple[np.ndarray, int] | None:
        """(int16 PCM, sample rate), or None if missing, truncated or corrupt."""
        try:
            with open(self.path(key), "rb") as f:
                size = os.fstat(f.fileno()).st_size
                header = self._read_header(f, size)
                if header is None:
                    return None
                rate, n, crc = header
                data = f.read(2 * n)
        except OSError:
            return None
        if len(data) != 2 * n or zlib.crc32(data) != crc:
            return None
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
        return None if header is None else header[0]

    def has(self, key: str) -> bool:
        """Cheap check (header and length); ``load`` also verifies the CRC."""
        return self.sample_rate(key) is not None

    def valid(self, key: str) -> bool:
        return self.load(key) is not None

    def put(self, key: str, pcm: np.ndarray, sample_rate: int) -> None:
        """Atomic: concurrent writers of the same key each write their own ``.part``."""
        data = np.ascontiguousarray(pcm, dtype="<i2").tobytes()
        dest = self.path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(f"{dest.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")
        try:
            with open(part, "wb") as f:
                f.write(_HEADER.pack(_MAGIC, sample_rate, len(data) // 2, zlib.crc32(data)))
                f.write(data)
            os.replace(part, dest)
        except BaseException:
            part.unlink(missing_ok=True)
            raise


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


# --- process pool worker side -------------------------------------------------

_WORKER: tuple[Engine, AudioCache] | None = None


def _init_worker(engine_name: str, cache_root: str) -> None:
    global _WORKER
    _WORKER = (get_engine(engine_name, threads=1), AudioCache(Path(cache_root)))


def _work(job: SynthJob, key: str) -> tuple[str, str | None, str | None, str | None]:
    """Runs in a worker; returns (key, error kind, message, path), never audio and
    never an exception object (ours do not all survive pickling)."""
    assert _WORKER is not None, "worker not initialised"
    engine, cache = _WORKER
    try:
        _run_one(engine, cache, job, key)
    except AudiobookError as err:
        kind = "voice" if isinstance(err, VoiceError) else "synth"
        return key, kind, err.message, None if err.path is None else str(err.path)
    return key, None, None, None


def _raise_worker_error(kind: str, message: str | None, path: str | None) -> None:
    cls = VoiceError if kind == "voice" else SynthError
    raise cls(message or "synthesis failed", path)


# --- driver -------------------------------------------------------------------


def synthesize(
    jobs: Sequence[SynthJob],
    *,
    engine: str = "piper",
    cache: AudioCache,
    workers: int = 1,
    on_progress: Callable[[SynthProgress], None] | None = None,
    cancel: threading.Event | None = None,
) -> list[str]:
    """Make sure every job's audio is in ``cache``; return the keys in job order.

    Duplicate jobs are synthesized once; progress counts distinct jobs, and cached ones
    count as done (and as hits) from the first report on.
    """
    eng = get_engine(engine)
    keys = [job_key(j, eng) for j in jobs]
    unique: dict[str, SynthJob] = {}
    for key, job in zip(keys, jobs, strict=True):
        unique.setdefault(key, job)
    pending = [(k, j) for k, j in unique.items() if not cache.valid(k)]
    hits = len(unique) - len(pending)
    total_chars = sum(len(j.text) for j in unique.values())
    progress = SynthProgress(
        done_chars=total_chars - sum(len(j.text) for _, j in pending),
        total_chars=total_chars,
        done_jobs=hits,
        total_jobs=len(unique),
        cache_hits=hits,
    )

    def report(job: SynthJob | None = None) -> None:
        if job is not None:
            progress.done_jobs += 1
            progress.done_chars += len(job.text)
        if on_progress is not None:
            on_progress(SynthProgress(**vars(progress)))

    report()
    if cancel is not None and cancel.is_set():
        raise Cancelled()
    if not pending:
        return keys
    if workers <= 1 or len(pending) == 1:
        for key, job in pending:
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            _run_one(eng, cache, job, key)
            report(job)
        return keys
    _run_pool(pending, engine, cache, min(workers, len(pending)), report, cancel)
    return keys


def _run_pool(
    pending: list[tuple[str, SynthJob]],
    engine: str,
    cache: AudioCache,
    workers: int,
    report: Callable[[SynthJob | None], None],
    cancel: threading.Event | None,
) -> None:
    # Longest first, so the pool does not end waiting on one long paragraph.
    queue = sorted(pending, key=lambda kj: len(kj[1].text), reverse=True)
    by_key = dict(pending)
    pool = ProcessPoolExecutor(
        max_workers=workers,
        # spawn: safe to start from a thread (the TUI) and with onnxruntime loaded.
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(engine, str(cache.root)),
    )
    in_flight: set[Future[tuple[str, str | None, str | None, str | None]]] = set()
    nxt = 0
    try:
        while nxt < len(queue) or in_flight:
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            # A small window instead of submitting everything: cancel stops quickly.
            while nxt < len(queue) and len(in_flight) < 2 * workers:
                in_flight.add(pool.submit(_work, queue[nxt][1], queue[nxt][0]))
                nxt += 1
            done, in_flight = wait(in_flight, timeout=0.2, return_when=FIRST_COMPLETED)
            for fut in done:
                key, kind, message, path = fut.result()
                if kind is not None:
                    _raise_worker_error(kind, message, path)
                report(by_key[key])
    except BrokenProcessPool as exc:
        raise SynthError(f"a synthesis worker process died ({exc})") from None
    finally:
        for fut in in_flight:
            fut.cancel()
        # Running jobs finish (their audio is cached, so a re-run resumes there).
        pool.shutdown(wait=True, cancel_futures=True)
