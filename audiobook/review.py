"""The story under review and every decision the user makes about it.

Used by the TUI and the CLI alike, and UI-free on purpose (no Textual here). A decision
edits the sidecar, saves it, and shows its own effect at once (the line that was fixed,
the passage that was skipped); the re-attribution it implies (the neighbours a fix
steers) is computed by ``analyse``, which only reads the session, so the app can run it
in a worker thread and ``adopt`` the result when it is still current. Without ``defer``
every decision re-analyses on the spot, which is what tests and scripts want. What the
user sees is exactly what ``audiobook make`` will render, since both read the same
sidecar.

A line the user fixed or accepted is a ``SpeakerFix`` in the sidecar, and attribution
never changes a fixed line: that is how a line the user has seen stays put.
"""

from __future__ import annotations

import bisect
import copy
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from audiobook.analyze import Passage, attribute_prepared, place_passages, prepare, unattributed
from audiobook.background import AnalysisProcess
from audiobook.cast import Casting, cast_voices, voice_of_gender
from audiobook.characters import WordStats
from audiobook.errors import AudiobookError, CastError
from audiobook.fsutil import read_regular
from audiobook.model import Character, Gender, Script, Segment
from audiobook.sidecar import Sidecar, SpeakerFix, load_sidecar, parse_roster, save_sidecar
from audiobook.text.lexicon import Lexicon, Unusual, clean_entry, full_lexicon, unusual_words
from audiobook.voices import Voice, discover_voices, find_voice

LOW_CONFIDENCE = 0.7
PASSAGES = "passages"  # sidecar key: [{start, end, read, text}] the user marked skipped/read
HAND_PICKED = "hand_picked_voices"  # sidecar key: characters whose voice the user chose
KEEP_SCRIPTS = 10  # undo steps that keep their script; older ones re-analyse when undone
PROCESS_CHARS = 50_000  # from this long, attribution runs in a process of its own
ROSTER_MAX_BYTES = 16 * 2**20  # a cast file, not a story: anything bigger is a mistake


def uncertain(seg: Segment) -> bool:
    """A dialogue line worth a second look. A user's own choice never is, even when it
    gives the line to the narration voice."""
    if seg.kind != "dialogue" or seg.sieve == "user":
        return False
    return seg.speaker is None or seg.confidence < LOW_CONFIDENCE


@dataclass
class State:
    """Everything one undo step puts back. ``script`` None: too old to keep, so undoing
    to it re-analyses (the same sidecar gives the same script)."""

    sidecar: Sidecar
    script: Script | None
    casting: Casting | None
    settled: bool


@dataclass(frozen=True)
class Analysis:
    """A re-analysis for the decisions of ``generation``; stale once another is made."""

    generation: int
    sidecar: Sidecar  # the copy it ran on, with the voices casting chose written in
    script: Script
    casting: Casting


