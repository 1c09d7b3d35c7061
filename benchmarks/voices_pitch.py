"""Can a listener tell the voices apart? Median pitch and loudness of every listed voice.

Synthesises one fixed sentence with every voice that ``audiobook voices --json`` lists,
estimates each voice's median F0 with YIN (numpy, no extra dependency) and its loudness
with pyloudnorm, and prints a table plus how many voices sit at least one semitone away
from every other voice. Run from the repository root:

    python benchmarks/voices_pitch.py [--voice-dir DIR] [--sentence TEXT]

Takes ~1 s per voice on one core.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SENTENCE = (
    "When the tide turned, she carried the lantern down to the harbour and waited for the "
    "boats to come home."
)
MIN_SEMITONES = 1.0


def yin_f0(
    x: np.ndarray, rate: int, fmin: float = 55.0, fmax: float = 500.0, threshold: float = 0.15
) -> np.ndarray:
    """F0 (Hz) of each voiced frame, YIN (de Cheveigné & Kawahara 2002) via FFT.

    Frames quieter than 1/20 of the loudest frame are treated as unvoiced.
    """
    x = np.asarray(x, dtype=np.float64)
    tmin, tmax = int(rate / fmax), int(math.ceil(rate / fmin))
    w = 2 * tmax  # integration window
    n = w + tmax
    hop = rate // 100
    if x.size < n:
        return np.zeros(0)
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[::hop]
    rms = np.sqrt(np.mean(frames[:, :w] ** 2, axis=1))
    frames = frames[rms > rms.max() / 20]
    if not len(frames):
        return np.zeros(0)
    size = 1 << (n + w).bit_length()
    spec_a = np.fft.rfft(frames[:, :w], size)
    spec_b = np.fft.rfft(frames, size)
    r = np.fft.irfft(np.conj(spec_a) * spec_b, size)[:, : tmax + 1]  # sum x_j x_{j+t}
    sq = np.concatenate([np.zeros((len(frames), 1)), np.cumsum(frames**2, axis=1)], axis=1)
    taus = np.arange(tmax + 1)
    energy_t = sq[:, taus + w] - sq[:, taus]  # sum over j of x_{j+t}^2
    d = energy_t[:, :1] + energy_t - 2 * r
    d[:, 0] = 0.0
    cum = np.cumsum(d[:, 1:], axis=1)
    cmnd = np.ones_like(d)
    cmnd[:, 1:] = d[:, 1:] * taus[1:] / np.maximum(cum, 1e-12)
    out = []
    for row in cmnd:
        below = np.flatnonzero(row[tmin:] < threshold)
        if not below.size:
            continue
        t = tmin + int(below[0])
        while t + 1 <= tmax and row[t + 1] < row[t]:
            t += 1
        if 1 <= t < tmax:  # parabolic interpolation around the dip
            a, b, c = row[t - 1], row[t], row[t + 1]
            den = a - 2 * b + c
            t_f = t + (0.5 * (a - c) / den if den > 0 else 0.0)
        else:
            t_f = float(t)
        out.append(rate / t_f)
    return np.asarray(out)


def listed_voices(voice_dirs: list[str]) -> list[dict[str, object]]:
    """What a user sees: the CLI's own JSON list."""
    cmd = [sys.executable, "-m", "audiobook.cli", "voices", "--json"]
    for d in voice_dirs:
        cmd += ["--voice-dir", d]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    data: list[dict[str, object]] = json.loads(out)
    return data


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--voice-dir", action="append", default=[])
    ap.add_argument("--sentence", default=SENTENCE)
    args = ap.parse_args()

    import pyloudnorm

    from audiobook.engine import PiperEngine
    from audiobook.voices import discover_voices, find_voice

    listed = listed_voices(args.voice_dir)
    library = discover_voices([Path(d) for d in args.voice_dir])
    engine = PiperEngine()
    rows = []
    t0 = time.monotonic()
    for item in listed:
        voice = find_voice(str(item["name"]), library)
        pcm = engine.synthesize(args.sentence, voice)
        rate = engine.sample_rate(voice)
        x = pcm.astype(np.float64) / 32768
        f0 = yin_f0(x, rate)
        median = float(np.median(f0)) if f0.size else float("nan")
        lufs = float(pyloudnorm.Meter(rate).integrated_loudness(x))
        peak = 20 * math.log10(max(float(np.abs(x).max()), 1e-9))
        rows.append((voice.name, voice.pitch, voice.tempo, median, lufs, peak, x.size / rate))
    ref = rows[0][3]
    print(f"sentence: {args.sentence!r}")
    print(
        f"{'voice':<30} {'shift':>6} {'tempo':>5} {'F0 Hz':>7} {'vs 1st':>7} {'nearest':>7}"
        f" {'LUFS':>6} {'vs 1st':>6} {'peak':>6} {'secs':>5}"
    )
    apart = 0
    for name, shift, tempo, f0m, lufs, peak, secs in rows:
        st = 12 * math.log2(f0m / ref)
        nearest = min(
            (abs(12 * math.log2(f0m / other[3])) for other in rows if other[0] != name),
            default=float("inf"),
        )
        ok = nearest >= MIN_SEMITONES
        apart += ok
        print(
            f"{name:<30} {shift:>+6.1f} {tempo:>5.2f} {f0m:>7.1f} {st:>+7.2f} {nearest:>7.2f}"
            f"{'' if ok else '*'}{' ' if ok else ''}"
            f"{lufs:>6.1f} {lufs - rows[0][4]:>+6.1f} {peak:>6.1f} {secs:>5.2f}"
        )
    lufs_all = [r[4] for r in rows]
    print(f"\nvoices listed: {len(rows)}")
    print(f"voices >= {MIN_SEMITONES:g} semitone from every other voice: {apart}")
    print(
        f"loudness spread vs first voice: {min(lufs_all) - lufs_all[0]:+.2f} .. "
        f"{max(lufs_all) - lufs_all[0]:+.2f} LU"
    )
    print(f"({time.monotonic() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
