"""One person, one voice: a character the narration names by a description ("the
Jew", "the undertaker") whom the others, answering them, call by a name ("Fagin").

Dickens writes `"…," said the Jew` two hundred times and `"…," said Fagin` as often;
the cast discovered from the narration has two people, and the listener two voices.
The replies say who he is: `"Where's the boy, Fagin?"` is said to the one who spoke
the line before.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from ..characters import NameIndex
from ..model import Character, Segment
from .scene import _vocatives

CALLED_AT_LEAST = 5  # calls by one name before a description is taken for it
CALLED_SHARE = 0.6  # of all the names the description is called by
CALLED_CHAPTERS = 2  # "the nurse" of one chapter may be another in the next


def _turn_speakers(segments: Sequence[Segment]) -> dict[int, tuple[str | None, list[Segment]]]:
    """Each dialogue paragraph: who speaks it (its first placed quote) and its quotes."""
    quotes: defaultdict[int, list[Segment]] = defaultdict(list)
    for s in segments:
        if s.kind == "dialogue":
            quotes[s.paragraph].append(s)
    return {p: (next((q.speaker for q in qs if q.speaker), None), qs) for p, qs in quotes.items()}


def called_by_name(segments: Sequence[Segment], chars: Sequence[Character]) -> dict[str, str]:
    """Description -> the name the replies around its lines call it by, when they agree
    often, across chapters, and with hardly any other name."""
    index = NameIndex(chars)
    narrator = {c.name for c in chars if c.narrator}
    turns = _turn_speakers(segments)
    calls: defaultdict[str, Counter[str]] = defaultdict(Counter)
    chapters: defaultdict[tuple[str, str], set[int]] = defaultdict(set)
    for p, (who, _) in turns.items():
        if who is None or not who.startswith("the "):
            continue
        for other, quotes in (turns.get(q, (None, [])) for q in (p - 1, p + 1)):
            if other is None or other == who:
                continue
            for quote in quotes:
                for m in _vocatives(quote.text):
                    name = index.resolve(m.group("name"))
                    if name is not None and name != other:
                        calls[who][name] += 1
                        chapters[(who, name)].add(quote.chapter)
    out = {}
    for who, names in calls.items():
        (top, k), *rest = names.most_common()
        if (
            k >= CALLED_AT_LEAST
            and k >= CALLED_SHARE * names.total()
            and k >= 3 * (rest[0][1] if rest else 0)
            and len(chapters[(who, top)]) >= CALLED_CHAPTERS
            and not top.startswith("the ")
            and top not in narrator
        ):
            out[who] = top
    return out


def merge_described(segments: Sequence[Segment], chars: list[Character]) -> list[Character]:
    """The cast with each description that is someone's name folded into them: its
    lines theirs, its name their alias. A description the user gave a line to stays."""
    chosen = {s.speaker for s in segments if s.sieve == "user"}
    merged = {d: n for d, n in called_by_name(segments, chars).items() if d not in chosen}
    if not merged:
        return chars
    for s in segments:
        if s.speaker in merged:
            s.speaker = merged[s.speaker]
    by_name = {c.name: c for c in chars}
    for described, name in merged.items():
        gone = by_name[described]
        owner = by_name[name]
        owner.aliases.extend(a for a in (gone.name, *gone.aliases) if a not in owner.aliases)
    return [c for c in chars if c.name not in merged]