class Session:
    """One story, its sidecar, its script and its casting, kept in step."""

    def __init__(
        self,
        path: Path,
        *,
        voice_dirs: Sequence[Path] = (),
        library: Sequence[Voice] | None = None,
        defer: bool = False,
    ) -> None:
        self.path = Path(path)
        self.prepared = prepare(self.path)
        self.sidecar: Sidecar = load_sidecar(self.path)
        self.library: list[Voice] = (
            list(library) if library is not None else discover_voices(voice_dirs)
        )
        self.defer = defer
        self._process: AnalysisProcess | None = None
        self.generation = 0
        self.undo_stack: list[State] = []
        self.redo_stack: list[State] = []
        self.moved: set[int] = set()  # lines the last decision's re-analysis changed
        self._starts = [s.start for s in self.prepared.segments]
        self._before: Script | None = None  # what ``moved`` is measured against
        # Until the first analysis: the story cut into lines, nobody speaking yet.
        self.script = unattributed(self.prepared, self.sidecar)
        self.casting = cast_voices(self.script, self.library, copy.deepcopy(self.sidecar))
        self.settled = False
        if not defer:
            self.adopt(self.analyse(self.snapshot()))

    # --- analysis (``analyse`` may run in a worker thread) ----------------------

    def snapshot(self) -> tuple[int, Sidecar]:
        return self.generation, copy.deepcopy(self.sidecar)

    def start_process(self) -> None:
        """Attribute in a process of its own from now on, if the story is long enough
        for attribution in a thread to make the UI stutter."""
        if self._process is None and len(self.prepared.doc.text) >= PROCESS_CHARS:
            try:
                self._process = AnalysisProcess(self.path)
            except OSError:  # no processes here: a thread will do, only slower to use
                self._process = None

    def close(self) -> None:
        if self._process is not None:
            self._process.close()
            self._process = None

    def analyse(self, snap: tuple[int, Sidecar]) -> Analysis:
        """Attribute and cast for a snapshot of the decisions; touches no session state
        (one call at a time when a process attributes)."""
        generation, sc = snap
        script: Script | None = None
        if self._process is not None:
            try:
                script = self._process.attribute(self.prepared, sc)
            except AudiobookError:  # the process died: attribute here
                script = None
        if script is None:
            script = attribute_prepared(self.prepared, sc)
        return Analysis(generation, sc, script, cast_voices(script, self.library, sc))

    def adopt(self, result: Analysis) -> bool:
        """Take a finished analysis unless a later decision made it stale; sets
        ``moved`` to the lines it changed that the user did not decide."""
        if result.generation != self.generation:
            return False
        before = self._before
        self.script, self.casting, self.settled = result.script, result.casting, True
        self._before = None
        self.moved = set() if before is None else changed_lines(before, result.script)
        if result.sidecar.voices != self.sidecar.voices:  # new speakers got voices
            self.sidecar.voices = dict(result.sidecar.voices)
            self.save()
        return True

    def reanalyze(self) -> None:
        self.adopt(self.analyse(self.snapshot()))

    # --- reading -------------------------------------------------------------

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
        """What the narration voice reads: narration and unattributed dialogue."""
        return sum(
            1
            for s in self.script.segments
            if s.kind == "narration" or (s.kind == "dialogue" and s.speaker is None)
        )

    def unattributed_lines(self) -> int:
        """Dialogue nobody was found to say: the narration voice reads it."""
        return sum(1 for s in self.script.segments if s.kind == "dialogue" and s.speaker is None)

    def hand_picked(self) -> list[str]:
        raw = self.sidecar.extra.get(HAND_PICKED, [])
        return [n for n in raw if isinstance(n, str)] if isinstance(raw, list) else []

    def passages(self) -> list[Passage]:
        return place_passages(self.script.text, self.sidecar.extra.get(PASSAGES))[0]

    def is_read(self, seg: Segment) -> bool:
        """Whether the segment will be read aloud, after the user's passage marks (as
        the script stands now, even if ``seg`` is from an older one)."""
        return self.script.segments[self.index_of(seg)].kind != "skip"

    def index_of(self, seg: Segment) -> int:
        i = bisect.bisect_left(self._starts, seg.start)
        if i == len(self._starts) or self._starts[i] != seg.start:
            raise CastError("that line is no longer in the story")
        return i

    def was_moved(self, seg: Segment) -> bool:
        """Whether the last decision's re-analysis changed this line."""
        return bool(self.moved) and self.index_of(seg) in self.moved

    def passage_span(self, seg: Segment) -> tuple[int, int]:
        """A passage is the paragraph holding the segment: the unit a listener skips."""
        i = self.index_of(seg)
        segs = self.script.segments
        a = b = i
        while a > 0 and (segs[a - 1].paragraph, segs[a - 1].chapter) == (
            seg.paragraph,
            seg.chapter,
        ):
            a -= 1
        while b + 1 < len(segs) and (segs[b + 1].paragraph, segs[b + 1].chapter) == (
            seg.paragraph,
            seg.chapter,
        ):
            b += 1
        return segs[a].start, segs[b].end

    def lexicon(self) -> Lexicon:
        """Every pronunciation in force: built-in, the user's, this story's."""
        return full_lexicon(self.sidecar.lexicon)

    def unusual_words(self) -> list[Unusual]:
        """Words read aloud that are not in the English word list, most used first."""
        read = [self.is_read(s) for s in self.script.segments]
        return unusual_words(self.script, self.lexicon(), read=read)

    @cached_property
    def _word_stats(self) -> WordStats:
        return WordStats.of(self.script.text)

    def namelike(self, alias: str) -> bool:
        """Whether ``alias`` can stand for a person in the text. "Well" or "Sorry" (a
        word taken for a speaker) must not, or every "Well," would be theirs; "The Wife"
        is how attribution names someone unnamed, so it may."""
        words = alias.split()
        if not words or not all(w[:1].isupper() for w in words):
            return False
        if len(words) > 1 and words[0] == "The":
            return True
        return self._word_stats.namelike(words[-1])

    # --- undo -------------------------------------------------------------------

    def _state(self) -> State:
        return State(copy.deepcopy(self.sidecar), self.script, self.casting, self.settled)

    def undo(self) -> bool:
        """Put back the decisions, script and cast from before the last decision."""
        return self._step(self.undo_stack, self.redo_stack)

    def redo(self) -> bool:
        return self._step(self.redo_stack, self.undo_stack)

    def _step(self, back: list[State], forth: list[State]) -> bool:
        """Go back to the newest state on ``back``, keeping this one on ``forth`` so the
        step can be taken again the other way; False if ``back`` is empty."""
        if not back:
            return False
        forth.append(self._state())
        self._restore(back.pop())
        return True

    def _restore(self, state: State) -> None:
        self.sidecar = copy.deepcopy(state.sidecar)
        self.generation += 1
        self.moved = set()
        self._before = None
        if state.script is not None and state.casting is not None:
            self.script, self.casting, self.settled = state.script, state.casting, state.settled
        else:
            self.settled = False
        self.save()
        if not self.settled and not self.defer:
            self.reanalyze()

    # --- decisions -------------------------------------------------------------

    def _decide(self, change: Callable[[], Any], *, reattribute: bool = True) -> Any:
        """Apply one decision: undoable, saved, and (``reattribute``) re-analysed now or,
        when deferred, by whoever runs ``analyse``. A decision that fails changes nothing."""
        before = self._state()
        try:
            said = change()
        except BaseException:
            self.sidecar = before.sidecar
            raise
        self.undo_stack.append(before)
        for old in self.undo_stack[:-KEEP_SCRIPTS]:
            old.script = old.casting = None
        self.redo_stack.clear()
        self.generation += 1
        self.moved = set()
        if reattribute:
            if self._before is None:
                self._before = before.script
            self.settled = False
        else:
            self.casting = cast_voices(self.script, self.library, self.sidecar)
        self.save()
        if reattribute and not self.defer:
            self.reanalyze()
        return said

    def save(self) -> None:
        save_sidecar(self.sidecar)

    def set_voice(self, speaker: str | None, voice_name: str) -> None:
        """``speaker`` None is the narration voice. A voice chosen here is the user's:
        a later gender change does not replace it."""
        voice = find_voice(voice_name, self.library)

        def change() -> None:
            if speaker is None:
                self.sidecar.narrator_voice = voice.name
                return
            self.sidecar.voices[speaker] = voice.name
            self._set_hand_picked(speaker, True)

        self._decide(change, reattribute=False)

    def set_speed(self, speaker: str | None, speed: float) -> None:
        """How fast a character (``speaker`` None: the narration) reads: Piper's length
        scale, saved as ``[cast.speed]`` / ``narrator_speed``; 1.0 is the voice's own."""

        def change() -> None:
            kept = None if abs(speed - 1.0) < 1e-9 else speed
            if speaker is None:
                self.sidecar.narrator_speed = kept
            elif kept is None:
                self.sidecar.speeds.pop(speaker, None)
            else:
                self.sidecar.speeds[speaker] = kept

        self._decide(change, reattribute=False)

    def speed_of(self, speaker: str | None) -> float:
        if speaker is None:
            return self.sidecar.narrator_speed or 1.0
        return self.sidecar.speeds.get(speaker, 1.0)

    def _set_hand_picked(self, name: str, picked: bool) -> None:
        names = [n for n in self.hand_picked() if n != name] + ([name] if picked else [])
        if names:
            self.sidecar.extra[HAND_PICKED] = sorted(names)
        else:
            self.sidecar.extra.pop(HAND_PICKED, None)

    def set_book(self, title: str | None, author: str | None) -> None:
        """The title and author a player shows (``[book]`` in the sidecar); empty
        brings back what the story itself says."""

        def change() -> None:
            self.sidecar.title = " ".join((title or "").split()) or None
            self.sidecar.author = " ".join((author or "").split()) or None
            meta = replace(self.prepared.structure.meta)
            meta.title = self.sidecar.title or meta.title
            meta.author = self.sidecar.author or meta.author
            self.script = replace(self.script, meta=meta)

        self._decide(change, reattribute=False)

    def rename(self, old: str, new: str) -> None:
        new = " ".join(new.split())
        if not new or new == old:
            return
        if any(c.name == new for c in self.roster()):
            raise CastError(f"there is already a character called {new!r}: merge instead")

        def change() -> None:
            c = self.character(old)
            c.name = new
            c.aliases = [a for a in c.aliases if a != new]
            # Keep the old name findable in the text, or its lines would lose their speaker.
            if old in self.script.text and old not in c.aliases and self.namelike(old):
                c.aliases.append(old)
            self._move_speaker(old, new)

        self._decide(change)

    def set_gender(self, name: str, gender: Gender) -> None:
        """A voice the user did not choose is recast to one of the new gender."""

        def change() -> None:
            c = self.character(name)
            c.gender = gender
            voice = self.casting.voices.get(name)
            if name in self.hand_picked() or gender == "unknown":
                return
            if voice is None or voice.gender != gender:
                fit = voice_of_gender(self.script, self.library, self.casting, name, gender)
                if fit is None:
                    self.sidecar.voices.pop(name, None)  # casting picks the nearest
                else:
                    self.sidecar.voices[name] = fit.name

        self._decide(change)

    def merge(self, source: str, target: str) -> None:
        """``source`` becomes another name for ``target``; its lines go with it. Only
        names join the aliases: a word taken for a speaker never does."""
        if source == target:
            return

        def change() -> None:
            src, dst = self.character(source), self.character(target)
            for a in [src.name, *src.aliases]:
                if a != dst.name and a not in dst.aliases and self.namelike(a):
                    dst.aliases.append(a)
            dst.narrator = dst.narrator or src.narrator
            self.roster().remove(src)
            self.sidecar.voices.pop(source, None)
            self._set_hand_picked(source, False)
            self._move_speaker(source, target)

        self._decide(change)

    def not_a_character(self, name: str) -> None:
        """``name`` is nobody (a word taken for a speaker): it leaves the cast and is
        no one's alias; its lines go back to attribution, fixed ones included."""

        def change() -> None:
            roster = self.roster()
            roster.remove(self.character(name))
            for c in roster:
                c.aliases = [a for a in c.aliases if a != name]
            self.sidecar.voices.pop(name, None)
            self._set_hand_picked(name, False)
            self.sidecar.fixes = [f for f in self.sidecar.fixes if f.speaker != name]

        self._decide(change)

    def split(self, name: str, alias: str) -> None:
        """Undo part of a merge: ``alias`` becomes a character of its own."""
        c = self.character(name)
        if alias not in c.aliases:
            raise CastError(f"{name!r} is not also called {alias!r}")
        if any(o.name == alias for o in self.roster()):
            raise CastError(f"there is already a character called {alias!r}")

        def change() -> None:
            c.aliases.remove(alias)
            roster = self.roster()
            roster.insert(roster.index(c) + 1, Character(name=alias))

        self._decide(change)

    def reassign(self, seg: Segment, speaker: str | None) -> None:
        """Give a dialogue line to ``speaker`` (None: the narration voice)."""
        if seg.kind != "dialogue":
            raise CastError("only dialogue lines have a speaker")
        if speaker is not None:
            speaker = " ".join(speaker.split()) or None
        self._decide(lambda: self._fix(seg, speaker))

    def accept(self, seg: Segment) -> bool:
        """The user agrees with the guess: it is kept like a fix (never changed by later
        fixes) and leaves the review queue. False if there was nothing to accept."""
        if seg.kind != "dialogue" or seg.sieve == "user":
            return False
        self._decide(lambda: self._fix(seg, seg.speaker))
        return True

    def _fix(self, seg: Segment, speaker: str | None) -> None:
        fixes = [f for f in self.sidecar.fixes if (f.start, f.end) != (seg.start, seg.end)]
        fixes.append(SpeakerFix(seg.start, seg.end, speaker, seg.text))
        self.sidecar.fixes = sorted(fixes, key=lambda f: f.start)
        if (
            speaker is not None
            and self.sidecar.roster is not None
            and all(c.name != speaker for c in self.sidecar.roster)
        ):
            self.sidecar.roster.append(Character(name=speaker))
        # Shown at once; the re-analysis will agree (a fixed line is never changed).
        self._patch({self.index_of(seg): {"speaker": speaker, "confidence": 1.0, "sieve": "user"}})

    def _patch(self, changes: dict[int, dict[str, Any]]) -> None:
        """A new script with some segments changed: the old one may be an undo step."""
        segs = list(self.script.segments)
        for i, fields in changes.items():
            segs[i] = replace(segs[i], **fields)
        self.script = replace(self.script, segments=segs)

    def toggle_read(self, seg: Segment) -> bool:
        """Flip whether the segment's passage is read aloud; returns the new state.
        A mark equal to the default is removed, so the sidecar only holds exceptions.
        Each mark keeps its text, so it follows the passage if the story is edited."""
        start, end = self.passage_span(seg)
        now = not self.is_read(seg)
        default = self.prepared.segments[self.index_of(seg)].kind != "skip"

        def change() -> None:
            text = self.script.text
            kept: list[dict[str, Any]] = [
                {
                    "start": p.start,
                    "end": p.end,
                    "read": p.read,
                    "text": p.text or text[p.start : p.end],
                }
                for p in self.passages()
                if not (p.start < end and start < p.end)
            ]
            if now != default:
                kept.append({"start": start, "end": end, "read": now, "text": text[start:end]})
            if kept:
                self.sidecar.extra[PASSAGES] = sorted(kept, key=lambda p: p["start"])
            else:
                self.sidecar.extra.pop(PASSAGES, None)
            self._patch(self._read_changes(start, end, now))

        self._decide(change)
        return now

    def _read_changes(self, start: int, end: int, read: bool) -> dict[int, dict[str, Any]]:
        """How the passage's lines look once read or skipped, until re-analysis."""
        out: dict[int, dict[str, Any]] = {}
        i = bisect.bisect_left(self._starts, start)
        while i < len(self._starts) and self._starts[i] < end:
            seg, plain = self.script.segments[i], self.prepared.segments[i]
            if seg.kind != "heading":
                if not read:
                    out[i] = {"kind": "skip", "speaker": None, "sieve": "user"}
                else:
                    out[i] = {"kind": "narration" if plain.kind == "skip" else plain.kind}
            i += 1
        return out

    def set_pronunciation(self, word: str, said: str) -> str:
        """How this story says ``word`` (a respelling or ``[[ phonemes ]]``). Only
        what is spoken changes, so there is nothing to re-analyse."""
        word, said = _say(self.sidecar, word, said)
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
            if old in self.hand_picked():
                self._set_hand_picked(new, True)
        self.sidecar.voices.pop(old, None)
        self._set_hand_picked(old, False)
        for f in self.sidecar.fixes:
            if f.speaker == old:
                f.speaker = new


