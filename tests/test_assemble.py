from __future__ import annotations

import itertools
import tracemalloc
from collections.abc import Mapping

import numpy as np
import pyloudnorm
import pytest

from audiobook.assemble import (
    CEILING_DBFS,
    PAUSES,
    ChapterAudio,
    TruePeakMeter,
    assemble_chapter,
    integrated_loudness,
    limit_peaks,
    normalize_loudness,
    true_peak_dbtp,
    true_peak_envelope,
)
from audiobook.export import peak_dbfs
from audiobook.model import Chapter, Segment

RATE = 22050
CHAPTER = Chapter(index=2, title="The Long Stairs", start=0, end=100)


def seg(kind: str, text: str, paragraph: int, scene: int = 0) -> Segment:
    return Segment(kind, 0, len(text), text, chapter=2, paragraph=paragraph, scene=scene)  # type: ignore[arg-type]


def square(seconds: float, amplitude: int = 8000, rate: int = RATE) -> np.ndarray:
    """Never zero, so pauses (exact zeros) are easy to find; 200 Hz."""
    n = round(seconds * rate)
    period = rate // 200
    return np.where((np.arange(n) // (period // 2)) % 2 == 0, amplitude, -amplitude).astype(
        np.int16
    )


def runs(pcm: np.ndarray) -> list[tuple[bool, int]]:
    """(is_sound, length) runs of the signal."""
    sound = pcm != 0
    edges = np.flatnonzero(np.diff(sound.astype(np.int8))) + 1
    bounds = [0, *edges.tolist(), pcm.size]
    return [(bool(sound[a]), b - a) for a, b in itertools.pairwise(bounds)]


def samples(seconds: float) -> int:
    return round(seconds * RATE)


def assemble(segments: list[Segment], audio: Mapping[str, np.ndarray | None]) -> ChapterAudio:
    return assemble_chapter(CHAPTER, segments, lambda s: audio.get(s.text), RATE)


def test_pauses_head_and_tail() -> None:
    segments = [
        seg("heading", "H", 0),
        seg("narration", "A", 1),
        seg("dialogue", "B", 1),
        seg("narration", "C", 2),
        seg("narration", "D", 3, scene=1),
    ]
    lengths = {"H": 0.5, "A": 1.0, "B": 0.7, "C": 0.9, "D": 0.6}
    audio = {k: square(v) for k, v in lengths.items()}
    out = assemble(segments, audio)
    assert out.pcm.dtype == np.int16 and out.sample_rate == RATE
    expected = [
        (False, samples(PAUSES["head"])),
        (True, samples(0.5)),
        (False, samples(PAUSES["after_heading"])),
        (True, samples(1.0)),
        (False, samples(PAUSES["segment"])),
        (True, samples(0.7)),
        (False, samples(PAUSES["paragraph"])),
        (True, samples(0.9)),
        (False, samples(PAUSES["scene"])),
        (True, samples(0.6)),
        (False, samples(PAUSES["tail"])),
    ]
    assert runs(out.pcm) == expected
    assert out.duration == pytest.approx(sum(n for _, n in expected) / RATE)


def test_skip_and_missing_audio_add_nothing() -> None:
    segments = [
        seg("narration", "A", 1),
        seg("skip", "S", 1),
        seg("narration", "gone", 2),
        seg("narration", "empty", 2),
        seg("narration", "B", 2),
    ]
    audio = {
        "A": square(0.4),
        "S": square(5.0),  # would be heard if skip were not skipped
        "gone": None,
        "empty": np.zeros(0, np.int16),
        "B": square(0.4),
    }
    out = assemble(segments, audio)
    assert [n for sound, n in runs(out.pcm) if not sound][1] == samples(PAUSES["paragraph"])
    assert sum(n for sound, n in runs(out.pcm) if sound) == 2 * samples(0.4)


def test_chapter_without_audio_is_just_silence() -> None:
    out = assemble([seg("narration", "A", 1)], {})
    assert not out.pcm.any()
    assert out.duration == pytest.approx(PAUSES["head"] + PAUSES["tail"], abs=1e-3)


def _speechlike(seconds: float, amplitude: float) -> np.ndarray:
    """A tone with a syllable-rate envelope, so gating sees something like speech."""
    t = np.arange(round(seconds * RATE)) / RATE
    env = 0.55 + 0.45 * np.sin(2 * np.pi * 3 * t)
    x = amplitude * env * np.sin(2 * np.pi * 180 * t) + amplitude * 0.3 * np.sin(
        2 * np.pi * 1100 * t
    )
    return np.round(x * 32767).astype(np.int16)


@pytest.mark.parametrize("amplitude", [0.02, 0.3, 0.99])
def test_loudness_and_peak(amplitude: float) -> None:
    segments = [seg("narration", "A", 1), seg("dialogue", "B", 1), seg("narration", "C", 2)]
    audio = {k: _speechlike(2.0, amplitude) for k in "ABC"}
    out = assemble(segments, audio)
    x = out.pcm.astype(np.float64) / 32768
    assert pyloudnorm.Meter(RATE).integrated_loudness(x) == pytest.approx(-19.0, abs=1.0)
    assert 20 * np.log10(np.abs(x).max()) <= -3.0 + 1e-3
    head = samples(PAUSES["head"])
    assert not out.pcm[:head].any() and not out.pcm[-samples(PAUSES["tail"]) :].any()


def test_peak_wins_over_loudness_for_spiky_audio() -> None:
    spiky = np.zeros(RATE * 2, np.int16)
    spiky[::2000] = 30000  # clicks: very low loudness, full-scale peaks
    out = assemble([seg("narration", "A", 1)], {"A": spiky})
    assert np.abs(out.pcm.astype(np.int32)).max() <= round(32767 * 10 ** (-3 / 20)) + 1


def test_very_short_chapter_skips_measurement() -> None:
    out = assemble([seg("narration", "A", 1)], {"A": square(0.2, amplitude=32000)})
    peak = np.abs(out.pcm.astype(np.int32)).max()
    assert 0 < peak <= round(32767 * 10 ** (-3 / 20)) + 1


def test_other_sample_rates_are_resampled() -> None:
    segments = [seg("narration", "A", 1), seg("narration", "B", 2)]
    tone16k = square(1.0, rate=16000)

    def audio_for(s: Segment) -> tuple[np.ndarray, int] | np.ndarray:
        return (tone16k, 16000) if s.text == "A" else square(1.0)

    out = assemble_chapter(CHAPTER, segments, audio_for, RATE)
    expected = PAUSES["head"] + 1.0 + PAUSES["paragraph"] + 1.0 + PAUSES["tail"]
    assert out.duration == pytest.approx(expected, abs=2 / RATE)


@pytest.mark.parametrize("rate", [22050, 16000, 44100])
def test_chunked_loudness_matches_pyloudnorm(rate: int) -> None:
    rng = np.random.default_rng(7)
    t = np.arange(rate * 9) / rate
    x = 0.2 * np.sin(2 * np.pi * 200 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.7 * t))
    x += 0.02 * rng.standard_normal(x.size)
    x[rate * 3 : rate * 5] = 0.0  # a silent stretch the gate must drop
    reference = pyloudnorm.Meter(rate).integrated_loudness(x)
    assert integrated_loudness(x.astype(np.float32), rate) == pytest.approx(reference, abs=0.05)
    assert integrated_loudness(np.zeros(rate), rate) == float("-inf")


