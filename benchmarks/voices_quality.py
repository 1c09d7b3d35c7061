"""Do the voices sound like different people, and are their words still clear? Prints a table.

For every bundled voice (joe and the voices made from it; ``--voice`` picks some, and
``--voice-dir`` adds installed ones), on 22 short original sentences:

  F0        median pitch (Praat's autocorrelation tracker, all voiced frames pooled)
  formant   the vocal-tract ratio the voice is made with (1.00: the model's own), and
            the ratio measured: median F2 and F3 (Praat's Burg tracker) against joe's
  OVRL/P808 DNSMOS, Microsoft's non-intrusive speech-quality estimate (``speechmos``;
            the mean over sentences, each repeated to the model's 9 s window)
  WER       word error rate of an offline recogniser (``pocketsphinx`` and its bundled
            US English model), in % of the sentences' words
  LU        loudness of all 22 sentences against joe's, levelled as a render levels them
  cost      seconds of computing per second of audio (synthesis + pitch move; noisy on
            a shared machine)

then checks the quality bar: every voice within 0.30 OVRL and 5 WER points of joe and
within 1 LU of him; at least 4 women at a median F0 of 175-240 Hz and formants 1.10-1.22,
at least 4 men at 75-140 Hz and 0.90-1.05; voices of one gender at least 1.5 semitones
or 5% of formants apart. Exits 1 if any check fails.

Synthesis is cached (``--cache``, default in the temp folder): each distinct model,
resampling and tempo is synthesised once, and the pitch move applied to the cached
audio, as the engine applies it. Needs the ``dev`` extra (speechmos, pocketsphinx,
librosa); everything runs offline (both packages ship their models). About 30-60 s of
CPU per voice.

    python benchmarks/voices_quality.py [--voice joe --voice joe-alto] [--voice-dir DIR]
    python benchmarks/voices_quality.py --calibrate [--runs 4]   # BUNDLED_GAIN_DB
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import math
import re
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from audiobook.engine import (  # noqa: E402
    REFERENCE_TEXT,
    PiperEngine,
    loudness,
    retune,
    to_int16,
)
from audiobook.voices import Voice, bundled_voices, discover_voices  # noqa: E402

# Written for this benchmark: everyday words, questions and statements, 6-14 words.
SENTENCES = (
    "The kettle was already boiling when she came down the stairs.",
    "He folded the map twice and put it back in his coat pocket.",
    "We should leave before the rain starts, or we will never get home.",
    "Nobody in the village had seen the old mill so quiet.",
    "Can you hear the train coming across the bridge?",
    "My brother keeps three goats and a very loud rooster.",
    "The letter was short, and it said nothing about the money.",
    "She laughed and told him that the garden needed more water.",
    "Turn left at the church and walk until you reach the river.",
    "I have never trusted a man who whistles while he counts.",
    "The children ran out into the snow without their gloves.",
    "Please close the window, the candles keep going out.",
    "They waited by the gate for almost an hour.",
    "The doctor said the fever would pass by morning.",
    "What time does the market open on Saturday?",
    "He painted the boat blue, because his father had done the same.",
    "The bread in this town is better than anywhere else.",
    "She found a small key hidden under the loose floorboard.",
    "If the wind changes, the ships will sail at dawn.",
    "Our teacher read the story aloud to the whole class.",
    "The dog barked at the stranger until he walked away.",
    "I will meet you at the station with the tickets.",
)
MAX_OVRL_DROP = 0.30
MAX_WER_RISE = 5.0
MAX_LU = 1.0
FEMALE_F0, FEMALE_FORMANT = (175.0, 240.0), (1.10, 1.22)
MALE_F0, MALE_FORMANT = (75.0, 140.0), (0.90, 1.05)
APART_SEMITONES, APART_FORMANT = 1.5, 0.05
MOS_RATE = 16000


@dataclass
class Row:
    voice: Voice
    f0: float
    formant_measured: float
    ovrl: float
    p808: float
    wer: float
    lufs: float
    cost: float


# --- synthesis (cached) ------------------------------------------------------------


def _cache_file(cache: Path, voice: Voice, text: str) -> Path:
    ident = [str(voice.model), voice.speaker_id, voice.pitch, voice.tempo, voice.noise_scale]
    ident += [voice.noise_w, text]
    return cache / (hashlib.sha256(repr(ident).encode()).hexdigest()[:24] + ".npz")


def unmoved(engine: PiperEngine, voice: Voice, text: str, cache: Path) -> tuple[np.ndarray, float]:
    """The voice before its pitch move (float32), and the seconds synthesis took."""
    path = _cache_file(cache, voice, text)
    if path.exists():
        with np.load(path) as z:
            return z["audio"], float(z["seconds"])
    t0 = time.process_time()
    audio = engine.synthesize_float(text, replace(voice, f0=None))
    took = time.process_time() - t0
    np.savez(path, audio=audio, seconds=took)
    return audio, took


def spoken(engine: PiperEngine, voice: Voice, cache: Path) -> tuple[list[np.ndarray], float]:
    """Every sentence as a render makes it (levelled float audio), and the cost per
    second of audio."""
    rate = engine.sample_rate(voice)
    gain = np.float32(10 ** (engine.gain_db(voice) / 20))
    clips, seconds = [], 0.0
    for text in SENTENCES:
        audio, took = unmoved(engine, voice, text, cache)
        t0 = time.process_time()
        if voice.f0 is not None:
            audio = retune(audio, rate, voice.f0)
        seconds += took + time.process_time() - t0
        clips.append(to_int16(audio * gain).astype(np.float32) / 32768)
    return clips, seconds / (sum(c.size for c in clips) / rate)


# --- measures ----------------------------------------------------------------------


def median_f0(clips: list[np.ndarray], rate: int) -> float:
    import parselmouth

    f0s = []
    for x in clips:
        sound = parselmouth.Sound(x.astype(np.float64), sampling_frequency=rate)
        f = sound.to_pitch_ac(pitch_floor=60.0, pitch_ceiling=500.0).selected_array["frequency"]
        f0s.append(f[f > 0])
    return float(np.median(np.concatenate(f0s)))


def formants(clips: list[np.ndarray], rate: int) -> np.ndarray:
    """Median F2 and F3 (Hz) over voiced, loud frames: the resonances that place a
    vocal tract (F1 moves most with the vowel)."""
    import parselmouth
    from parselmouth.praat import call

    tracks = []
    for x in clips:
        sound = parselmouth.Sound(x.astype(np.float64), sampling_frequency=rate)
        pitch = sound.to_pitch_ac(pitch_floor=60.0, pitch_ceiling=500.0)
        formant = sound.to_formant_burg(maximum_formant=5500.0)
        for t in pitch.xs():
            if pitch.get_value_at_time(t) > 0:
                f2 = call(formant, "Get value at time", 2, t, "hertz", "linear")
                f3 = call(formant, "Get value at time", 3, t, "hertz", "linear")
                if f2 > 0 and f3 > 0:
                    tracks.append((f2, f3))
    return np.median(np.asarray(tracks), axis=0)


def to_mos_rate(x: np.ndarray, rate: int) -> np.ndarray:
    from scipy.signal import resample_poly

    g = math.gcd(rate, MOS_RATE)
    return np.clip(resample_poly(x, MOS_RATE // g, rate // g), -1, 1).astype(np.float32)


def dnsmos(clips16: list[np.ndarray]) -> tuple[float, float]:
    from speechmos import dnsmos as model

    scores = [model.run(x, MOS_RATE) for x in clips16]
    return (
        float(np.mean([s["ovrl_mos"] for s in scores])),
        float(np.mean([s["p808_mos"] for s in scores])),
    )


_DECODER = None


def recognise(x16: np.ndarray) -> str:
    global _DECODER
    from pocketsphinx import Decoder

    if _DECODER is None:  # the wheel's own US English acoustic model, dictionary and LM
        _DECODER = Decoder(samprate=MOS_RATE, loglevel="FATAL")
    _DECODER.start_utt()
    _DECODER.process_raw((x16 * 32767).astype(np.int16).tobytes(), full_utt=True)
    _DECODER.end_utt()
    hyp = _DECODER.hyp()
    return hyp.hypstr if hyp else ""


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def edit_distance(a: list[str], b: list[str]) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        diag, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            diag, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diag + (x != y))
    return row[-1]


def wer(clips16: list[np.ndarray]) -> float:
    errors = total = 0
    for x, text in zip(clips16, SENTENCES, strict=True):
        ref = words(text)
        errors += edit_distance(ref, words(recognise(x)))
        total += len(ref)
    return 100.0 * errors / total


def measure(engine: PiperEngine, voice: Voice, cache: Path, joe_formants: np.ndarray | None) -> Row:
    rate = engine.sample_rate(voice)
    clips, cost = spoken(engine, voice, cache)
    clips16 = [to_mos_rate(x, rate) for x in clips]
    ovrl, p808 = dnsmos(clips16)
    found = formants(clips, rate)
    ratio = 1.0 if joe_formants is None else float(np.exp(np.mean(np.log(found / joe_formants))))
    return Row(
        voice,
        median_f0(clips, rate),
        ratio,
        ovrl,
        p808,
        wer(clips16),
        loudness(np.concatenate(clips), rate),
        cost,
    ), found


# --- the bar -----------------------------------------------------------------------


def distinct(a: Row, b: Row) -> bool:
    semitones = abs(12 * math.log2(a.f0 / b.f0))
    formant = abs(a.voice.formant_ratio / b.voice.formant_ratio - 1)
    return semitones >= APART_SEMITONES or formant >= APART_FORMANT - 1e-9


def checks(rows: list[Row]) -> list[tuple[str, bool]]:
    joe = rows[0]
    out = []
    for r in rows[1:]:
        out.append(
            (
                f"{r.voice.name}: OVRL {r.ovrl - joe.ovrl:+.2f}, WER {r.wer - joe.wer:+.1f}, "
                f"{r.lufs - joe.lufs:+.1f} LU against joe",
                r.ovrl >= joe.ovrl - MAX_OVRL_DROP
                and r.wer <= joe.wer + MAX_WER_RISE
                and abs(r.lufs - joe.lufs) <= MAX_LU,
            )
        )
    for gender, (f0s, ratios) in (
        ("female", (FEMALE_F0, FEMALE_FORMANT)),
        ("male", (MALE_F0, MALE_FORMANT)),
    ):
        group = [r for r in rows if r.voice.gender == gender]
        fit = [
            r
            for r in group
            if f0s[0] <= r.f0 <= f0s[1]
            and ratios[0] <= round(r.voice.formant_ratio, 3) <= ratios[1]
        ]
        out.append(
            (
                f"{gender}: {len(fit)} of {len(group)} at F0 {f0s[0]:g}-{f0s[1]:g} Hz and "
                f"formants {ratios[0]:.2f}-{ratios[1]:.2f} (>= 4 wanted)",
                len(fit) >= 4 and len(fit) == len(group),
            )
        )
        close = [
            f"{a.voice.name}/{b.voice.name}"
            for a, b in itertools.combinations(group, 2)
            if not distinct(a, b)
        ]
        out.append(
            (
                f"{gender}: pairwise >= {APART_SEMITONES} st or >= {APART_FORMANT:.0%} formants"
                + (f" (too close: {', '.join(close)})" if close else ""),
                not close,
            )
        )
    return out


def table(rows: list[Row]) -> None:
    print(
        f"{'voice':<14} {'gender':<7} {'F0 Hz':>6} {'formant':>7} {'meas.':>6} {'OVRL':>5} "
        f"{'P.808':>5} {'WER %':>6} {'LU':>5} {'cost':>5}  description"
    )
    joe = rows[0]
    for r in rows:
        print(
            f"{r.voice.name:<14} {r.voice.gender:<7} {r.f0:>6.0f} {r.voice.formant_ratio:>7.3f} "
            f"{r.formant_measured:>6.3f} {r.ovrl:>5.2f} {r.p808:>5.2f} {r.wer:>6.1f} "
            f"{r.lufs - joe.lufs:>+5.1f} {r.cost:>5.3f}  {r.voice.description}"
        )


def calibrate(runs: int) -> None:
    """Unlevelled loudness of every bundled voice on the engine's reference text, and
    the BUNDLED_GAIN_DB that brings each 4 dB below joe."""
    engine = PiperEngine()
    voices = bundled_voices()
    means = {}
    for v in voices:
        raw = replace(v, gain_db=0.0)
        values = [
            loudness(engine.synthesize_float(REFERENCE_TEXT, raw), engine.sample_rate(v))
            for _ in range(runs)
        ]
        means[v.name] = float(np.mean(values))
        print(f"{v.name:<12} {means[v.name]:7.2f} LUFS  (sd {np.std(values):.2f}, n={runs})")
    target = means[voices[0].name] - 4.0
    print(f"\nREFERENCE_LUFS = {means[voices[0].name]:.1f}")
    print("BUNDLED_GAIN_DB: dict[str, float] = {")
    for v in voices:
        suffix = v.name.removeprefix(voices[0].name).removeprefix("-")
        print(f'    "{suffix}": {target - means[v.name]:.1f},')
    print("}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--voice", action="append", default=[], help="only these (joe is always in)")
    ap.add_argument("--voice-dir", action="append", default=[])
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "voices-quality")
    ap.add_argument("--calibrate", action="store_true")
    ap.add_argument("--runs", type=int, default=4, help="--calibrate: syntheses per voice")
    args = ap.parse_args()
    if args.calibrate:
        calibrate(max(1, args.runs))
        return 0
    args.cache.mkdir(parents=True, exist_ok=True)
    voices = discover_voices([Path(d) for d in args.voice_dir]) if args.voice_dir else []
    voices = voices or bundled_voices()
    if args.voice:
        voices = [v for v in voices if v.name == "joe" or v.name in args.voice]
    engine = PiperEngine()
    rows: list[Row] = []
    joe_formants = None
    t0 = time.monotonic()
    for v in voices:
        row, found = measure(engine, v, args.cache, joe_formants)
        joe_formants = found if joe_formants is None else joe_formants
        rows.append(row)
        print(f"  measured {v.name} ({time.monotonic() - t0:.0f} s)", file=sys.stderr, flush=True)
    print(f"{len(SENTENCES)} sentences; OVRL/P.808 DNSMOS; WER pocketsphinx en-us; cost noisy\n")
    table(rows)
    results = checks(rows)
    print()
    for text, ok in results:
        print(f"{'ok  ' if ok else 'FAIL'} {text}")
    return 0 if all(ok for _, ok in results) else 1


if __name__ == "__main__":
    sys.exit(main())
