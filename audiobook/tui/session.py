"""The story under review and every decision the user makes about it.

UI-free on purpose (no Textual here): each decision edits the sidecar, re-runs the
core analysis and casting with it, and writes the sidecar at once, so what the user
sees is exactly what ``audiobook make`` will render.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audiobook.analyze import analyze
from audiobook.cast import Casting, cast_voices
from audiobook.errors import CastError
from audiobook.lexicon import Lexicon, Unusual, clean_entry, full_lexicon, unusual_words
from audiobook.model import Character, Gender, Script, Segment
from audiobook.sidecar import Sidecar, SpeakerFix, load_sidecar, save_sidecar
from audiobook.voices import Voice, discover_voices, find_voice

LOW_CONFIDENCE = 0.7
PASSAGES = "passages"  # sidecar key: [{start, end, read}] the user marked skipped/read


def uncertain(seg: Segment) -> bool:
    """A dialogue line worth a second look. A user's own choice never is, even when it
    gives the line to the narration voice."""
    if seg.kind != "dialogue" or seg.sieve == "user":
        return False
    return seg.speaker is None or seg.confidence < LOW_CONFIDENCE


@dataclass(frozen=True)
class Passage:
    start: int
    end: int
    read: bool


class Session:
    """One story, its sidecar, its script and its casting, kept in step."""

    def __init__(
        self,
        path: Path,
        *,
        voice_dirs: Sequence[Path] = (),
        library: Sequence[Voice] | None = None,
    ) -> None:
        self.path = Path(path)
        self.sidecar: Sidecar = load_sidecar(self.path)
        self.library: list[Voice] = (
            list(library) if library is not None else discover_voices(voice_dirs)
        )
        self.script: Script
        self.casting: Casting
        self.reanalyze()

    # --- reading -------------------------------------------------------------

    def reanalyze(self) -> None:
        self.script = analyze(self.path, sidecar=self.sidecar)
        self.casting = cast_voices(self.script, self.library, self.sidecar)

    def voice_of(self, speaker: str | None) -> Voice:
        if speaker is None:
            return self.casting.narrator
        return self.casting.voices.get(speaker, self.casting.narrator)

    def character(self, name: str) -> Character:
        for c in self.roster():
            if c.name == name:
                return c
        raise CastError(f"no character called {name!r}")

    def roster(self) -> list[Character]:
        """The reviewed cast; the first edit freezes the discovered one into it."""
        if self.sidecar.roster is None:
            self.sidecar.roster = [
                Character(c.name, list(c.aliases), c.gender, c.narrator)
                for c in self.script.characters
            ]
        return self.sidecar.roster

    def narration_lines(self) -> int:
        return sum(
            1
            for s in self.script.segments
            if s.kind == "narration" or (s.kind == "dialogue" and s.speaker is None)
        )

    def passages(self) -> list[Passage]:
        raw = self.sidecar.extra.get(PASSAGES, [])
        out: list[Passage] = []
        if isinstance(raw, list):
            for p in raw:
                if isinstance(p, dict) and isinstance(p.get("start"), int):
                    end, read = int(p.get("end", 0)), bool(p.get("read", False))
                    out.append(Passage(p["start"], end, read))
        return out

    def is_read(self, seg: Segment) -> bool:
        """Whether the segment will be read aloud, after the user's passage marks."""
        for p in self.passages():
            if p.start <= seg.start < p.end:
                return p.read
        return seg.kind != "skip"

    def passage_span(self, seg: Segment) -> tuple[int, int]:
        """A passage is the paragraph holding the segment: the unit a listener skips."""
        same = [
            s
            for s in self.script.segments
            if s.paragraph == seg.paragraph and s.chapter == seg.chapter
        ]
        return min(s.start for s in same), max(s.end for s in same)

    def lexicon(self) -> Lexicon:
        """Every pronunciation in force: built-in, the user's, this story's."""
        return full_lexicon(self.sidecar.lexicon)

    def unusual_words(self) -> list[Unusual]:
        """Words read aloud that are not in the English word list, most used first."""
        read = [self.is_read(s) for s in self.script.segments]
        return unusual_words(self.script, self.lexicon(), read=read)

    # --- decisions: each one re-analyses and saves -----------------------------

    def _commit(self) -> None:
        self.reanalyze()
        save_sidecar(self.sidecar)

    def save(self) -> None:
        save_sidecar(self.sidecar)

    def set_voice(self, speaker: str | None, voice_name: str) -> None:
        """``speaker`` None is the narration voice."""
        voice = find_voice(voice_name, self.library)
        if speaker is None:
            self.sidecar.narrator_voice = voice.name
        else:
            self.sidecar.voices[speaker] = voice.name
        self._commit()

    def rename(self, old: str, new: str) -> None:
        new = " ".join(new.split())
        if not new or new == old:
            return
        if any(c.name == new for c in self.roster()):
            raise CastError(f"there is already a character called {new!r}: merge instead")
        c = self.character(old)
        c.name = new
        c.aliases = [a for a in c.aliases if a != new]
        # Keep the old name findable in the text, or its lines would lose their speaker.
        if old in self.script.text and old not in c.aliases:
            c.aliases.append(old)
        self._move_speaker(old, new)
        self._commit()

    def set_gender(self, name: str, gender: Gender) -> None:
        c = self.character(name)
        c.gender = gender
        # A voice of the other gender is recast; a fitting or neutral one is kept.
        voice = self.casting.voices.get(name)
        if voice is not None and gender != "unknown" and voice.gender not in (gender, "unknown"):
            self.sidecar.voices.pop(name, None)
        self._commit()

    def merge(self, source: str, target: str) -> None:
        """``source`` becomes another name for ``target``; its lines go with it."""
        if source == target:
            return
        src, dst = self.character(source), self.character(target)
        for a in [src.name, *src.aliases]:
            if a != dst.name and a not in dst.aliases:
                dst.aliases.append(a)
        dst.narrator = dst.narrator or src.narrator
        self.roster().remove(src)
        self.sidecar.voices.pop(source, None)
        self._move_speaker(source, target)
        self._commit()

    def split(self, name: str, alias: str) -> None:
        """Undo part of a merge: ``alias`` becomes a character of its own."""
        c = self.character(name)
        if alias not in c.aliases:
            raise CastError(f"{name!r} is not also called {alias!r}")
        if any(o.name == alias for o in self.roster()):
            raise CastError(f"there is already a character called {alias!r}")
        c.aliases.remove(alias)
        roster = self.roster()
        roster.insert(roster.index(c) + 1, Character(name=alias))
        self._commit()

    def reassign(self, seg: Segment, speaker: str | None) -> None:
        """Give a dialogue line to ``speaker`` (None: the narration voice)."""
        if seg.kind != "dialogue":
            raise CastError("only dialogue lines have a speaker")
        if speaker is not None:
            speaker = " ".join(speaker.split()) or None
        fixes = [f for f in self.sidecar.fixes if (f.start, f.end) != (seg.start, seg.end)]
        fixes.append(SpeakerFix(seg.start, seg.end, speaker, seg.text))
        self.sidecar.fixes = sorted(fixes, key=lambda f: f.start)
        if (
            speaker is not None
            and self.sidecar.roster is not None
            and all(c.name != speaker for c in self.sidecar.roster)
        ):
            self.sidecar.roster.append(Character(name=speaker))
        self._commit()

    def toggle_read(self, seg: Segment) -> bool:
        """Flip whether the segment's passage is read aloud; returns the new state.
        A mark equal to the default is removed, so the sidecar only holds exceptions."""
        start, end = self.passage_span(seg)
        default = seg.kind != "skip"
        now = not self.is_read(seg)
        kept: list[dict[str, Any]] = [
            {"start": p.start, "end": p.end, "read": p.read}
            for p in self.passages()
            if not (p.start < end and start < p.end)
        ]
        if now != default:
            kept.append({"start": start, "end": end, "read": now})
        if kept:
            self.sidecar.extra[PASSAGES] = sorted(kept, key=lambda p: p["start"])
        else:
            self.sidecar.extra.pop(PASSAGES, None)
        self._commit()
        return now

    def set_pronunciation(self, word: str, said: str) -> str:
        """How this story says ``word`` (a respelling or ``[[ phonemes ]]``). Only
        what is spoken changes, so there is nothing to re-analyse."""
        word, said = clean_entry(word, said)
        self.sidecar.lexicon[word] = said
        self.save()
        return f"{word} is said {said}"

    def forget_pronunciation(self, word: str) -> bool:
        """Drop the story's own entry for ``word``; False if it had none."""
        if self.sidecar.lexicon.pop(word, None) is None:
            return False
        self.save()
        return True

    def _move_speaker(self, old: str, new: str) -> None:
        if old in self.sidecar.voices and new not in self.sidecar.voices:
            self.sidecar.voices[new] = self.sidecar.voices[old]
        self.sidecar.voices.pop(old, None)
        for f in self.sidecar.fixes:
            if f.speaker == old:
                f.speaker = new