def test_float_audio_is_accepted() -> None:
    out = assemble([seg("narration", "A", 1)], {"A": square(1.0).astype(np.float32) / 32768})
    assert sum(n for sound, n in runs(out.pcm) if sound) == samples(1.0)


# --- segment spans, limiter ------------------------------------------------------


def test_spans_give_each_segments_place_in_the_audio() -> None:
    segments = [
        seg("heading", "H", 0),
        seg("narration", "A", 1),
        seg("skip", "S", 1),
        seg("dialogue", "B", 1),
        seg("narration", "gone", 2),
        seg("narration", "C", 3, scene=1),
    ]
    audio = {"H": square(0.5), "A": square(1.0), "S": square(2.0), "B": square(0.7)}
    audio["C"] = square(0.9)
    out = assemble(segments, audio)
    assert [s.segment.text for s in out.spans] == ["H", "A", "B", "C"]
    sound = [(a, a + n) for a, n in _starts(runs(out.pcm)) if out.pcm[a] != 0]
    assert [(s.start, s.end) for s in out.spans] == sound
    assert out.seconds(out.spans[0].start) == pytest.approx(PAUSES["head"], abs=1 / RATE)


def _starts(rs: list[tuple[bool, int]]) -> list[tuple[int, int]]:
    at, out = 0, []
    for _, n in rs:
        out.append((at, n))
        at += n
    return out


def _peaky_speech(seconds: float) -> np.ndarray:
    """Like Piper speech: a peak-to-loudness ratio over 20 dB (a quiet voice with
    sharp plosive-like bursts), so gain alone cannot meet -19 LUFS and -3 dBFS."""
    rng = np.random.default_rng(3)
    x = _speechlike(seconds, 0.05).astype(np.float64) / 32767
    for at in rng.integers(0, x.size - 200, size=int(seconds * 4)):
        x[at : at + 60] += 0.9 * np.hanning(60) * rng.choice([-1.0, 1.0])
    return np.round(np.clip(x, -1, 1) * 32767).astype(np.int16)


