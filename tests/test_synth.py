from __future__ import annotations

import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from audiobook.engine import ToneEngine
from audiobook.errors import Cancelled, SynthError, VoiceError
from audiobook.synth import (
    AudioCache,
    SynthJob,
    SynthProgress,
    default_cache_dir,
    job_key,
    synthesize,
)
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
