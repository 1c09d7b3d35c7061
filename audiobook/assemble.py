"""One chapter's segments -> one stretch of PCM with our pauses, loudness and markers.

Level: every chapter is brought to -19 LUFS integrated (BS.1770) with its sample peak
under -3 dBFS. Piper speech has a peak-to-loudness ratio of ~22 dB, so gain alone cannot
do both: a look-ahead peak limiter takes the few loud peaks down (about 7 dB on Piper
voices), then the gain is corrected and the limiter run again until the loudness holds.
"""

from __future__ import annotations

import functools
import math
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


@functools.lru_cache(maxsize=8)
def _k_sos(rate: int) -> tuple[np.ndarray, float]:
    """The K-weighting as float32 second-order sections, and its passband gain: one
    pass over the audio in float32 is ~2x faster than two float64 ``lfilter`` passes
    and off by ~1e-5 relative (1e-4 dB)."""
    stages = _k_weighting(rate)
    sos = np.array([np.concatenate([b / a[0], a / a[0]]) for b, a, _ in stages])
    gain = float(np.prod([g for _, _, g in stages]))
    return sos.astype(np.float32), gain


_HOP_SECONDS = 0.1  # BS.1770 gating blocks are 4 hops (400 ms, 75 % overlap)
_CHUNK_HOPS = 256  # filter this many hops at a time: a float32 copy of ~26 s, not more


def _hop(rate: int) -> int:
    return round(_HOP_SECONDS * rate)


