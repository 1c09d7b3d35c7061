"""What synthesis is asked to do and what it reports, whichever backend does it: a job
(a text in a voice), its cache key, progress, follow-ups, and errors as plain strings
(ours do not all survive pickling to a worker and back)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from audiobook import errors
from audiobook.engine import Engine, get_engine
from audiobook.errors import AudiobookError, Cancelled, SynthError
from audiobook.synth.cache import AudioCache
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


# Piper reads about this many characters a second: a job's length in speech, which is
# what its synthesis costs.
CHARS_PER_SECOND = 15.0


def speech_seconds(job: SynthJob) -> float:
    """Seconds of work, in seconds of speech: pitch variants are synthesised longer
    and then resampled; slow tempos are longer."""
    voice = job.voice
    return len(job.text) / CHARS_PER_SECOND * 2 ** (voice.pitch / 12) / max(voice.tempo, 0.1)


@dataclass
class SynthProgress:
    done_chars: int
    total_chars: int
    done_jobs: int
    total_jobs: int
    cache_hits: int
    # Keys whose audio is in the cache since the previous report (in the first report:
    # those that already were), so a caller can tell which of its chapters moved.
    finished: tuple[str, ...] = ()


@dataclass(frozen=True)
class FollowUp:
    """Work that needs the audio of some jobs (indexes into the job list): it runs as
    ``fn(ctx, *args)`` as soon as all of them are cached, ahead of further synthesis.
    ``fn`` must be a module-level function and ``args`` picklable."""

    needs: tuple[int, ...]
    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    # What it holds in memory while it runs, in seconds of audio (a chapter's length):
    # follow-ups run side by side while their weights fit the backend's budget.
    weight: float = 0.0


def excerpt(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def speak(engine: Engine, job: SynthJob) -> tuple[np.ndarray, int]:
    """(int16 PCM, sample rate) of a job; the engine's own failure on this text becomes
    a ``SynthError`` that names the voice and the line."""
    try:
        return engine.synthesize(job.text, job.voice), engine.sample_rate(job.voice)
    except AudiobookError:
        raise
    except Exception as exc:
        raise SynthError(
            f"voice '{job.voice.name}' failed on \"{excerpt(job.text)}\": "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def run_one(engine: Engine, cache: AudioCache, job: SynthJob, key: str) -> None:
    pcm, rate = speak(engine, job)
    cache.put(key, pcm, rate)


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
            run_one(self.engine, self.cache, job, key)
            entry = self.cache.load(key)
            if entry is None:
                raise SynthError(f'cannot read back the audio of "{excerpt(job.text)}"')
        return entry


# An error sent back by a worker: (error class name, message, path).
Outcome = tuple[str, str, str | None]


def outcome(err: AudiobookError) -> Outcome:
    return type(err).__name__, err.message, None if err.path is None else str(err.path)


def raise_outcome(kind: str, message: str, path: str | None) -> None:
    """Raise a worker's error here as the class it was (a ``SynthError`` when the
    name is not one of ours; never ``Cancelled``, which only the caller decides)."""
    cls = getattr(errors, kind, None)
    if not (isinstance(cls, type) and issubclass(cls, AudiobookError)) or cls is Cancelled:
        cls = SynthError
    raise cls(message or "synthesis failed", path)
