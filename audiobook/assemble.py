"""One chapter's segments -> one stretch of PCM with our pauses, loudness and markers.

Level: every chapter is brought to -19 LUFS integrated (BS.1770) with its sample peak
under -3 dBFS. Piper speech has a peak-to-loudness ratio of ~22 dB, so gain alone cannot
do both: a look-ahead peak limiter takes the few loud peaks down (about 7 dB on Piper
voices), then the gain is corrected and the limiter run again until the loudness holds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from math import gcd
from typing import TypeAlias

import numpy as np

from audiobook.model import Chapter, Segment

# Seconds of digital silence. All pause lengths live here so they are tuned together.
PAUSES: dict[str, float] = {
    "head": 0.75,  # before the first words of a chapter
    "after_heading": 1.2,  # after a spoken chapter heading
    "segment": 0.25,  # between segments of one paragraph (narration <-> dialogue)
    "paragraph": 0.6,  # between paragraphs
    "scene": 2.0,  # at a scene break
    "tail": 2.0,  # after the last words
}

TARGET_LUFS = -19.0
PEAK_DBFS = -3.0  # the promise, measured on the decoded file
# Where the limiter puts the peaks: MP3/AAC encoding adds overshoot (measured up to
# ~0.7 dB on Piper speech at 64 kbps), so leave more than that below PEAK_DBFS.
CEILING_DBFS = -4.5
LOUDNESS_TOLERANCE = 0.2  # LU: how close the gain/limit loop must land
LIMITER_HOLD = 0.02  # s the gain stays down around a peak: longer than a pitch period
LIMITER_RAMP = 0.02  # s of each gain ramp (half the smoothing window)
MIN_MEASURE_SECONDS = 0.4  # BS.1770 gating blocks are 400 ms: shorter can't be measured
MAX_GAIN_DB = 30.0  # never boost a near-silent chapter into noise

# What ``audio_for`` returns: int16 at the chapter rate, or (int16, its own rate).
AudioSource: TypeAlias = np.ndarray | tuple[np.ndarray, int] | None


@dataclass
class Marker:
    """One CHAP frame."""

    title: str
    start_ms: int
    end_ms: int


@dataclass
class SegmentSpan:
    """Where one segment's audio lies in the chapter, in samples (end exclusive):
    what subtitles and a follow-along view need."""

    segment: Segment
    start: int
    end: int


@dataclass
class ChapterAudio:
    pcm: np.ndarray  # int16 mono
    sample_rate: int
    markers: list[Marker]
    spans: list[SegmentSpan] = field(default_factory=list)  # in order, never overlapping

    @property
    def duration(self) -> float:
        return len(self.pcm) / self.sample_rate

    def seconds(self, sample: int) -> float:
        return sample / self.sample_rate


def resample(pcm: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Audio from one rate to another (exact rational polyphase); float32 out."""
    if from_rate == to_rate or pcm.size == 0:
        return pcm
    from scipy.signal import resample_poly

    g = gcd(from_rate, to_rate)
    return np.asarray(resample_poly(pcm, to_rate // g, from_rate // g), dtype=np.float32)


def _pause_before(seg: Segment, prev: Segment) -> float:
    if seg.scene != prev.scene:
        return PAUSES["scene"]
    if prev.kind == "heading":
        return PAUSES["after_heading"]
    if seg.paragraph != prev.paragraph:
        return PAUSES["paragraph"]
    return PAUSES["segment"]


def _as_pcm(audio: AudioSource, sample_rate: int) -> np.ndarray:
    """1-D audio at ``sample_rate``: int16 as given, or float32 in int16 units when it
    had to be resampled (``audio_for`` may give ``(pcm, its_rate)``)."""
    if audio is None:
        return np.zeros(0, dtype=np.int16)
    pcm, rate = audio if isinstance(audio, tuple) else (audio, sample_rate)
    x = np.asarray(pcm).reshape(-1)
    if np.issubdtype(x.dtype, np.floating):  # tolerate float audio in [-1, 1]
        x = x.astype(np.float32) * np.float32(32768)
    if x.size == 0 or int(rate) == sample_rate:
        return x
    return resample(x.astype(np.float32), int(rate), sample_rate)


def _k_weighting(rate: int) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """BS.1770 K-weighting as pyloudnorm's Meter builds it: (b, a, gain) per stage."""
    from pyloudnorm.iirfilter import IIRfilter

    stages = [
        IIRfilter(4.0, 1 / np.sqrt(2), 1500.0, rate, "high_shelf"),
        IIRfilter(0.0, 0.5, 38.0, rate, "high_pass"),
    ]
    return [(np.asarray(f.b), np.asarray(f.a), float(f.passband_gain)) for f in stages]


def integrated_loudness(x: np.ndarray, rate: int) -> float:
    """Integrated loudness (LUFS) of mono float audio in [-1, 1].

    The same filters and gating as ``pyloudnorm.Meter(rate).integrated_loudness``, but
    filtered in chunks: pyloudnorm makes float64 copies of the whole signal, ~8x a
    chapter's size in memory (over 2 GB for an hour)."""
    from scipy.signal import lfilter

    hop = round(0.1 * rate)  # 400 ms blocks overlapping by 75 %
    n_hops = x.size // hop
    if n_hops < 4:
        return float("-inf")
    stages = _k_weighting(rate)
    states = [np.zeros(max(len(a), len(b)) - 1) for b, a, _ in stages]
    hop_energy = np.empty(n_hops)
    chunk = hop * 256
    for start in range(0, n_hops * hop, chunk):
        y: np.ndarray = x[start : min(start + chunk, n_hops * hop)].astype(np.float64)
        for i, (b, a, gain) in enumerate(stages):
            y, states[i] = lfilter(b, a, y, zi=states[i])
            if gain != 1.0:
                y *= gain
        first = start // hop
        hop_energy[first : first + y.size // hop] = np.square(y).reshape(-1, hop).sum(axis=1)
    window = np.lib.stride_tricks.sliding_window_view(hop_energy, 4)
    z = window.sum(axis=1) / (4 * hop)
    with np.errstate(divide="ignore"):
        block_lufs = -0.691 + 10 * np.log10(z)
    gated = z[block_lufs >= -70.0]
    if gated.size == 0:
        return float("-inf")
    relative = -0.691 + 10 * np.log10(gated.mean()) - 10.0
    final = z[(block_lufs > relative) & (block_lufs > -70.0)]
    if final.size == 0:
        return float("-inf")
    return float(-0.691 + 10 * np.log10(final.mean()))


def _limiter_gain(
    x: np.ndarray, lo: int, hi: int, ceiling: float, hold: int, ramp: int
) -> np.ndarray | None:
    """Gain for ``x[lo:hi]`` that keeps every sample within ``ceiling``, or None when
    nothing there needs it.

    Per-sample need g = min(1, ceiling/|x|); a running minimum over +-``hold`` then a
    moving average over +-``ramp`` (ramp <= hold) gives a smooth gain that is, at every
    sample, <= that sample's need: each averaged minimum spans the sample itself."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    margin = hold + ramp + 1
    a, b = max(0, lo - margin), min(x.size, hi + margin)
    mag = np.abs(x[a:b], dtype=np.float32)
    if not (mag > ceiling).any():
        return None
    need = np.minimum(np.float32(1.0), np.float32(ceiling) / np.maximum(mag, np.float32(1e-9)))
    held = minimum_filter1d(need, size=2 * hold + 1, mode="nearest")
    smooth = uniform_filter1d(held.astype(np.float64), size=2 * ramp + 1, mode="nearest")
    gain = np.minimum(smooth[lo - a : hi - a], need[lo - a : hi - a]).astype(np.float32)
    return gain


def limit_peaks(
    x: np.ndarray, sample_rate: int, ceiling_dbfs: float = CEILING_DBFS, chunk: int = 1 << 20
) -> np.ndarray:
    """Look-ahead peak limiter, in place on float audio in [-1, 1]: afterwards no sample
    is above ``ceiling_dbfs``. Exact zeros stay exact zeros (the gain only multiplies).

    Works in chunks so a long chapter is not copied whole; a chunk's gain is applied
    only after the next chunk's gain is computed, because each looks a little way
    into its neighbours and must see the original samples there."""
    ceiling = 10 ** (ceiling_dbfs / 20)
    hold = max(1, round(LIMITER_HOLD * sample_rate))
    ramp = max(1, min(hold, round(LIMITER_RAMP * sample_rate)))
    pending: tuple[int, int, np.ndarray] | None = None
    for lo in range(0, x.size, chunk):
        hi = min(x.size, lo + chunk)
        gain = _limiter_gain(x, lo, hi, ceiling, hold, ramp)
        if pending is not None:
            a, b, g = pending
            x[a:b] *= g
        pending = None if gain is None else (lo, hi, gain)
    if pending is not None:
        a, b, g = pending
        x[a:b] *= g
    return x


def normalize_loudness(
    x: np.ndarray, sample_rate: int, speech_samples: int, ceiling_dbfs: float = CEILING_DBFS
) -> np.ndarray:
    """Scale float audio in place to -19 LUFS integrated with no sample above the limiter
    ceiling. Chapters with under 0.4 s of speech are only peak-limited: BS.1770 cannot
    measure them."""
    if x.size == 0:
        return x
    limit = 10 ** (ceiling_dbfs / 20)
    if speech_samples < MIN_MEASURE_SECONDS * sample_rate:
        peak = max(float(x.max()), -float(x.min()))
        if peak > limit:
            x *= np.float32(limit / peak)
        return x
    # Gain up, limit, measure, repeat. Limiting takes back part of each step, so the
    # next step is scaled by how much of the last one survived (a secant step): three
    # measurements usually land within 0.1 LU where plain steps needed six.
    boost = 0.0  # dB applied so far; never past MAX_GAIN_DB (no boosting noise)
    survived = 1.0  # LU gained per dB of gain in the last step
    loudness = integrated_loudness(x, sample_rate)
    for _ in range(6):
        if not np.isfinite(loudness) or abs(TARGET_LUFS - loudness) <= LOUDNESS_TOLERANCE / 2:
            break
        step = min((TARGET_LUFS - loudness) / survived, MAX_GAIN_DB - boost)
        if step <= 0 < TARGET_LUFS - loudness:
            break  # at the gain cap
        x *= np.float32(10 ** (step / 20))
        boost += step
        limit_peaks(x, sample_rate, ceiling_dbfs)
        before, loudness = loudness, integrated_loudness(x, sample_rate)
        survived = min(1.0, max(0.2, (loudness - before) / step)) if step else 1.0
    if boost == 0.0:  # no step taken (already at target, or unmeasurable): still limit
        limit_peaks(x, sample_rate, ceiling_dbfs)
    return x


def assemble_chapter(
    chapter: Chapter,
    segments: Sequence[Segment],
    audio_for: Callable[[Segment], AudioSource],
    sample_rate: int,
    ceiling_dbfs: float = CEILING_DBFS,
) -> ChapterAudio:
    """Join a chapter's segments (in order) with pauses; skip segments and segments
    without audio add nothing, not even a pause. Levels: see ``normalize_loudness``.

    ``audio_for`` returns int16 at ``sample_rate``, ``(int16, its_rate)``, or None."""
    # First collect (offset, audio); then fill one preallocated buffer, so a long
    # chapter is held about twice (int16 parts + float32 mix), not five times.
    placed: list[tuple[int, np.ndarray]] = []
    pos = round(PAUSES["head"] * sample_rate)
    speech = 0
    # (first sample of a scene's speech, sample where the pause before it began)
    scene_starts: list[tuple[int, int]] = []
    spans: list[SegmentSpan] = []
    prev: Segment | None = None
    for seg in segments:
        if seg.kind == "skip":
            continue
        pcm = _as_pcm(audio_for(seg), sample_rate)
        if pcm.size == 0:
            continue
        pause_start = pos
        if prev is not None:
            pos += round(_pause_before(seg, prev) * sample_rate)
        if prev is None or seg.scene != prev.scene:
            scene_starts.append((pos, pause_start))
        placed.append((pos, pcm))
        spans.append(SegmentSpan(seg, pos, pos + pcm.size))
        pos += pcm.size
        speech += pcm.size
        prev = seg
    total = pos + round(PAUSES["tail"] * sample_rate)
    mix = np.zeros(total, dtype=np.float32)
    for at, pcm in placed:
        mix[at : at + pcm.size] = pcm
    del placed
    mix *= np.float32(1 / 32768)
    normalize_loudness(mix, sample_rate, speech, ceiling_dbfs)
    mix *= np.float32(32768)  # the inverse of the scaling above; the ceiling keeps it in range
    np.round(mix, out=mix)
    np.clip(mix, -32768, 32767, out=mix)
    out = mix.astype(np.int16)
    del mix
    markers = _markers(chapter.title, scene_starts, out.size, sample_rate)
    return ChapterAudio(out, sample_rate, markers, spans)


def _markers(
    title: str, scene_starts: list[tuple[int, int]], total: int, rate: int
) -> list[Marker]:
    """One marker per scene, contiguous from 0 to the end. A later scene's marker
    starts half-way through the scene-break pause, so skipping to it lands just
    before the words."""
    end_ms = round(total * 1000 / rate)
    bounds = [0]
    for speech_at, pause_at in scene_starts[1:]:
        bounds.append(round((pause_at + speech_at) / 2 * 1000 / rate))
    markers = []
    for i, start in enumerate(bounds):
        stop = bounds[i + 1] if i + 1 < len(bounds) else end_ms
        name = title if i == 0 else f"{title} (scene {i + 1})"
        markers.append(Marker(name, start, stop))
    return markers