def _hop_energies(x: np.ndarray, rate: int) -> np.ndarray:
    """Sum of squares of the K-weighted signal in each whole 100 ms hop of ``x``."""
    from scipy.signal import sosfilt

    hop = _hop(rate)
    hops = x.size // hop
    out = np.zeros(hops)
    sos, gain = _k_sos(rate)
    state = np.zeros((sos.shape[0], 2), dtype=np.float32)
    chunk = hop * _CHUNK_HOPS
    for start in range(0, hops * hop, chunk):
        y = np.asarray(x[start : min(start + chunk, hops * hop)], dtype=np.float32)
        y, state = sosfilt(sos, y, zi=state)
        energy = np.square(y, dtype=np.float32).reshape(-1, hop).sum(axis=1, dtype=np.float64)
        out[start // hop : start // hop + energy.size] = energy
    return out * gain**2


def _gated_loudness(hop_energy: np.ndarray, hop: int) -> float:
    if hop_energy.size < 4:
        return float("-inf")
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


def integrated_loudness(x: np.ndarray, rate: int) -> float:
    """Integrated loudness (LUFS) of mono float audio in [-1, 1].

    The same filters and gating as ``pyloudnorm.Meter(rate).integrated_loudness``, but
    filtered in float32 chunks: pyloudnorm makes float64 copies of the whole signal,
    ~8x a chapter's size in memory (over 2 GB for an hour)."""
    return _gated_loudness(_hop_energies(x, rate), _hop(rate))


def _limiter_gain(
    x: np.ndarray, lo: int, hi: int, ceiling: float, hold: int, ramp: int, scale: float = 1.0
) -> np.ndarray | None:
    """Gain for ``scale * x[lo:hi]`` that keeps every sample within ``ceiling``, or
    None when nothing there needs it.

    Per-sample need g = min(1, ceiling/|x|); a running minimum over +-``hold`` then a
    moving average over +-``ramp`` (ramp <= hold) gives a smooth gain that is, at every
    sample, <= that sample's need: each averaged minimum spans the sample itself."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    margin = hold + ramp + 1
    a, b = max(0, lo - margin), min(x.size, hi + margin)
    mag = np.abs(x[a:b], dtype=np.float32)
    if scale != 1.0:
        mag *= np.float32(scale)
    if not (mag > ceiling).any():
        return None
    need = np.minimum(np.float32(1.0), np.float32(ceiling) / np.maximum(mag, np.float32(1e-9)))
    held = minimum_filter1d(need, size=2 * hold + 1, mode="nearest")
    smooth = uniform_filter1d(held.astype(np.float64), size=2 * ramp + 1, mode="nearest")
    gain = np.minimum(smooth[lo - a : hi - a], need[lo - a : hi - a]).astype(np.float32)
    return gain


_Regions = list[tuple[int, int, np.ndarray]]  # (start, end, gain) where the limiter acts


def _limiter_regions(
    x: np.ndarray, rate: int, ceiling_dbfs: float, scale: float = 1.0, chunk: int = 1 << 20
) -> _Regions:
    """Where the limiter acts on ``scale * x``, and its gain there.

    The gain differs from 1 only within hold + ramp of a sample over the ceiling, so
    it is worked out around those samples only: speech has few peaks, and this costs
    one scan of the audio (in chunks: no whole-chapter temporaries) plus the peaks'
    neighbourhoods. The result is what ``_limiter_gain`` gives on the whole signal."""
    ceiling = 10 ** (ceiling_dbfs / 20)
    hold = max(1, round(LIMITER_HOLD * rate))
    ramp = max(1, min(hold, round(LIMITER_RAMP * rate)))
    reach = hold + ramp
    threshold = np.float32(ceiling / scale)
    spans: list[list[int]] = []
    for lo in range(0, x.size, chunk):
        over = np.flatnonzero(np.abs(x[lo : lo + chunk]) > threshold)
        if not over.size:
            continue
        # Split where two peaks are far enough apart that their gains cannot touch.
        breaks = np.flatnonzero(np.diff(over) > 2 * reach + 1)
        starts = np.concatenate([[0], breaks + 1])
        ends = np.concatenate([breaks, [over.size - 1]])
        for s, e in zip(starts, ends, strict=True):
            a, b = lo + int(over[s]) - reach, lo + int(over[e]) + reach + 1
            if spans and a <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], b)
            else:
                spans.append([a, b])
    regions: _Regions = []
    for a, b in spans:
        a, b = max(0, a), min(x.size, b)
        gain = _limiter_gain(x, a, b, ceiling, hold, ramp, scale)
        if gain is not None:
            regions.append((a, b, gain))
    return regions


def limit_peaks(
    x: np.ndarray, sample_rate: int, ceiling_dbfs: float = CEILING_DBFS, chunk: int = 1 << 20
) -> np.ndarray:
    """Look-ahead peak limiter, in place on float audio in [-1, 1]: afterwards no sample
    is above ``ceiling_dbfs``. Exact zeros stay exact zeros (the gain only multiplies).
    Only the neighbourhoods of peaks are computed and touched."""
    for a, b, gain in _limiter_regions(x, sample_rate, ceiling_dbfs, chunk=chunk):
        x[a:b] *= gain
    return x


# Recompute the K-weighted energy from this far before a limited stretch (the filter
# state settles in ~4 ms) to this far after it (the filter's ringing dies away).
_SETTLE_SECONDS = 0.2


def _limited_loudness(
    x: np.ndarray, rate: int, energy: np.ndarray, scale: float, regions: _Regions
) -> float:
    """Loudness of ``scale * x`` with the limiter ``regions`` applied, from the hop
    energies of ``x``: a gain scales every hop's energy by scale**2, and only the hops
    near a limited stretch are filtered again (from a little before, so the filter
    state has settled; to a little after, so its ringing is counted)."""
    hop = _hop(rate)
    settle = math.ceil(_SETTLE_SECONDS * rate / hop)
    out = energy * scale**2
    spans: list[list[int]] = []  # hop ranges to recompute, merged when warm-ups overlap
    for a, b, _ in regions:
        h0, h1 = a // hop, min(energy.size, -(-b // hop) + settle)
        if h0 >= h1:
            continue
        if spans and h0 <= spans[-1][1] + 2 * settle:
            spans[-1][1] = max(spans[-1][1], h1)
        else:
            spans.append([h0, h1])
    at = 0  # first region that may still overlap a span
    for h0, h1 in spans:
        w0 = max(0, h0 - settle)
        p0, p1 = w0 * hop, h1 * hop
        piece = x[p0:p1].astype(np.float32) * np.float32(scale)
        while at < len(regions) and regions[at][1] <= p0:
            at += 1
        k = at
        while k < len(regions) and regions[k][0] < p1:
            a, b, gain = regions[k]
            lo, hi = max(a, p0), min(b, p1)
            piece[lo - p0 : hi - p0] *= gain[lo - a : hi - a]
            k += 1
        out[h0:h1] = _hop_energies(piece, rate)[h0 - w0 : h1 - w0]
    return _gated_loudness(out, hop)


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
    # Find the gain g with loudness(limit(g * x)) on target. The audio is filtered once;
    # each trial gain costs only the limiter around the peaks and the loudness of the
    # hops near them (see _limited_loudness). Limiting takes back part of each step, so
    # the next step is scaled by how much of the last one survived (a secant step).
    energy = _hop_energies(x, sample_rate)
    loudness = _gated_loudness(energy, _hop(sample_rate))
    boost = 0.0  # dB; never past MAX_GAIN_DB (no boosting noise)
    survived = 1.0  # LU gained per dB of gain in the last step
    regions = _limiter_regions(x, sample_rate, ceiling_dbfs)
    if np.isfinite(loudness) and regions:
        loudness = _limited_loudness(x, sample_rate, energy, 1.0, regions)
    for _ in range(12):
        if not np.isfinite(loudness) or abs(TARGET_LUFS - loudness) <= LOUDNESS_TOLERANCE / 4:
            break
        step = min((TARGET_LUFS - loudness) / survived, MAX_GAIN_DB - boost)
        if step <= 0 < TARGET_LUFS - loudness:
            break  # at the gain cap
        boost += step
        scale = 10 ** (boost / 20)
        regions = _limiter_regions(x, sample_rate, ceiling_dbfs, scale)
        before, loudness = loudness, _limited_loudness(x, sample_rate, energy, scale, regions)
        survived = min(1.0, max(0.2, (loudness - before) / step)) if step else 1.0
    if boost:
        x *= np.float32(10 ** (boost / 20))
    for a, b, gain in regions:
        x[a:b] *= gain
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
