"""Who says each line: ordered sieves, most certain first.

Each dialogue segment gets ``speaker``, ``confidence`` and ``sieve`` (the rule that
decided). Sieves run in order and never overwrite an earlier, surer answer:

1. ``user`` — the reader fixed this line (sidecar); never changed.
2. ``tag-name`` / ``tag-nominal`` / ``tag-pronoun`` / ``tag-first-person`` — a speech
   verb next to the quote names the speaker (``"…," Bruce ordered``, ``said his lady``,
   ``she whispered``, ``I said``). Pronouns go to the most recent referent of that
   gender, but not to whoever spoke the line before (a new paragraph is a new speaker).
3. ``continued`` — the later paragraphs of one long quotation share its speaker.
4. ``paragraph`` — one speaker per paragraph: a tag on one quote covers the others.
5. ``beat`` — the one named subject of the paragraph's narration speaks its quotes
   (``Clark grabbed her hands. "It's not mine."``).
6. ``vocative`` — a reply is spoken by whoever the previous line addressed
   (``"No buts, Dale."`` → the answer is Dale's, so is ``Bill asked me.``'s for "me").
7. ``turn-taking`` — in back-and-forth dialogue the speaker is the one two turns back.
8. ``previous-beat`` — a bare quote after a narration paragraph is its subject's (not
   someone it says kept quiet: ``Cohn said nothing.``).
9. ``conversation`` — runs of replies alternate between two people from every known
   turn; in crowded scenes only gaps the known speakers pin down are filled.

docs/attribution.md has the full table and the measured figures.

A line no sieve can place keeps ``speaker=None``: the narrator reads it, and the TUI
shows it as uncertain.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from ..characters import NameIndex, first_person_narrator
from ..model import Character, Segment
from .confidence import calibrate
from .described import merge_described
from .discover import _enrich, _narrator_name, discover_characters
from .scene import CONFIDENCE, NARRATOR_NAME
from .sieves import Attributor
from .tags import speech_verbs


def attribute(
    text: str,
    segments: Sequence[Segment],
    roster: Sequence[Character] | None = None,
    fixed: Mapping[tuple[int, int], str | None] | None = None,
) -> list[Character]:
    """Fill ``speaker``/``confidence``/``sieve`` on dialogue segments; return the cast.

    With a ``roster`` (a reviewed cast) speakers come only from it; otherwise the cast is
    discovered and trimmed to those who speak. ``fixed`` maps a dialogue span to the
    speaker the user chose; those lines are kept and steer their neighbours.
    """
    narration = [s for s in segments if s.kind == "narration"]
    fixed = fixed or {}
    for s in segments:  # attribution may run again (the TUI re-runs it): start clean
        if s.kind == "dialogue":
            s.continued = s.continued or s.sieve == "continued"
            s.speaker, s.confidence, s.sieve = None, 0.0, None
            if (s.start, s.end) in fixed:
                s.speaker, s.confidence, s.sieve = fixed[(s.start, s.end)], 1.0, "user"
    extra: dict[str, list[str]] = {}
    if roster is not None:
        chars = [Character(c.name, list(c.aliases), c.gender, c.narrator) for c in roster]
        extra = _enrich(chars, discover_characters(text, segments))
    else:
        chars = discover_characters(text, segments)
    known = {c.name for c in chars}
    for name in {v for v in fixed.values() if v and v not in known}:
        chars.append(Character(name=name))
    narrator = next((c.name for c in chars if c.narrator), None)
    if narrator is None and first_person_narrator(narration):
        # The narrator's name is the one the others call them by and the narration
        # never uses ("Jake" in the quotes, "I" outside them): a reviewed cast names
        # them, a discovered one learns the name as an alias.
        named = _narrator_name(text, segments, NameIndex(chars, extra))
        owner = next((c for c in chars if c.name == named), None)
        # A fix may already have named the voice "Narrator": that is the narrator.
        fixed_narrator = next((c for c in chars if c.name == NARRATOR_NAME), None)
        if owner is None and fixed_narrator is not None:
            owner = fixed_narrator
            if named:
                owner.aliases.append(named)
        if owner is not None:
            owner.narrator, narrator = True, owner.name
        else:
            narrator = NARRATOR_NAME
            chars.append(
                Character(name=NARRATOR_NAME, aliases=[named] if named else [], narrator=True)
            )
    attributor = Attributor(
        text, segments, NameIndex(chars, extra), narrator, invent=roster is None
    )
    attributor.run()
    chars.extend(c for c in attributor.invented.values() if c.name not in known)
    if roster is None:
        chars = merge_described(segments, chars)
    lines = Counter(s.speaker for s in segments if s.kind == "dialogue" and s.speaker)
    for c in chars:
        c.lines = lines.get(c.name, 0)
    if roster is None:
        chars = [c for c in chars if c.lines or c.narrator]
    chars.sort(key=lambda c: (not c.narrator, -c.lines, c.name))
    # The sieves' confidences say which rule decided; the fitted table says how often
    # such a line is right.
    calibrate(text, segments, chars, roster_given=roster is not None)
    return chars


__all__ = ["CONFIDENCE", "NARRATOR_NAME", "attribute", "discover_characters", "speech_verbs"]
