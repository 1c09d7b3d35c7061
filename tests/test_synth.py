from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from audiobook.engine import ToneEngine
from audiobook.errors import Cancelled, ExportError, SynthError, VoiceError
from audiobook.synth import (
    AudioCache,
    FollowUp,
    SynthContext,
    SynthJob,
    SynthProgress,
    default_cache_dir,
    job_key,
    job_keys,
    local,
    synthesize,
)
from audiobook.synth.cache import cache_max_bytes
from audiobook.synth.jobs import speech_seconds
from audiobook.synth.local import BATCH_COST, BATCH_JOBS, FOLLOWUP_BUDGET, batches
from audiobook.synth.plan import Plan
from audiobook.voices import Voice


@pytest.fixture
def voice(tmp_path: Path) -> Voice:
    model = tmp_path / "m.onnx"
    model.write_bytes(b"model bytes")
    config = tmp_path / "m.onnx.json"
    config.write_text('{"audio": {"sample_rate": 22050}}', encoding="utf-8")
    return Voice("v", model, config)


@pytest.fixture
def cache(tmp_path: Path) -> AudioCache:
    return AudioCache(tmp_path / "cache")


class Counting:
    """Counts real ToneEngine calls (the engine still produces its audio)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fail_on: str | None = None) -> None:
        self.texts: list[str] = []
        original = ToneEngine.synthesize

        def wrapped(engine: ToneEngine, text: str, voice: Voice) -> np.ndarray:
            self.texts.append(text)
            if fail_on is not None and fail_on in text:
                raise RuntimeError("model exploded")
            return original(engine, text, voice)

        monkeypatch.setattr(ToneEngine, "synthesize", wrapped)


def samples_of(cache: AudioCache, key: str) -> int:
    pcm = cache.get(key)
    assert pcm is not None
    return pcm.size


def cache_files(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


LINES = [
    "The ferry was late again.",
    "Nobody on the pier seemed surprised.",
    "A gull argued with a child over a sandwich.",
    "The ferry was late again.",  # duplicate
    "",
]


def jobs_for(voice: Voice) -> list[SynthJob]:
    return [SynthJob(t, voice) for t in LINES]


# --- keys and cache -----------------------------------------------------------


def test_job_key_changes_with_everything_that_changes_audio(voice: Voice) -> None:
    eng = ToneEngine()
    base = job_key(SynthJob("Hi there.", voice), eng)
    assert base == job_key(SynthJob("Hi there.", replace(voice, name="alias")), eng)
    variants = [
        SynthJob("Hi there!", voice),
        SynthJob("Hi there.", replace(voice, pitch=1.0)),
        SynthJob("Hi there.", replace(voice, tempo=1.1)),
        SynthJob("Hi there.", replace(voice, speaker_id=3)),
        SynthJob("Hi there.", replace(voice, noise_scale=0.3)),
        SynthJob("Hi there.", replace(voice, noise_w=0.3)),
    ]
    keys = {job_key(j, eng) for j in variants}
    assert len(keys) == len(variants) and base not in keys
    voice.config.write_text('{"audio": {"sample_rate": 22050}, "x": 1}', encoding="utf-8")
    assert job_key(SynthJob("Hi there.", voice), eng) != base


def test_job_key_is_stable_across_processes(voice: Voice) -> None:
    here = job_key(SynthJob("Same words.", voice), ToneEngine())
    code = (
        "from pathlib import Path\n"
        "from audiobook.engine import ToneEngine\n"
        "from audiobook.synth import SynthJob, job_key\n"
        "from audiobook.voices import Voice\n"
        f"v = Voice('other', Path({str(voice.model)!r}), Path({str(voice.config)!r}))\n"
        "print(job_key(SynthJob('Same words.', v), ToneEngine()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == here


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AUDIOBOOK_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("AUDIOBOOK_CACHE_DIR")
    assert "audiobook" in str(default_cache_dir())


def test_cache_roundtrip_and_damage(cache: AudioCache) -> None:
    pcm = np.array([0, 1, -1, 32767, -32768, 1234], dtype=np.int16)
    key = "ab" + "0" * 62
    assert cache.get(key) is None and not cache.has(key)
    cache.put(key, pcm, 16000)
    got = cache.get(key)
    assert got is not None and got.dtype == np.int16 and np.array_equal(got, pcm)
    assert cache.load(key) is not None and cache.load(key)[1] == 16000  # type: ignore[index]
    assert cache.has(key)
    assert not list(cache.root.rglob("*.part"))
    path = cache.path(key)
    data = path.read_bytes()
    path.write_bytes(data[:-3])  # truncated
    assert cache.get(key) is None and not cache.has(key)
    path.write_bytes(data[:-2] + b"\x00\x7f")  # same length, corrupt sample
    assert cache.get(key) is None
    path.write_bytes(b"garbage")
    assert cache.get(key) is None
    cache.put(key, np.zeros(0, np.int16), 22050)  # empty audio is a valid entry
    assert cache.get(key) is not None and cache.get(key).size == 0  # type: ignore[union-attr]


# --- synthesize in-process ----------------------------------------------------


def test_synthesize_caches_each_distinct_job_once(
    voice: Voice, cache: AudioCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = Counting(monkeypatch)
    reports: list[SynthProgress] = []
    keys = synthesize(jobs_for(voice), engine="tone", cache=cache, on_progress=reports.append)
    assert len(keys) == 5 and keys[0] == keys[3] and len(set(keys)) == 4
    assert sorted(calls.texts) == sorted(set(LINES))  # the duplicate was made once
    for key, text in zip(keys, LINES, strict=True):
        pcm = cache.get(key)
        assert pcm is not None
        assert np.array_equal(pcm, ToneEngine().synthesize(text, voice))
    first, last = reports[0], reports[-1]
    assert (first.done_jobs, first.cache_hits, first.total_jobs) == (0, 0, 4)
    assert last.done_jobs == last.total_jobs == 4
    assert last.done_chars == last.total_chars == sum(len(t) for t in set(LINES))
    assert [r.done_jobs for r in reports] == sorted(r.done_jobs for r in reports)


def test_second_run_is_all_hits_and_calls_nothing(
    voice: Voice, cache: AudioCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = synthesize(jobs_for(voice), engine="tone", cache=cache)
    calls = Counting(monkeypatch)
    reports: list[SynthProgress] = []
    again = synthesize(jobs_for(voice), engine="tone", cache=cache, on_progress=reports.append)
    assert again == keys
    assert calls.texts == []
    assert reports[-1].cache_hits == reports[-1].total_jobs == reports[-1].done_jobs == 4


def test_corrupt_entry_is_remade(
    voice: Voice, cache: AudioCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = synthesize(jobs_for(voice), engine="tone", cache=cache)
    good = cache.path(keys[1]).read_bytes()
    cache.path(keys[1]).write_bytes(good[: len(good) // 2])
    calls = Counting(monkeypatch)
    synthesize(jobs_for(voice), engine="tone", cache=cache)
    assert calls.texts == [LINES[1]]
    assert cache.path(keys[1]).read_bytes() == good


def test_cancel_before_start_and_midway(
    voice: Voice, cache: AudioCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        synthesize(jobs_for(voice), engine="tone", cache=cache, cancel=stop)
    assert not cache.root.exists() or not list(cache.root.rglob("*.pcm"))

    stop.clear()
    calls = Counting(monkeypatch)

    def stop_after_first(p: SynthProgress) -> None:
        if p.done_jobs >= 1:
            stop.set()

    with pytest.raises(Cancelled):
        synthesize(
            jobs_for(voice), engine="tone", cache=cache, cancel=stop, on_progress=stop_after_first
        )
    assert len(calls.texts) == 1
    assert len(list(cache.root.rglob("*.pcm"))) == 1  # finished work is kept


def test_engine_failure_names_voice_and_text(
    voice: Voice, cache: AudioCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    Counting(monkeypatch, fail_on="gull")
    with pytest.raises(SynthError) as info:
        synthesize(jobs_for(voice), engine="tone", cache=cache)
    msg = str(info.value)
    assert "voice 'v'" in msg and "A gull argued" in msg and "model exploded" in msg


# --- the process pool ---------------------------------------------------------


def test_pool_gives_same_cache_as_in_process(voice: Voice, tmp_path: Path) -> None:
    jobs = [
        SynthJob(f"Line number {i} of the test, {'long ' * (i % 4)}enough.", voice)
        for i in range(9)
    ]
    jobs += jobs_for(voice)
    one = AudioCache(tmp_path / "one")
    two = AudioCache(tmp_path / "two")
    keys1 = synthesize(jobs, engine="tone", cache=one, workers=1)
    reports: list[SynthProgress] = []
    keys2 = synthesize(jobs, engine="tone", cache=two, workers=2, on_progress=reports.append)
    assert keys1 == keys2
    assert cache_files(one.root) == cache_files(two.root)
    assert not list(two.root.rglob("*.part"))
    assert reports[-1].done_jobs == reports[-1].total_jobs == len(set(keys1))


def test_pool_cancel_raises_cancelled(voice: Voice, cache: AudioCache) -> None:
    jobs = [SynthJob(f"Sentence {i} for cancelling.", voice) for i in range(40)]
    stop = threading.Event()

    def stop_soon(p: SynthProgress) -> None:
        if p.done_jobs >= 2:
            stop.set()

    with pytest.raises(Cancelled):
        synthesize(jobs, engine="tone", cache=cache, workers=2, cancel=stop, on_progress=stop_soon)
    done = len(list(cache.root.rglob("*.pcm")))
    assert 2 <= done < 40


def test_pool_reports_voice_errors(tmp_path: Path, cache: AudioCache) -> None:
    ghost = Voice("ghost", tmp_path / "nowhere.onnx", tmp_path / "nowhere.onnx.json")
    jobs = [SynthJob("One.", ghost), SynthJob("Two words.", ghost)]
    with pytest.raises(VoiceError, match="ghost") as info:
        synthesize(jobs, engine="piper", cache=cache, workers=2)
    assert info.value.path == tmp_path / "nowhere.onnx"


# --- follow-ups ---------------------------------------------------------------


def record_followup(ctx: SynthContext, name: str, keys: list[str]) -> tuple[str, int, int]:
    """A follow-up: reads its jobs' audio back (as an export would); returns its name,
    the samples it found and this process's id."""
    samples = 0
    for key in keys:
        entry = ctx.cache.load(key)
        assert entry is not None, "a follow-up ran before its audio was cached"
        samples += entry[0].size
    return name, samples, os.getpid()