def _say(sidecar: Sidecar, word: str, said: str) -> tuple[str, str]:
    """Write the story's own entry for ``word`` and save; the entry as cleaned."""
    word, said = clean_entry(word, said)
    sidecar.lexicon[word] = said
    save_sidecar(sidecar)
    return word, said


def set_story_pronunciation(story: Path, word: str, said: str) -> Path:
    """The story's own entry for ``word`` without analysing the story (``lexicon add
    --story``); returns the sidecar written."""
    sidecar = load_sidecar(story)
    _say(sidecar, word, said)
    return sidecar.path


def read_roster(path: Path) -> list[Character]:
    """A reviewed cast from a JSON file (``script --characters``), in the shape the
    sidecar keeps it: ``[{"name", "aliases", "gender"}]``."""
    raw = read_regular(path, limit=ROSTER_MAX_BYTES, follow=True)
    if raw is None:  # a FIFO or device would block or never end
        raise CastError("cannot read roster (not a regular file, or over 16 MB)", path)
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError as e:
        raise CastError(f"cannot read roster ({e.__class__.__name__}: {e})", path) from e
    return parse_roster(data, path)


def changed_lines(before: Script, after: Script) -> set[int]:
    """Lines whose speaker or kind differ, except those the user decided."""
    return {
        i
        for i, (a, b) in enumerate(zip(before.segments, after.segments, strict=False))
        if (a.kind, a.speaker) != (b.kind, b.speaker) and b.sieve != "user"
    }
