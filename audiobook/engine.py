"""Text + Voice -> int16 PCM. ``PiperEngine`` is the real one; ``ToneEngine`` is a fake
with the same timing shape, for tests and dry runs.

``PiperEngine`` also levels voices: every voice is brought to ``VOICE_LUFS`` on a fixed
reference text, so switching speakers inside a chapter never jumps in volume. The
bundled voices carry a gain measured offline; any other voice is measured on first use
and the result kept in ``voice-levels.json`` in the cache folder.

piper/onnxruntime are imported inside ``PiperEngine`` only, so importing this module
(and everything that imports it) stays fast.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import os
import threading
from fractions import Fraction
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from audiobook.errors import AudiobookError, VoiceError
from audiobook.fastmodel import load_session, models_dir
from audiobook.fsutil import atomic_write
from audiobook.voices import Voice

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # pragma: no cover
    from piper.voice import PiperVoice

# Bump when post-processing (trim, gaps, headroom, pitch method) changes: it is part
# of the cache key, so old cached audio is not mixed with new.
# 2: voices levelled to VOICE_LUFS; 3: tempo scales the whole length, pitch moved by PSOLA
PROCESSING_VERSION = "3"

KEEP_EDGE_SECONDS = 0.05  # silence kept at each end of a segment; pauses are ours
SENTENCE_GAP_SECONDS = 0.25  # between sentences inside one segment (plus both edges)
CLAUSE_GAP_SECONDS = 0.12  # where one over-long sentence was cut (see split_phonemes)
# Longest phoneme string given to Piper at once (~12 s of speech).
MAX_PHONEMES = 240
MIN_PHONEMES = 100  # ...however drawn out a variant is (prosody needs room)
_CLAUSE_MARKS = frozenset(",;:\u2014\u2013")
PEAK_LIMIT = 0.89  # ~ -1 dBFS: headroom so the int16 conversion never clips
_SILENCE_DB = -40.0  # below the segment peak counts as silence when trimming
# Piper's output length is not proportional to length_scale: every phoneme id (and the
# pads between them) lasts at least one frame, so about a third of the length does not
# scale (measured on joe: duration ~ b * (length_scale + 0.35)). Without this correction
# high variants came out ~10% shorter and low ones ~9% longer than the base voice, and
# a speed of 1.25 only ~15% shorter instead of 20%.
_UNSCALED_LENGTH = 0.35
# Pitch analysis range for moving a line's median pitch: from below a deep man's
# (joe reads at ~89 Hz) to above the highest pitch a made voice starts from.
PITCH_FLOOR_HZ = 60.0
PITCH_CEILING_HZ = 400.0

# Levelling. The reference text is what every voice is measured on; joe reads it at
# REFERENCE_LUFS (mean of 6 runs), and every voice is brought 4 dB below that, so a
# quiet voice can be raised without its peaks hitting PEAK_LIMIT (which would lower
# that one segment). Chapters are normalised to their final loudness later anyway.
REFERENCE_TEXT = (
    "The harbour lights came on one by one along the quay. She counted them twice, "
    "then called out across the dark water: is anybody still out there?"
)
REFERENCE_LUFS = -24.4
VOICE_LUFS = REFERENCE_LUFS - 4.0
MAX_LEVEL_GAIN_DB = 18.0  # a near-silent voice is broken, not quiet
LEVELS_FILE = "voice-levels.json"


class Engine(Protocol):
    name: str

    def version(self) -> str: ...

    def sample_rate(self, voice: Voice) -> int: ...

    def synthesize(self, text: str, voice: Voice) -> np.ndarray: ...


def _speakable(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def trim_silence(x: np.ndarray, rate: int, keep: float = KEEP_EDGE_SECONDS) -> np.ndarray:
    """Cut leading/trailing silence down to ``keep`` seconds (float audio)."""
    if x.size == 0:
        return x
    peak = float(np.max(np.abs(x)))
    if peak <= 1e-6:
        return x[:0]
    loud = np.flatnonzero(np.abs(x) > peak * 10 ** (_SILENCE_DB / 20))
    pad = round(keep * rate)
    return x[max(0, int(loud[0]) - pad) : min(x.size, int(loud[-1]) + 1 + pad)]


def pitch_ratio(semitones: float) -> Fraction:
    """Rational approximation of 2**(st/12): the resample factor for a pitch shift."""
    return Fraction(2 ** (semitones / 12)).limit_denominator(96)


def shift_pitch(x: np.ndarray, ratio: Fraction) -> np.ndarray:
    """Resample audio that was synthesized ``ratio`` times longer back to its normal
    length, which raises its pitch by ``ratio`` (sample rate unchanged)."""
    if ratio == 1 or x.size == 0:
        return x
    from audiobook.assemble import resample_poly  # scipy's, without importing scipy.signal

    # length * den/num = length / ratio
    return np.asarray(resample_poly(x, ratio.denominator, ratio.numerator), dtype=np.float32)


_PRAAT_LOCK = threading.Lock()  # Praat keeps global state: one call at a time


def retune(x: np.ndarray, rate: int, f0: float) -> np.ndarray:
    """``x`` with its median pitch moved to ``f0`` Hz, its formants and length kept:
    Praat's PSOLA, as its "Change gender" with a formant ratio of 1. Audio too short or
    with no voiced sound to analyse is returned as it is (it has no pitch to move)."""
    if x.size == 0:
        return x
    import warnings

    import parselmouth
    from parselmouth.praat import call

    sound = parselmouth.Sound(np.asarray(x, dtype=np.float64), sampling_frequency=rate)
    with _PRAAT_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no voiced segments": nothing to move, fine
        try:
            out = call(sound, "Change gender", PITCH_FLOOR_HZ, PITCH_CEILING_HZ, 1.0, f0, 1, 1)
        except parselmouth.PraatError:
            return x
    y = np.asarray(out.values[0], dtype=np.float32)
    return y[: x.size] if y.size >= x.size else np.pad(y, (0, x.size - y.size))


def split_phonemes(phonemes: list[str], limit: int = MAX_PHONEMES) -> list[list[str]]:
    """A sentence's phonemes in pieces of at most ``limit``, cut after the last clause
    mark (, ; : dashes) that fits, else after the last word that fits.

    Why: Piper's working memory grows with the audio of one call (~20 MB a second on
    the bundled voice), so one 40-second sentence in a novel would make a worker
    ~1 GB for the rest of the render. Cut at a clause mark, each piece keeps its
    mark and so its intonation; the pieces are joined by a comma-sized pause."""
    pieces: list[list[str]] = []
    rest = list(phonemes)
    while len(rest) > limit:
        window = rest[:limit]
        cut = max((i for i, p in enumerate(window) if p in _CLAUSE_MARKS), default=-1)
        if cut < limit // 3:  # no clause mark, or too early: cut at a word
            spaces = [i for i, p in enumerate(window) if p == " " and i >= limit // 3]
            cut = spaces[-1] if spaces else limit - 1
        pieces.append(rest[: cut + 1])
        rest = rest[cut + 1 :]
        while rest and rest[0] == " ":
            rest = rest[1:]
    if rest or not pieces:
        pieces.append(rest)
    return [p for p in pieces if any(ph.strip() for ph in p)] or [list(phonemes)]


def phoneme_limit(length_scale: float, base_scale: float) -> int:
    """Phonemes per Piper call for a voice drawn out to ``length_scale`` (its model's
    own is ``base_scale``): a lower or slower variant makes more audio per phoneme
    (before resampling back), and so needs more memory per phoneme; fewer per call
    keeps every variant's calls as long as the plain voice's (measured: a +9 semitone
    variant's worker otherwise peaks ~40% higher)."""
    stretch = (length_scale + _UNSCALED_LENGTH) / (base_scale + _UNSCALED_LENGTH)
    return max(MIN_PHONEMES, min(MAX_PHONEMES, round(MAX_PHONEMES / max(stretch, 1e-3))))


def to_int16(x: np.ndarray) -> np.ndarray:
    """Float [-1, 1] -> int16, lowering the gain rather than ever clipping."""
    if x.size == 0:
        return np.zeros(0, dtype=np.int16)
    peak = float(np.max(np.abs(x)))
    if peak > PEAK_LIMIT:
        x = x * (PEAK_LIMIT / peak)
    return np.clip(np.round(x * 32767.0), -32767, 32767).astype(np.int16)


@functools.lru_cache(maxsize=64)
def _config_rate_of(config: str, fallback: int) -> int:
    try:
        rate = json.loads(Path(config).read_text(encoding="utf-8"))["audio"]["sample_rate"]
        return int(rate) if isinstance(rate, int) and rate > 0 else fallback
    except (OSError, ValueError, KeyError, TypeError):
        return fallback


def _config_rate(voice: Voice) -> int:
    return _config_rate_of(str(voice.config), voice.sample_rate)


# Loaded models, kept for the life of the process: loading joe takes ~2 s.
_MODELS: dict[tuple[str, int], PiperVoice] = {}
_MODELS_LOCK = threading.Lock()


class PiperEngine:
    name = "piper"

    def __init__(self, threads: int = 1) -> None:
        self.threads = max(1, int(threads))

    def version(self) -> str:
        try:
            piper_version = metadata.version("piper-tts")
        except metadata.PackageNotFoundError:  # pragma: no cover
            piper_version = "unknown"
        return f"piper-tts {piper_version}; processing {PROCESSING_VERSION}"

    def sample_rate(self, voice: Voice) -> int:
        """The model's own rate (a hand-made ``Voice`` may carry the default 22050)."""
        loaded = _MODELS.get((str(voice.model), self.threads))
        if loaded is not None:
            return int(loaded.config.sample_rate)
        return _config_rate(voice)

    def release(self) -> None:
        """Forget the loaded models (each loads again on next use): frees onnxruntime's
        working memory, which otherwise never shrinks (see synth.local._release_memory)."""
        with _MODELS_LOCK:
            _MODELS.clear()

    def load(self, voice: Voice) -> PiperVoice:
        """The loaded model for ``voice`` (cached); ``VoiceError`` if missing/corrupt."""
        key = (str(voice.model), self.threads)
        with _MODELS_LOCK:
            loaded = _MODELS.get(key)
            if loaded is None:
                loaded = _MODELS[key] = self._load(voice)
            return loaded

    def _load(self, voice: Voice) -> PiperVoice:
        if not voice.model.is_file():
            raise VoiceError(f"voice model for '{voice.name}' is missing", voice.model)
        try:
            cfg_dict = json.loads(voice.config.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise VoiceError(
                f"voice config (.onnx.json) for '{voice.name}' is missing", voice.config
            ) from None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise VoiceError(f"voice config is not valid JSON: {exc}", voice.config) from None

        import onnxruntime
        from piper.config import PiperConfig
        from piper.voice import PiperVoice

        try:
            config = PiperConfig.from_dict(cfg_dict)
        except (KeyError, TypeError, ValueError) as exc:
            raise VoiceError(f"voice config is incomplete ({exc!r})", voice.config) from None

        def options() -> Any:
            opts = onnxruntime.SessionOptions()
            # One thread per worker: parallelism comes from the process pool.
            opts.intra_op_num_threads = self.threads
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3
            # onnxruntime's memory-reuse planner takes ~3 s of a ~4 s load on this
            # model and makes inference no faster (measured: same speed and peak
            # memory); each synthesis worker loads the model: on the critical path.
            opts.enable_mem_reuse = False
            return opts

        try:
            session = load_session(voice.model, models_dir(), options)
        except Exception as exc:  # onnxruntime raises its own types for bad files
            text = str(exc).strip()
            first = text.splitlines()[0] if text else type(exc).__name__
            raise VoiceError(
                f"voice model for '{voice.name}' is corrupt or unreadable ({first[:160]})",
                voice.model,
            ) from None
        return PiperVoice(session=session, config=config)

    def synthesize(self, text: str, voice: Voice) -> np.ndarray:
        if not text.strip() or not _speakable(text):
            return np.zeros(0, dtype=np.int16)
        audio = self.synthesize_float(text, voice)
        if audio.size == 0:
            return np.zeros(0, dtype=np.int16)
        return to_int16(audio * np.float32(10 ** (self.gain_db(voice) / 20)))

    def synthesize_float(self, text: str, voice: Voice) -> np.ndarray:
        """The voice as Piper makes it (pitch, median pitch and tempo applied, not
        levelled), float32."""
        from piper.config import SynthesisConfig

        # "[[ ... ]]" is Piper's raw phoneme input: only lexicon entries put it there
        # (speech.spoken_text takes it out of story text), so it is passed through.
        model = self.load(voice)
        rate = model.config.sample_rate
        ratio = pitch_ratio(voice.pitch)
        # Synthesize `ratio` times slower, then resample back: pitch and formants move,
        # length doesn't. The tempo divides the whole length, unscaled part included.
        stretch = float(ratio) / max(voice.tempo, 0.1)
        unscaled = _UNSCALED_LENGTH
        length_scale = max(0.1, (model.config.length_scale + unscaled) * stretch - unscaled)
        syn = SynthesisConfig(
            speaker_id=voice.speaker_id,
            length_scale=length_scale,
            noise_scale=voice.noise_scale,
            noise_w_scale=voice.noise_w,
            normalize_audio=False,  # Piper would peak each sentence to full scale
        )
        gap = np.zeros(round(SENTENCE_GAP_SECONDS * rate), dtype=np.float32)
        clause_gap = np.zeros(round(CLAUSE_GAP_SECONDS * rate), dtype=np.float32)
        parts: list[np.ndarray] = []
        limit = phoneme_limit(length_scale, model.config.length_scale)
        for sentence in model.phonemize(text):
            for n, piece in enumerate(split_phonemes(sentence, limit)):
                ids = model.phonemes_to_ids(piece)
                raw = model.phoneme_ids_to_audio(ids, syn)
                audio = np.clip(np.asarray(raw, dtype=np.float32).reshape(-1), -1.0, 1.0)
                audio = trim_silence(shift_pitch(audio, ratio), rate)
                if audio.size:
                    if parts:
                        parts.append(clause_gap if n else gap)
                    parts.append(audio)
        if not parts:
            return np.zeros(0, dtype=np.float32)
        audio = np.concatenate(parts)
        return audio if voice.f0 is None else retune(audio, rate, voice.f0)

    def gain_db(self, voice: Voice) -> float:
        """The level correction for ``voice``: its own, else measured once and kept."""
        if voice.gain_db is not None:
            return voice.gain_db
        key = level_key(voice)
        with _LEVELS_LOCK:
            gain = _LEVELS.get(key)
            if gain is None:
                gain = _stored_levels().get(key)
            if gain is None:
                gain = self.measure_gain(voice)
                _store_level(key, gain)
            _LEVELS[key] = gain
        return gain

    def measure_gain(self, voice: Voice) -> float:
        """Gain (dB) that brings ``voice`` to VOICE_LUFS on the reference text."""
        audio = self.synthesize_float(REFERENCE_TEXT, voice)
        lufs = loudness(audio, self.sample_rate(voice))
        if not math.isfinite(lufs):
            log.warning("voice %s is silent on the reference text; not levelled", voice.name)
            return 0.0
        gain = max(-MAX_LEVEL_GAIN_DB, min(MAX_LEVEL_GAIN_DB, VOICE_LUFS - lufs))
        log.info("voice %s reads at %.1f LUFS; levelled by %+.1f dB", voice.name, lufs, gain)
        return round(gain, 2)


def loudness(audio: np.ndarray, rate: int) -> float:
    """Integrated loudness (LUFS, BS.1770) of float audio in [-1, 1]; -inf if silent
    or shorter than one 400 ms gating block."""
    from audiobook.assemble import integrated_loudness

    if audio.size < round(0.4 * rate):
        return float("-inf")
    return float(integrated_loudness(np.asarray(audio, dtype=np.float64), rate))


# --- stored levels -------------------------------------------------------------

_LEVELS: dict[str, float] = {}
_LEVELS_LOCK = threading.Lock()


def levels_path() -> Path:
    """Next to the segment cache: a level is as reusable, and as disposable."""
    env = os.environ.get("AUDIOBOOK_CACHE_DIR")
    if env:
        return Path(env) / LEVELS_FILE
    import platformdirs

    return Path(platformdirs.user_cache_dir("audiobook")) / LEVELS_FILE


@functools.lru_cache(maxsize=1024)
def level_key(voice: Voice) -> str:
    """Everything that changes how loud a voice reads (not its name). Cached: it is
    asked for every segment, and a voice's files do not change under a render."""
    try:
        model = [voice.model.name, voice.model.stat().st_size]
    except OSError:
        model = [voice.model.name, -1]
    try:
        config = hashlib.sha256(voice.config.read_bytes()).hexdigest()
    except OSError:
        config = "missing"
    payload = [
        model,
        config,
        voice.speaker_id,
        round(voice.pitch, 4),
        round(voice.tempo, 4),
        voice.f0,
        voice.noise_scale,
        voice.noise_w,
        REFERENCE_TEXT,
        VOICE_LUFS,
        PROCESSING_VERSION,
    ]
    return hashlib.sha256(json.dumps(payload).encode("utf-8")).hexdigest()[:32]


def _stored_levels() -> dict[str, float]:
    try:
        data = json.loads(levels_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float)}


def _store_level(key: str, gain: float) -> None:
    """Best effort and atomic: a lost or unwritable file only means measuring again."""
    path = levels_path()
    data = _stored_levels()
    data[key] = gain
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(data, indent=0, sort_keys=True))
    except (OSError, AudiobookError) as exc:
        log.warning("cannot save voice levels to %s: %s", path, exc)


