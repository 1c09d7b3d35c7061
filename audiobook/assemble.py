"""One chapter's segments -> one stretch of PCM with our pauses and loudness, and where
each segment lies in it.

Level: every chapter is brought to -19 LUFS integrated (BS.1770) with its true peak
(BS.1770 annex 2: the signal between samples too, 4x oversampled) under -3 dBTP. Piper
speech has a peak-to-loudness ratio of ~22 dB, so gain alone cannot do both: a
look-ahead peak limiter takes the few loud peaks down (about 7 dB on Piper voices),
then the gain is corrected and the limiter run again until the loudness holds.
"""

from __future__ import annotations

import functools
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
PEAK_DBFS = -3.0  # the promise (dBTP), measured on the decoded file
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
    g = gcd(from_rate, to_rate)
    return resample_poly(pcm, to_rate // g, from_rate // g)


# --- signal processing in numpy -----------------------------------------------------
# Synthesis workers start warm only if they import little: scipy.signal alone takes
# ~1.4 s to import (scipy.stats and more come with it), longer than loading the voice.
# So the few filters we need are done here with numpy, matching scipy's results.


@functools.lru_cache(maxsize=32)
def _lowpass(up: int, down: int) -> tuple[np.ndarray, int]:
    """scipy.signal.resample_poly's default filter for ``up/down`` (Kaiser-windowed
    sinc, beta 5, 10 zero crossings each side, times ``up``) and its half length."""
    max_rate = max(up, down)
    half_len = 10 * max_rate
    n = np.arange(2 * half_len + 1) - half_len
    cutoff = 1.0 / max_rate
    h = cutoff * np.sinc(cutoff * n) * np.kaiser(2 * half_len + 1, 5.0)
    return h / h.sum() * up, half_len


def resample_poly(x: np.ndarray, up: int, down: int) -> np.ndarray:
    """``scipy.signal.resample_poly(x, up, down)`` (default window, zero padding) for
    1-D audio, as float32: the same filter and alignment, so the same samples (to
    float rounding). Polyphase: each output sample costs taps/up multiply-adds."""
    g = gcd(up, down)
    up, down = up // g, down // g
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if up == down == 1 or x.size == 0:
        return x.astype(np.float32)
    h, half_len = _lowpass(up, down)
    pre_pad = down - half_len % down
    pre_remove = (half_len + pre_pad) // down
    n_out = -(-x.size * up // down)
    # out[m] = sum_i hp[i] * xu[(m + pre_remove) * down - i], with hp = h after
    # pre_pad zeros and xu = x with up-1 zeros between samples. Outputs m = c + j*up
    # share one phase of hp and step through x by ``down``.
    hp = np.concatenate([np.zeros(pre_pad), h])
    taps = -(-hp.size // up)
    hp = np.concatenate([hp, np.zeros(taps * up - hp.size)])
    pad = taps + 1
    span = (n_out // up + 2) * down + 2 * pad
    xp = np.concatenate([np.zeros(pad), x, np.zeros(span)])
    out = np.zeros(n_out)
    for c in range(min(up, n_out)):
        t0 = (c + pre_remove) * down
        phase, base = t0 % up, t0 // up
        kernel = hp[phase::up][::-1]  # taps k = taps-1 .. 0
        count = (n_out - c + up - 1) // up
        start = pad + base - (taps - 1)
        view = np.lib.stride_tricks.as_strided(
            xp[start:], shape=(count, taps), strides=(down * xp.itemsize, xp.itemsize)
        )
        out[c::up] = view @ kernel
    return out.astype(np.float32)


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
    """BS.1770 K-weighting as pyloudnorm's Meter builds it (RBJ cookbook biquads: a
    +4 dB high shelf at 1500 Hz, then a 38 Hz high-pass): (b, a, gain) per stage."""

    def biquad(gain_db: float, q: float, fc: float, kind: str) -> tuple[np.ndarray, np.ndarray]:
        big_a = 10 ** (gain_db / 40)
        w0 = 2 * np.pi * fc / rate
        alpha, cos = np.sin(w0) / (2 * q), np.cos(w0)
        if kind == "high_shelf":
            sq = 2 * np.sqrt(big_a) * alpha
            b = [
                big_a * ((big_a + 1) + (big_a - 1) * cos + sq),
                -2 * big_a * ((big_a - 1) + (big_a + 1) * cos),
                big_a * ((big_a + 1) + (big_a - 1) * cos - sq),
            ]
            a = [
                (big_a + 1) - (big_a - 1) * cos + sq,
                2 * ((big_a - 1) - (big_a + 1) * cos),
                (big_a + 1) - (big_a - 1) * cos - sq,
            ]
        else:  # high_pass
            b = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2]
            a = [1 + alpha, -2 * cos, 1 - alpha]
        return np.array(b), np.array(a)

    stages = [
        biquad(4.0, 1 / np.sqrt(2), 1500.0, "high_shelf"),
        biquad(0.0, 0.5, 38.0, "high_pass"),
    ]
    return [(b, a, 1.0) for b, a in stages]


_IR_SECONDS = 0.06  # the K-filter's memory is ~4 ms: by 60 ms its response is < 1e-5
_FFT_SIZE = 1 << 14


@functools.lru_cache(maxsize=8)
def _k_response(rate: int) -> tuple[np.ndarray, int]:
    """The K-weighting filter as the spectrum of its (truncated) impulse response, for
    overlap-add filtering in blocks of ``_FFT_SIZE``; and that response's length."""
    n = max(16, round(_IR_SECONDS * rate))
    y = np.zeros(n)
    y[0] = 1.0
    for b, a, gain in _k_weighting(rate):
        b, a = b / a[0], a / a[0]
        x, y = y, np.zeros(n)
        for i in range(n):  # once per rate: a plain loop is fine
            acc = b[0] * x[i]
            if i >= 1:
                acc += b[1] * x[i - 1] - a[1] * y[i - 1]
            if i >= 2:
                acc += b[2] * x[i - 2] - a[2] * y[i - 2]
            y[i] = acc
        y *= gain
    size = max(_FFT_SIZE, 1 << (2 * n - 1).bit_length())
    return np.fft.rfft(y, size), n


_HOP_SECONDS = 0.1  # BS.1770 gating blocks are 4 hops (400 ms, 75 % overlap)


def _hop(rate: int) -> int:
    return round(_HOP_SECONDS * rate)


def _pack_bf16(x: np.ndarray) -> np.ndarray:
    """float32 -> the top half of its bits, rounded (bfloat16, as uint16): 8 bits of
    mantissa, plenty for energies summed over thousands of samples, in half the
    memory; numpy's float16 conversion is ~15x slower and underflows below 6e-8."""
    bits = x.astype(np.float32, copy=False).view(np.uint32)
    return ((bits + np.uint32(0x8000)) >> np.uint32(16)).astype(np.uint16)


def _unpack_bf16(u: np.ndarray) -> np.ndarray:
    return (u.astype(np.uint32) << np.uint32(16)).view(np.float32)


class LoudnessMeter:
    """BS.1770 K-weighted energy per 100 ms hop, fed audio in pieces of any size (a
    file being decoded): memory is one float per hop, not the audio. Filtering is an
    FFT overlap-add of the filter's impulse response (the filter starts at rest, as
    pyloudnorm's does)."""

    def __init__(self, rate: int, squares: np.ndarray | None = None) -> None:
        self.rate = rate
        self.hop = _hop(rate)
        self.spectrum, ir_len = _k_response(rate)
        self.size = 2 * (self.spectrum.size - 1)
        self.block = self.size - ir_len + 1
        self.carry = np.zeros(ir_len - 1)  # the filter's ringing into the next block
        self.hops: list[np.ndarray] = []
        self.rest = np.zeros(0, dtype=np.float32)  # the start of an unfinished hop
        # if given: keep each sample's K-weighted square here (uint16: as bfloat16)
        self.squares = squares
        self.done = 0  # samples in whole hops so far

    def add(self, x: np.ndarray) -> None:
        hop = self.hop
        for start in range(0, x.size, self.block):
            piece = np.asarray(x[start : start + self.block], dtype=np.float64)
            full = np.fft.irfft(np.fft.rfft(piece, self.size) * self.spectrum, self.size)
            full = full[: piece.size + self.carry.size]
            full[: self.carry.size] += self.carry
            self.carry = full[piece.size :].copy()
            y = np.square(full[: piece.size]).astype(np.float32)
            if self.rest.size:
                y = np.concatenate([self.rest, y])
            whole = y.size // hop * hop
            self.rest = y[whole:].copy()
            if self.squares is not None:
                keep = y[:whole]
                if self.squares.dtype == np.uint16:  # bfloat16: see _pack_bf16
                    keep = _pack_bf16(keep)
                self.squares[self.done : self.done + whole] = keep
            self.hops.append(y[:whole].reshape(-1, hop).sum(axis=1, dtype=np.float64))
            self.done += whole

    def energies(self) -> np.ndarray:
        return np.concatenate(self.hops) if self.hops else np.zeros(0)

    def loudness(self) -> float:
        return _gated_loudness(self.energies(), self.hop)


def _hop_energies(x: np.ndarray, rate: int, squares: np.ndarray | None = None) -> np.ndarray:
    """Sum of squares of the K-weighted signal in each whole 100 ms hop of ``x``; with
    ``squares`` (float32, one per sample of those hops) the squares are kept there."""
    meter = LoudnessMeter(rate, squares)
    meter.add(x)
    return meter.energies()


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
    filtered in blocks: pyloudnorm makes float64 copies of the whole signal,
    ~8x a chapter's size in memory (over 2 GB for an hour)."""
    return _gated_loudness(_hop_energies(x, rate), _hop(rate))


def _running_max_abs(x: np.ndarray, half: int, chunk: int = 1 << 20) -> np.ndarray:
    """max |x| over x[i-half .. i+half] (the window cut at the ends), in chunks: van
    Herk / Gil-Werman, prefix and suffix maxima of window-sized blocks. float32 for
    float audio; uint16 for int16 audio (exact, and half the memory)."""
    integer = np.issubdtype(x.dtype, np.integer)
    kind = np.dtype(np.uint16) if integer else np.dtype(np.float32)
    w = 2 * half + 1
    out = np.empty(x.size, dtype=kind)
    for lo in range(0, x.size, chunk):
        hi = min(x.size, lo + chunk)
        a, b = max(0, lo - half), min(x.size, hi + half)
        piece = x[a:b]
        mag = np.abs(piece.astype(np.int32)) if integer else np.abs(piece.astype(np.float32))
        # pad so that output j (signal lo + j) has its window at padded[j : j + w]
        pre, post = half - (lo - a), half - (b - hi)
        size = pre + mag.size + post
        blocks = -(-size // w)
        padded = np.zeros(blocks * w, dtype=kind)  # |x| >= 0: zeros never win
        padded[pre : pre + mag.size] = mag
        grid = padded.reshape(blocks, w)
        prefix = np.maximum.accumulate(grid, axis=1).reshape(-1)
        suffix = np.maximum.accumulate(grid[:, ::-1], axis=1)[:, ::-1].reshape(-1)
        n = hi - lo
        out[lo:hi] = np.maximum(suffix[:n], prefix[w - 1 : w - 1 + n])
    return out


TRUE_PEAK_OVERSAMPLING = 4  # what BS.1770 asks for below 96 kHz (and ffmpeg's ebur128)
# Input samples each side that the interpolation filter reaches (10 for 4x), rounded up.
_TP_CONTEXT = 16


_TP_REACH = 10  # taps each side of the oversampling filter (10 zero crossings)


@functools.lru_cache(maxsize=1)
def _interpolators() -> list[np.ndarray]:
    """The 4x oversampler (resample_poly's filter) as one short FIR per in-between
    point, reversed for direct use: the impulse response of each output phase. Phase
    0 is the sample itself."""
    c, up, r = _TP_CONTEXT, TRUE_PEAK_OVERSAMPLING, _TP_REACH
    impulse = np.zeros(2 * c + 1, dtype=np.float32)
    impulse[c] = 1.0
    y = resample_poly(impulse, up, 1)
    return [y[j::up][c - r : c + r + 1][::-1].astype(np.float32) for j in range(1, up)]


def _oversampled_max(piece: np.ndarray) -> np.ndarray:
    """For each sample of float ``piece``: the largest |value| at it and at the points
    interpolated up to the next sample (BS.1770 true peak, per sample). A sum of
    shifted multiplies: ~4x faster than np.convolve for these 21 taps."""
    x = np.asarray(piece, dtype=np.float32)
    n, r = x.size, _TP_REACH
    padded = np.concatenate([np.zeros(r, np.float32), x, np.zeros(r, np.float32)])
    out = np.abs(x)
    y, term = np.empty(n, np.float32), np.empty(n, np.float32)
    for kernel in _interpolators():
        np.multiply(padded[:n], kernel[0], out=y)
        for t in range(1, kernel.size):
            np.multiply(padded[t : t + n], kernel[t], out=term)
            y += term
        np.maximum(out, np.abs(y, out=y), out=out)
    return out


def true_peak_envelope(x: np.ndarray, chunk: int = 1 << 18) -> np.ndarray:
    """Per-sample true peak magnitude of ``x`` (silence beyond its ends), in chunks: for
    float audio float32 in [-1, 1] units; for int16 audio uint16 in int16 units (clipped
    at 65535, +6 dBFS: far above any ceiling), so it costs 2 bytes a sample."""
    integer = np.issubdtype(x.dtype, np.integer)
    out = np.empty(x.size, dtype=np.uint16 if integer else np.float32)
    c = _TP_CONTEXT
    for lo in range(0, x.size, chunk):
        hi = min(x.size, lo + chunk)
        a, b = max(0, lo - c), min(x.size, hi + c)
        piece = np.zeros((hi - lo) + 2 * c, dtype=np.float32)
        at = c - (lo - a)
        piece[at : at + (b - a)] = x[a:b]
        env = _oversampled_max(piece)[c : c + hi - lo]
        if integer:
            env = np.minimum(np.round(env), 65535)
        out[lo:hi] = env
    return out


class TruePeakMeter:
    """The true peak of audio fed in pieces of any size (a file being decoded)."""

    def __init__(self) -> None:
        self.peak = 0.0
        self.tail = np.zeros(2 * _TP_CONTEXT, dtype=np.float32)  # context for the next piece

    def add(self, x: np.ndarray) -> None:
        if not x.size:
            return
        buf = np.concatenate([self.tail, np.asarray(x, dtype=np.float32)])
        c = _TP_CONTEXT
        # Samples with full context both sides are final; the last c wait for more.
        self.peak = max(self.peak, float(_oversampled_max(buf)[c:-c].max(initial=0.0)))
        self.tail = buf[-2 * c :]

    def dbtp(self) -> float:
        c = _TP_CONTEXT
        end = np.concatenate([self.tail, np.zeros(c, dtype=np.float32)])
        peak = max(self.peak, float(_oversampled_max(end)[c:].max(initial=0.0)))
        return 20 * float(np.log10(peak)) if peak > 0 else float("-inf")


def true_peak_dbtp(x: np.ndarray) -> float:
    """True peak (dBTP) of float audio in [-1, 1]."""
    meter = TruePeakMeter()
    for lo in range(0, x.size, 1 << 18):
        meter.add(x[lo : lo + (1 << 18)])
    return meter.dbtp()


_Regions = list[tuple[int, int, np.ndarray]]  # (start, end, gain) where the limiter acts
_INT16_UNIT = np.float32(1 / 32768)  # int16 sample -> float in [-1, 1]


class _Levels:
    """A chapter as levelling sees it: float32 in [-1, 1], whether it is held as float
    or as int16 (then ``unit`` is 1/32768 and pieces are converted as they are read).
    For an int16 chapter the per-sample working arrays are 2 bytes each (running peak
    as uint16, K-weighted squares as bfloat16): with the float32 mix they used to take
    ~12 bytes a sample, ~450 MB for a 25-minute chapter in every worker exporting one."""

    def __init__(self, x: np.ndarray, rate: int, chunk: int = 1 << 20) -> None:
        self.x, self.rate, self.chunk = x, rate, chunk
        self.size = x.size
        self.unit = _INT16_UNIT if np.issubdtype(x.dtype, np.integer) else None
        self.hop = _hop(rate)
        self.hold = max(1, round(LIMITER_HOLD * rate))
        self.ramp = max(1, min(self.hold, round(LIMITER_RAMP * rate)))
        self._env: np.ndarray | None = None
        self._peaks: np.ndarray | None = None
        self._squares: np.ndarray | None = None
        self._energy: np.ndarray | None = None

    def get(self, a: int, b: int) -> np.ndarray:
        """x[a:b] as float32 in [-1, 1] (a view when the chapter is float32)."""
        piece = self.x[a:b]
        return piece.astype(np.float32) * self.unit if self.unit is not None else piece

    def envelope(self, a: int, b: int) -> np.ndarray:
        """True peak magnitude of each sample in x[a:b], float32 in [-1, 1]: the
        limiter works on it, so the peaks between samples are held down too."""
        if self._env is None:
            self._env = true_peak_envelope(self.x)
        e = self._env[a:b]
        return e.astype(np.float32) * self.unit if self.unit is not None else e

    def peak(self) -> float:
        """The true peak."""
        return float(self.envelope(0, self.size).max(initial=0.0))

    def peaks(self, where: slice | np.ndarray) -> np.ndarray:
        """Running max true peak over +-hold at ``where`` (a slice or indexes), float32."""
        if self._peaks is None:
            self.envelope(0, 0)
            assert self._env is not None
            self._peaks = _running_max_abs(self._env, self.hold, self.chunk)
        p = self._peaks[where]
        return p.astype(np.float32) * self.unit if self.unit is not None else p

    def energy(self) -> np.ndarray:
        """K-weighted energy per 100 ms hop; the per-sample squares are kept as bfloat16."""
        if self._energy is None:
            squares = np.empty(self.size // self.hop * self.hop, dtype=np.uint16)
            meter = LoudnessMeter(self.rate, squares)
            step = meter.block * 64  # whole filter blocks: the sums of filtering it whole
            for lo in range(0, self.size, step):
                meter.add(self.get(lo, lo + step))
            self._energy, self._squares = meter.energies(), squares
        return self._energy

    def squares(self, a: int, b: int) -> np.ndarray:
        self.energy()
        assert self._squares is not None
        return _unpack_bf16(self._squares[a:b])

    def regions(self, ceiling_dbfs: float, scale: float = 1.0) -> _Regions:
        """Where a look-ahead limiter acts on ``scale * x``, and its gain there.

        Per-sample need g = min(1, ceiling/|x|), |x| the sample's true peak; the
        running minimum of g over +-hold is min(1, ceiling / running max |x|)
        (computed once, reused for every trial gain), and its moving average over
        +-ramp (ramp <= hold) is a smooth gain that is, at every sample, <= that
        sample's need: each averaged minimum spans the sample itself. The gain is below
        1 only within ramp of a sample whose held need is, so only those stretches are
        worked out."""
        ceiling = 10 ** (ceiling_dbfs / 20)
        ramp, size, chunk = self.ramp, self.size, self.chunk
        threshold = np.float32(ceiling / scale)
        spans: list[list[int]] = []
        for lo in range(0, size, chunk):
            over = np.flatnonzero(self.peaks(slice(lo, lo + chunk)) > threshold)
            if not over.size:
                continue
            breaks = np.flatnonzero(np.diff(over) > 2 * ramp + 1)
            starts = np.concatenate([[0], breaks + 1])
            ends = np.concatenate([breaks, [over.size - 1]])
            for s, e in zip(starts, ends, strict=True):
                a, b = lo + int(over[s]) - ramp, lo + int(over[e]) + ramp + 1
                if spans and a <= spans[-1][1]:
                    spans[-1][1] = max(spans[-1][1], b)
                else:
                    spans.append([a, b])
        regions: _Regions = []
        c = np.float32(ceiling)
        # Each sample's gain depends only on peaks within ramp of it, so a long span is
        # worked out in pieces (bounded temporaries, the same gains).
        pieces = [
            (lo, min(b, size, lo + chunk))
            for a, b in spans
            for lo in range(max(0, a), min(size, b), chunk)
        ]
        for a, b in pieces:
            # held over [a - ramp, b + ramp], the ends of the signal repeated (as
            # ndimage's mode "nearest" would)
            held = self.peaks(np.clip(np.arange(a - ramp, b + ramp), 0, size - 1))
            held = np.minimum(1.0, c / (np.float32(scale) * np.maximum(held, 1e-9)))
            total = np.concatenate([[0.0], np.cumsum(held, dtype=np.float64)])
            smooth = (total[2 * ramp + 1 :] - total[: -(2 * ramp + 1)]) / (2 * ramp + 1)
            mag = self.envelope(a, b) * np.float32(scale)
            need = np.minimum(np.float32(1.0), c / np.maximum(mag, np.float32(1e-9)))
            regions.append((a, b, np.minimum(smooth, need).astype(np.float32)))
        return regions

    def loudness(self, scale: float = 1.0, regions: _Regions | None = None) -> float:
        """Loudness of ``scale * x`` with the limiter ``regions`` applied: a gain
        scales every hop's energy by scale**2, and a limited stretch loses (1 - gain**2)
        of its squares. (That treats the limiter's gain as commuting with the K-filter:
        it moves over 20 ms ramps, slow next to the filter's features; measured error
        < 0.01 LU on speech.)"""
        hop = self.hop
        out = self.energy().copy()
        measured = self.size // hop * hop  # the samples of whole hops
        for a, b, gain in regions or ():
            b = min(b, measured)
            if a >= b:
                continue
            h0, h1 = a // hop, -(-b // hop)
            loss = np.zeros((h1 - h0) * hop, dtype=np.float32)
            g = gain[: b - a]
            loss[a - h0 * hop : b - h0 * hop] = self.squares(a, b) * (np.float32(1.0) - g * g)
            out[h0:h1] -= loss.reshape(-1, hop).sum(axis=1, dtype=np.float64)
        return _gated_loudness(np.maximum(out, 0.0) * scale**2, hop)

    def level(
        self, speech_samples: int, ceiling_dbfs: float, target_lufs: float
    ) -> tuple[float, _Regions]:
        """The gain (linear) with loudness(limit(gain * x)) on target, and the limiter's
        regions at that gain. The audio is filtered once; each trial gain costs only the
        limiter around the peaks and the loudness of the hops near them. Limiting takes
        back part of each step, so the next step is scaled by how much of the last one
        survived (a secant step). Chapters with under 0.4 s of speech are only
        peak-limited: BS.1770 cannot measure them."""
        limit = 10 ** (ceiling_dbfs / 20)
        if speech_samples < MIN_MEASURE_SECONDS * self.rate:
            peak = self.peak()
            return (limit / peak if peak > limit else 1.0), []
        loudness = _gated_loudness(self.energy(), self.hop)
        boost = 0.0  # dB; never past MAX_GAIN_DB (no boosting noise)
        survived = 1.0  # LU gained per dB of gain in the last step
        regions = self.regions(ceiling_dbfs)
        if np.isfinite(loudness) and regions:
            loudness = self.loudness(1.0, regions)
        for _ in range(12):
            if not np.isfinite(loudness) or abs(target_lufs - loudness) <= LOUDNESS_TOLERANCE / 2:
                break
            step = min((target_lufs - loudness) / survived, MAX_GAIN_DB - boost)
            if step <= 0 < target_lufs - loudness:
                break  # at the gain cap
            boost += step
            scale = 10 ** (boost / 20)
            regions = []  # the last trial's gains go before the next one's are made
            regions = self.regions(ceiling_dbfs, scale)
            before, loudness = loudness, self.loudness(scale, regions)
            survived = min(1.0, max(0.2, (loudness - before) / step)) if step else 1.0
        return 10 ** (boost / 20), regions


def _apply(x: np.ndarray, lo: int, gain: float, regions: _Regions) -> None:
    """Scale float32 ``x`` (the chapter's samples from ``lo`` on) by ``gain`` and the
    limiter's ``regions``, in place."""
    if gain != 1.0:
        x *= np.float32(gain)
    hi = lo + x.size
    for a, b, g in regions:
        if a < hi and b > lo:
            s, e = max(a, lo), min(b, hi)
            x[s - lo : e - lo] *= g[s - a : e - a]


def limit_peaks(
    x: np.ndarray, sample_rate: int, ceiling_dbfs: float = CEILING_DBFS, chunk: int = 1 << 20
) -> np.ndarray:
    """Look-ahead true-peak limiter, in place on float audio in [-1, 1]: afterwards
    neither a sample nor the signal between samples is above ``ceiling_dbfs`` (within
    ~0.1 dB: the gain moves slowly next to the interpolation filter). Exact zeros stay
    exact zeros (the gain only multiplies).
    Only the neighbourhoods of peaks are computed and touched."""
    _apply(x, 0, 1.0, _Levels(x, sample_rate, chunk).regions(ceiling_dbfs))
    return x


def normalize_loudness(
    x: np.ndarray,
    sample_rate: int,
    speech_samples: int,
    ceiling_dbfs: float = CEILING_DBFS,
    target_lufs: float = TARGET_LUFS,
) -> np.ndarray:
    """Scale audio in place to ``target_lufs`` integrated (-19 LUFS, or a little more
    where a codec will take some away) with no sample above the limiter ceiling.
    Float32 in [-1, 1], or int16 (levelled a piece at a time: never held as float)."""
    if x.size == 0:
        return x
    gain, regions = _Levels(x, sample_rate).level(speech_samples, ceiling_dbfs, target_lufs)
    if not np.issubdtype(x.dtype, np.integer):
        _apply(x, 0, gain, regions)
        return x
    if gain == 1.0 and not regions:
        return x
    step = 1 << 20
    for lo in range(0, x.size, step):
        y = x[lo : lo + step].astype(np.float32) * _INT16_UNIT
        _apply(y, lo, gain, regions)
        y *= np.float32(32768)  # the ceiling keeps it in range
        np.round(y, out=y)
        np.clip(y, -32768, 32767, out=y)
        x[lo : lo + y.size] = y
    return x


def assemble_chapter(
    chapter: Chapter,
    segments: Sequence[Segment],
    audio_for: Callable[[Segment], AudioSource],
    sample_rate: int,
    ceiling_dbfs: float = CEILING_DBFS,
    target_lufs: float = TARGET_LUFS,
) -> ChapterAudio:
    """Join a chapter's segments (in order) with pauses; skip segments and segments
    without audio add nothing, not even a pause. Levels: see ``normalize_loudness``.

    ``audio_for`` returns int16 at ``sample_rate``, ``(int16, its_rate)``, or None."""
    # First collect (offset, audio); then fill one preallocated int16 buffer, levelled
    # in place: a long chapter is held about twice (its parts, then the mix).
    placed: list[tuple[int, np.ndarray]] = []
    pos = round(PAUSES["head"] * sample_rate)
    speech = 0
    spans: list[SegmentSpan] = []
    prev: Segment | None = None
    for seg in segments:
        if seg.kind == "skip":
            continue
        pcm = _as_pcm(audio_for(seg), sample_rate)
        if pcm.size == 0:
            continue
        if prev is not None:
            pos += round(_pause_before(seg, prev) * sample_rate)
        placed.append((pos, pcm))
        spans.append(SegmentSpan(seg, pos, pos + pcm.size))
        pos += pcm.size
        speech += pcm.size
        prev = seg
    total = pos + round(PAUSES["tail"] * sample_rate)
    out = np.zeros(total, dtype=np.int16)
    for at, pcm in placed:
        if pcm.dtype != np.int16:  # resampled: float in int16 units (noise at -96 dBFS)
            pcm = np.round(pcm).clip(-32768, 32767)
        out[at : at + pcm.size] = pcm
    del placed
    normalize_loudness(out, sample_rate, speech, ceiling_dbfs, target_lufs)
    return ChapterAudio(out, sample_rate, spans)