def test_limiter_holds_loudness_and_peak_on_peaky_speech() -> None:
    pcm = _peaky_speech(6.0)
    x = pcm.astype(np.float64) / 32768
    meter = pyloudnorm.Meter(RATE)
    # the premise: gain alone, to -19 LUFS, would put the peaks far above -3 dBFS
    assert 20 * np.log10(np.abs(x).max()) - meter.integrated_loudness(x) > 19
    out = assemble([seg("narration", "A", 1)], {"A": pcm})
    y = out.pcm.astype(np.float64) / 32768
    assert meter.integrated_loudness(y) == pytest.approx(-19.0, abs=0.3)
    assert 20 * np.log10(np.abs(y).max()) <= CEILING_DBFS + 0.01


def test_limit_peaks_only_touches_the_neighbourhood_of_peaks() -> None:
    rng = np.random.default_rng(5)
    x = np.clip(0.05 * rng.standard_normal(RATE * 3), -0.3, 0.3).astype(np.float32)
    x[RATE : RATE + RATE // 2] = 0.0  # digital silence in the middle
    x[2 * RATE + 100] = 0.99  # one peak
    before = x.copy()
    limit_peaks(x, RATE, ceiling_dbfs=-6.0)
    assert np.abs(x).max() <= 10 ** (-6 / 20) + 1e-6
    assert not x[RATE : RATE + RATE // 2].any()  # zeros stay exact zeros
    far = np.abs(np.arange(x.size) - (2 * RATE + 100)) > 0.05 * RATE
    assert np.array_equal(x[far], before[far])
    assert x[2 * RATE + 100] == pytest.approx(10 ** (-6 / 20), rel=1e-3)
    assert (np.sign(x) == np.sign(before)).all()  # a gain, never a clip or a flip


@pytest.mark.parametrize("chunk", [1000, 4096, 1 << 20])
def test_limiter_chunks_do_not_show(chunk: int) -> None:
    """Chunked processing gives the same gain as doing it in one piece."""
    x = (_peaky_speech(3.0).astype(np.float32) / 32768) * 8
    whole, parts = x.copy(), x.copy()
    limit_peaks(whole, RATE, chunk=x.size + 1)
    limit_peaks(parts, RATE, chunk=chunk)
    np.testing.assert_allclose(parts, whole, atol=1e-6)


def test_int16_levelling_matches_float_levelling() -> None:
    """An int16 chapter is levelled in place a piece at a time; the result is the
    float levelling's, rounded."""
    pcm = np.concatenate([_peaky_speech(4.0), np.zeros(RATE, dtype=np.int16), _peaky_speech(3.0)])
    x = pcm.astype(np.float32) * np.float32(1 / 32768)
    normalize_loudness(x, RATE, pcm.size)
    normalize_loudness(pcm, RATE, pcm.size)
    expected = np.clip(np.round(x * np.float32(32768)), -32768, 32767)
    assert np.abs(pcm.astype(np.float64) - expected).max() <= 1.0
    assert 20 * np.log10(np.abs(pcm).max() / 32768) <= CEILING_DBFS + 0.01


def test_a_long_chapter_is_held_in_int16_not_float() -> None:
    """Memory per sample while assembling and levelling a chapter: its int16 parts,
    the int16 mix and 2-byte working arrays (was ~16 bytes a sample with float32)."""
    part = _peaky_speech(10.0)
    segments = [seg("narration", str(i), i) for i in range(30)]  # 5 minutes
    tracemalloc.start()
    try:
        out = assemble_chapter(CHAPTER, segments, lambda s: part.copy(), RATE)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak / out.pcm.size < 11


def test_limiter_holds_the_true_peak_between_samples() -> None:
    """A quarter-rate tone sampled at 45 degrees: every sample is at 0.707 of the wave's
    crest, so the sample peak hides 3 dB; the true peak must not."""
    n = np.arange(RATE)
    fade = np.minimum(1.0, np.minimum(n, n[::-1]) / 2000)  # no ringing at abrupt ends
    x = (0.9 * fade * np.sin(2 * np.pi * n / 4 + np.pi / 4)).astype(np.float32)
    assert peak_dbfs(x) < -3.9 and true_peak_dbtp(x) == pytest.approx(20 * np.log10(0.9), abs=0.1)
    limit_peaks(x, RATE, -6.0)
    assert true_peak_dbtp(x) <= -6.0 + 0.1
    assert peak_dbfs(x) < -8.5  # held down by what lies between the samples


def test_true_peak_meter_is_the_same_in_pieces() -> None:
    x = np.random.default_rng(3).standard_normal(5000).astype(np.float32) * 0.2
    meter = TruePeakMeter()
    for a, b in itertools.pairwise([0, 7, 8, 900, 2500, 5000]):
        meter.add(x[a:b])
    assert meter.dbtp() == pytest.approx(true_peak_dbtp(x), abs=1e-6)
    env = true_peak_envelope((x * 32767).astype(np.int16), chunk=1000)
    assert 20 * np.log10(env.max() / 32768) == pytest.approx(true_peak_dbtp(x), abs=0.01)