class ToneEngine:
    """Fake engine: a sine per word, ~55 ms per character, a one-character silent gap
    between words; frequency follows the voice's pitch (its median pitch, if it has
    one), length its tempo."""

    name = "tone"
    BASE_HZ = 180.0
    CHAR_SECONDS = 0.055
    AMPLITUDE = 0.3

    def version(self) -> str:
        return "1"

    def sample_rate(self, voice: Voice) -> int:
        return voice.sample_rate

    def frequency(self, voice: Voice) -> float:
        return voice.f0 if voice.f0 is not None else self.BASE_HZ * 2 ** (voice.pitch / 12)

    def synthesize(self, text: str, voice: Voice) -> np.ndarray:
        words = text.split()
        if not words or not _speakable(text):
            return np.zeros(0, dtype=np.int16)
        rate = self.sample_rate(voice)
        per_char = self.CHAR_SECONDS / max(voice.tempo, 0.1)
        omega = 2 * np.pi * self.frequency(voice) / rate
        fade = round(0.005 * rate)
        parts: list[np.ndarray] = []
        for i, word in enumerate(words):
            if i:
                parts.append(np.zeros(round(per_char * rate)))
            n = round(len(word) * per_char * rate)
            tone = self.AMPLITUDE * np.sin(omega * np.arange(n))
            ramp = np.linspace(0.0, 1.0, min(fade, n // 2))
            if ramp.size:  # no clicks at word edges
                tone[: ramp.size] *= ramp
                tone[n - ramp.size :] *= ramp[::-1]
            parts.append(tone)
        return to_int16(np.concatenate(parts))


def get_engine(name: str, *, threads: int = 1) -> Engine:
    """``"piper"`` or ``"tone"``; anything else is an ``AudiobookError``."""
    engines: dict[str, Any] = {"piper": lambda: PiperEngine(threads), "tone": ToneEngine}
    factory = engines.get(name)
    if factory is None:
        raise AudiobookError(f"unknown engine '{name}' (known: {', '.join(engines)})")
    engine: Engine = factory()
    return engine