def failing_followup(ctx: SynthContext) -> None:
    raise ExportError("disk full", "/nowhere/out.mp3")


def env_followup(ctx: SynthContext, name: str) -> tuple[str | None, str]:
    return os.environ.get(name), os.getcwd()


def test_followups_run_as_soon_as_their_jobs_are_done(
    voice: Voice, cache: AudioCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process the order is exact: a follow-up runs right after its own jobs and
    before any job it does not need (a chapter is encoded while later ones wait)."""
    calls = Counting(monkeypatch)
    order: list[str] = []
    first = [SynthJob(f"First chapter line {i}.", voice) for i in range(3)]
    second = [SynthJob(f"Second chapter line number {i}.", voice) for i in range(3)]
    jobs = first + second
    keys = job_keys(jobs, "tone")

    def on_followup(n: int, result: tuple[str, int, int]) -> None:
        order.append(f"{result[0]} after {len(calls.texts)} lines")

    followups = [
        FollowUp((0, 1, 2), record_followup, ("one", keys[:3])),
        FollowUp((3, 4, 5), record_followup, ("two", keys[3:])),
    ]
    synthesize(jobs, engine="tone", cache=cache, followups=followups, on_followup=on_followup)
    assert order == ["one after 3 lines", "two after 6 lines"]
    # longest first within a chapter
    assert calls.texts[:3] == sorted(calls.texts[:3], key=len, reverse=True)


def test_followups_in_the_pool_and_when_everything_is_cached(
    voice: Voice, cache: AudioCache
) -> None:
    jobs = [SynthJob(f"Pool line {i}, {'and more ' * (i % 5)}words.", voice) for i in range(30)]
    keys = job_keys(jobs, "tone")
    followups = [
        FollowUp(tuple(range(n, 30, 3)), record_followup, (f"f{n}", keys[n::3])) for n in range(3)
    ]
    results: dict[int, tuple[str, int, int]] = {}
    synthesize(
        jobs,
        engine="tone",
        cache=cache,
        workers=2,
        followups=followups,
        on_followup=results.__setitem__,
    )
    assert sorted(results) == [0, 1, 2]
    expected = {n: sum(samples_of(cache, k) for k in keys[n::3]) for n in range(3)}
    assert {n: r[1] for n, r in results.items()} == expected
    assert all(r[2] != os.getpid() for r in results.values())  # ran in the workers
    again: dict[int, tuple[str, int, int]] = {}
    synthesize(
        jobs,
        engine="tone",
        cache=cache,
        workers=2,
        followups=followups,
        on_followup=again.__setitem__,
    )
    assert again.keys() == results.keys()  # nothing to synthesize: follow-ups still run


@pytest.mark.parametrize("workers", [1, 2])
def test_followup_errors_keep_their_class(voice: Voice, cache: AudioCache, workers: int) -> None:
    jobs = [SynthJob(f"Line {i} before the failing export.", voice) for i in range(4)]
    with pytest.raises(ExportError, match="disk full") as info:
        synthesize(
            jobs,
            engine="tone",
            cache=cache,
            workers=workers,
            followups=[FollowUp((0, 1, 2, 3), failing_followup)],
        )
    assert info.value.path == Path("/nowhere/out.mp3")


def test_workers_see_the_parents_current_environment_and_folder(
    voice: Voice, cache: AudioCache, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Workers fork from a long-lived server: they must not keep its old environment
    (the cache and voice folders come from it)."""
    jobs = [SynthJob(f"Environment line {i}.", voice) for i in range(6)]
    synthesize(jobs, engine="tone", cache=cache, workers=2)  # the server is running now
    monkeypatch.setenv("AUDIOBOOK_TEST_MARK", "set after the server started")
    monkeypatch.chdir(tmp_path)
    got: list[tuple[str | None, str]] = []
    synthesize(
        [SynthJob(f"Another environment line {i}.", voice) for i in range(6)],
        engine="tone",
        cache=cache,
        workers=2,
        followups=[FollowUp((0,), env_followup, ("AUDIOBOOK_TEST_MARK",))],
        on_followup=lambda n, r: got.append(r),
    )
    assert got == [("set after the server started", str(tmp_path))]


def test_pool_starts_when_stderr_has_no_file_descriptor(tmp_path: Path) -> None:
    """Under Textual sys.stderr is a capture whose fileno() is -1; starting the pool's
    helper processes used to fail with "bad value(s) in fds_to_keep"."""
    code = f"""
import io, sys
from pathlib import Path
from audiobook.synth import AudioCache, SynthJob, synthesize
from audiobook.voices import Voice

class Capture(io.StringIO):
    def fileno(self):
        return -1

if __name__ == "__main__":
    sys.stderr = Capture()
    v = Voice("v", Path({str(tmp_path / "m.onnx")!r}), Path({str(tmp_path / "m.onnx.json")!r}))
    jobs = [SynthJob(f"Line {{i}} without a terminal.", v) for i in range(8)]
    cache = AudioCache(Path({str(tmp_path / "c")!r}))
    keys = synthesize(jobs, engine="tone", cache=cache, workers=2)
    print(len(set(keys)))
"""
    script = tmp_path / "no_fd.py"
    script.write_text(code, encoding="utf-8")
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "8"
    assert len(list((tmp_path / "c").rglob("*.pcm"))) == 8


def test_short_jobs_are_batched_and_long_ones_go_first(voice: Voice) -> None:
    short = [(f"k{i}", SynthJob("Short.", voice)) for i in range(30)]
    long = [("long", SynthJob("A much longer line " * 30, voice))]
    tasks = batches(long + short, BATCH_COST, workers=2)
    assert tasks[0] == long  # alone: longer than a batch
    assert sum(len(b) for b in tasks) == 31
    assert all(len(b) <= BATCH_JOBS for b in tasks)
    assert len(tasks[1]) > 3 and len(tasks) < 20  # short lines share tasks...
    assert [len(b) for b in tasks[-4:]] == [1, 1, 1, 1]  # ...but the last go alone
    many = [(f"m{i}", SynthJob("Short.", voice)) for i in range(200)]
    assert max(len(b) for b in batches(many, BATCH_COST, workers=2)) == BATCH_JOBS
    high = SynthJob("Same text.", replace(voice, pitch=9.0))
    # synthesized longer
    assert speech_seconds(high) > speech_seconds(SynthJob("Same text.", voice))


# --- cache size ---------------------------------------------------------------


def _age(cache: AudioCache, key: str, seconds_ago: float) -> None:
    t = time.time() - seconds_ago
    os.utime(cache.path(key), (t, t))


def test_prune_removes_least_recently_used_first_and_keeps_what_is_in_use(
    cache: AudioCache,
) -> None:
    pcm = np.zeros(1000, np.int16)  # 2000 bytes + header each
    keys = [f"{i:02x}" + "0" * 62 for i in range(6)]
    for n, key in enumerate(keys):
        cache.put(key, pcm, 22050)
        _age(cache, key, 1000 - n * 100)  # keys[0] is the oldest
    cache.load(keys[1])  # used just now: the most recent
    size = cache.path(keys[0]).stat().st_size
    assert cache.stats().entries == 6 and cache.stats().bytes == 6 * size
    removed, freed = cache.prune(3 * size, keep={keys[0]})
    assert (removed, freed) == (3, 3 * size)
    left = {k for k in keys if cache.has(k)}
    assert left == {keys[0], keys[1], keys[5]}  # kept, just used, newest
    # A writer killed mid-write leaves a .part: old ones go, recent ones may be live.
    stale = cache.path(keys[5]).with_name("x.pcm.123.abcd.part")
    fresh = cache.path(keys[5]).with_name("y.pcm.456.abcd.part")
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    assert cache.stats().parts == 2
    cache.prune(10 * size)
    assert not stale.exists() and fresh.exists()


def test_clear_removes_only_cached_speech(cache: AudioCache) -> None:
    for i in range(3):
        cache.put(f"{i:02x}" + "1" * 62, np.ones(10, np.int16), 22050)
    other = cache.root / "voice-levels.json"
    other.write_text("{}", encoding="utf-8")
    assert cache.clear() == (3, 3 * cache_entry_size(10))
    assert cache.stats().entries == 0 and other.exists()


def cache_entry_size(samples: int) -> int:
    return 24 + 2 * samples


def test_cache_cap_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDIOBOOK_CACHE_MAX_MB", raising=False)
    assert cache_max_bytes() == 10240 * 2**20
    monkeypatch.setenv("AUDIOBOOK_CACHE_MAX_MB", "1.5")
    assert cache_max_bytes() == int(1.5 * 2**20)
    monkeypatch.setenv("AUDIOBOOK_CACHE_MAX_MB", "0")
    assert cache_max_bytes() is None
    monkeypatch.setenv("AUDIOBOOK_CACHE_MAX_MB", "lots")
    assert cache_max_bytes() == 10240 * 2**20


def timed_followup(ctx: SynthContext, seconds: float) -> tuple[float, float]:
    start = time.monotonic()  # CLOCK_MONOTONIC: comparable across processes on Linux
    time.sleep(seconds)
    return start, time.monotonic()


@pytest.mark.parametrize("weight", [0.0, FOLLOWUP_BUDGET])
def test_followups_run_side_by_side_only_within_the_memory_budget(
    voice: Voice, cache: AudioCache, weight: float
) -> None:
    jobs = [SynthJob(f"Budget line {i}.", voice) for i in range(4)]
    spans: list[tuple[float, float]] = []
    synthesize(
        jobs,
        engine="tone",
        cache=cache,
        workers=2,
        followups=[FollowUp((), timed_followup, (1.0,), weight=weight) for _ in range(3)],
        on_followup=lambda n, span: spans.append(span),
    )
    spans.sort()
    overlaps = [a[1] > b[0] for a, b in itertools.pairwise(spans)]
    assert len(spans) == 3
    assert any(overlaps) if weight == 0.0 else not any(overlaps)


def test_the_last_followups_jobs_are_run_together(voice: Voice, cache: AudioCache) -> None:
    """Chapter by chapter, except that the last two chapters' lines are mixed (longest
    first), so both chapters finish together and are encoded side by side."""
    jobs = [
        SynthJob(f"Chapter {c} line {'x' * (i * 7 + c)}.", voice)
        for c in range(3)
        for i in range(3)
    ]
    keys = job_keys(jobs, "tone")
    followups = [FollowUp(tuple(range(c * 3, c * 3 + 3)), record_followup) for c in range(3)]
    plan = Plan.make(jobs, keys, engine="tone", cache=cache, followups=followups)
    chapter = {k: n // 3 for n, k in enumerate(keys)}
    in_order = plan.queue(together=1, longest_first=True)
    assert [chapter[k] for k, _ in in_order] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    mixed = [chapter[k] for k, _ in plan.queue(together=2, longest_first=True)]
    assert mixed[:3] == [0, 0, 0] and mixed[3:] == [2, 1, 2, 1, 2, 1]


class _ReleasingTone(ToneEngine):
    """A tone engine that notes each release (the real one drops Piper's models)."""

    released = 0

    def release(self) -> None:
        self.released += 1


def test_a_chapter_export_in_a_pool_worker_runs_without_the_synthesis_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _ReleasingTone()
    ctx = SynthContext(engine, AudioCache(tmp_path / "cache"), pooled=True)
    monkeypatch.setattr(local, "_WORKER", ctx)
    seen: list[int] = []
    result, err = local._follow(lambda c: seen.append(c.engine.released) or "done", ())
    assert (result, err) == ("done", None)
    assert seen == [1]  # released before the export ran
    assert engine.released == 2  # and again after (the levelled chapter's heap)
    monkeypatch.setattr(local, "_WORKER", replace(ctx, pooled=False))
    local._follow(lambda c: None, ())
    assert engine.released == 2  # in-process: nothing to give back


def test_a_pool_worker_reloads_its_models_when_its_memory_has_crept_up(
    voice: Voice, cache: AudioCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _ReleasingTone()
    monkeypatch.setattr(local, "_WORKER", SynthContext(engine, cache, pooled=True))
    job = SynthJob("A line to speak.", voice)
    batch = [(job_key(job, engine), job)]
    monkeypatch.setattr(local, "RELOAD_ABOVE_MB", 1e9)
    assert local._work(batch) == ([batch[0][0]], None)
    assert engine.released == 0
    monkeypatch.setattr(local, "RELOAD_ABOVE_MB", 1)  # any process is above 1 MB
    local._work(batch)
    assert engine.released == 1
