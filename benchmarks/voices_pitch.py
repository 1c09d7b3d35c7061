"""Can a listener tell the voices apart? Median pitch and loudness of every listed voice.

Synthesises one fixed sentence with every voice that ``audiobook voices --json`` lists,
estimates each voice's median F0 with YIN (numpy, no extra dependency) and its loudness
with pyloudnorm, and prints a table plus how many voices sit at least one semitone away
from every other voice. Run from the repository root:

    python benchmarks/voices_pitch.py [--voice-dir DIR] [--sentence TEXT] [--runs N]

Takes ~1 s per voice and run on one core. ``--calibrate`` instead measures the bundled
voices, unlevelled, on the engine's reference text and prints the REFERENCE_LUFS and
BUNDLED_GAIN_DB values that audiobook/engine.py and audiobook/voices.py carry.
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
    tmin, tmax = int(rate / fmax), math.ceil(rate / fmin)
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


def calibrate(runs: int) -> None:
    from dataclasses import replace

    from audiobook.engine import REFERENCE_TEXT, PiperEngine, loudness
    from audiobook.voices import bundled_voices

    engine = PiperEngine()
    voices = bundled_voices()
    means = {}
    for v in voices:
        raw = replace(v, gain_db=0.0)
        values = [
            loudness(engine.synthesize_float(REFERENCE_TEXT, raw), v.sample_rate)
            for _ in range(runs)
        ]
        means[v.name] = float(np.mean(values))
        print(f"{v.name:<12} {means[v.name]:7.2f} LUFS  (sd {np.std(values):.2f}, n={runs})")
    ref = means[voices[0].name]
    target = ref - 4.0
    print(f"\nREFERENCE_LUFS = {ref:.1f}")
    print("BUNDLED_GAIN_DB: dict[str, float] = {")
    for v in voices:
        suffix = v.name.removeprefix(voices[0].name).removeprefix("-")
        print(f'    "{suffix}": {target - means[v.name]:.1f},')
    print("}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--voice-dir", action="append", default=[])
    ap.add_argument("--sentence", default=SENTENCE)
    ap.add_argument(
        "--runs", type=int, default=3, help="syntheses per voice, pooled: Piper varies per run"
    )
    ap.add_argument("--calibrate", action="store_true")
    args = ap.parse_args()
    if args.calibrate:
        calibrate(max(1, args.runs))
        return 0

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
        rate = engine.sample_rate(voice)
        f0s, lufs, peaks, secs = [], [], [], []
        for _ in range(args.runs):
            x = engine.synthesize(args.sentence, voice).astype(np.float64) / 32768
            f0s.append(yin_f0(x, rate))
            lufs.append(pyloudnorm.Meter(rate).integrated_loudness(x))
            peaks.append(20 * math.log10(max(float(np.abs(x).max()), 1e-9)))
            secs.append(x.size / rate)
        pooled = np.concatenate(f0s)
        median = float(np.median(pooled)) if pooled.size else float("nan")
        rows.append(
            (
                voice.name,
                voice.pitch,
                voice.tempo,
                median,
                float(np.mean(lufs)),
                max(peaks),
                float(np.mean(secs)),
            )
        )
    ref = rows[0][3]
    print(f"sentence: {args.sentence!r}; {args.runs} runs per voice, F0 frames pooled")
    print(
        f"{'voice':<30} {'shift':>6} {'tempo':>5} {'F0 Hz':>7} {'vs 1st':>7} {'nearest':>7}"
        f" {'LUFS':>6} {'vs 1st':>6} {'peak':>6} {'secs':>5}"
    )
    print(
        f"{'':<30} {'st':>6} {'':>5} {'median':>7} {'st':>7} {'st':>7}"
        f" {'':>6} {'LU':>6} {'dBFS':>6} {'':>5}"
    )
    apart = 0
    for name, shift, tempo, f0m, level, peak, length in rows:
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
            f"{level:>6.1f} {level - rows[0][4]:>+6.1f} {peak:>6.1f} {length:>5.2f}"
        )
    lufs_all = [r[4] for r in rows]
    print("(* = less than 1 semitone from another voice)")
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
