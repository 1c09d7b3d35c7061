"""Who says each line: ordered sieves, most certain first.

Each dialogue segment gets ``speaker``, ``confidence`` and ``sieve`` (the rule that
decided). A sieve only answers when its evidence is there; a line no sieve can place
keeps ``speaker=None`` rather than a guess, so the reviewer sees what is uncertain.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from .characters import (
    NAME_RE,
    PRONOUN_GENDER,
    Cluster,
    Mention,
    NameIndex,
    cluster_gender,
    cluster_names,
    first_person_narrator,
    lowercase_vocabulary,
    name_mentions,
    norm,
)
from .model import Character, Segment

NARRATOR_NAME = "Narrator"


@cache
def speech_verbs() -> frozenset[str]:
    """Every inflection of the shipped speech verbs ("say", "said", "says", "saying")."""
    raw = files("audiobook").joinpath("data", "speech_verbs.txt").read_text(encoding="utf-8")
    out: set[str] = set()
    for line in raw.splitlines():
        if line.startswith("#"):
            continue
        for item in line.split():
            base, _, past = item.partition("=")
            out.add(base)
            out.add(past or (base + "d" if base.endswith("e") else base + "ed"))
            if base.endswith("y") and base[-2:-1] not in "aeiou":
                out.add(base[:-1] + "ied")
                out.add(base[:-1] + "ies")
            elif base.endswith(("s", "sh", "ch", "x", "z", "o")):
                out.add(base + "es")
            else:
                out.add(base + "s")
            out.add((base[:-1] if base.endswith("e") and base != "see" else base) + "ing")
    return frozenset(out)


_NOMINAL = r"(?:the|his|her|my|their|our)\s+[a-z]+(?:\s+[a-z]+)?"  # "the keeper", "his lady"
_WHO = rf"(?P<who>{NAME_RE.pattern}|[Hh]e|[Ss]he|I|{_NOMINAL})"
_ADV = r"(?:\s+[a-z]+ly)?"
# `"...," said Bruce` / `"...," Bruce said quietly` / `"...," she whispered`
_POST_VERB_FIRST = re.compile(rf"^[\s,;:—–\-]*(?P<verb>[a-z]+){_ADV}\s+{_WHO}")
_POST_WHO_FIRST = re.compile(rf"^[\s,;:—–\-]*{_WHO}{_ADV}\s+(?P<verb>[a-z]+)\b")
# `Bruce said, "..."` / `Then she asked quietly: "..."` at the end of the narration before.
_PRE = re.compile(
    rf"{_WHO}{_ADV}\s+(?P<verb>[a-z]+)(?:\s+[a-z]+ly|\s+to\s+\w+(?:\s+\w+)?)?\s*[,:]?\s*$"
)
_SUBJECT = re.compile(rf"(?:^|[.!?]\s+|;\s+|\bthen\s+|\band\s+){_WHO}{_ADV}\s+(?P<verb>[a-z]+)\b")


GENDERED_NOUNS = {
    "father": "male", "mother": "female", "man": "male", "woman": "female", "boy": "male",
    "girl": "female", "brother": "male", "sister": "female", "son": "male",
    "daughter": "female", "husband": "male", "wife": "female", "uncle": "male",
    "aunt": "female", "gentleman": "male", "lady": "female", "king": "male", "queen": "female",
    "lad": "male", "lass": "female", "papa": "male", "mama": "female", "grandfather": "male",
    "grandmother": "female", "old man": "male", "old woman": "female",
}
_GENDERED_NOUN = re.compile(
    r"\b(?:[Tt]he|[Hh]is|[Hh]er|[Mm]y|[Tt]heir|[Oo]ur|[Yy]our)\s+(?:[a-z]+\s+)?("
    + "|".join(sorted(GENDERED_NOUNS, key=len, reverse=True))
    + r")\b"
)


@dataclass
class Tag:
    who: str
    verb: str


def _tag_after(narr: str) -> Tag | None:
    verbs = speech_verbs()
    head = narr[:120]
    for rx in (_POST_VERB_FIRST, _POST_WHO_FIRST):
        m = rx.match(head)
        if m and m.group("verb") in verbs:
            return Tag(m.group("who"), m.group("verb"))
    return None


def _tag_before(narr: str) -> Tag | None:
    tail = narr[-160:]
    m = _PRE.search(tail)
    if m and m.group("verb") in speech_verbs():
        return Tag(m.group("who"), m.group("verb"))
    return None


class Attributor:
    """Walks the segments once, keeping the recent mentions that pronouns refer to."""

    def __init__(
        self, text: str, segments: Sequence[Segment], index: NameIndex, narrator: str | None
    ) -> None:
        self.text = text
        self.segments = segments
        self.index = index
        self.narrator = narrator
        # (offset, character name or None for an unnamed referent, gender), text order
        self.recent: list[tuple[int, str | None, str]] = []

    def _who(self, who: str, at: int) -> str | None:
        w = who.strip()
        if w == "I":
            return self.narrator
        g = PRONOUN_GENDER.get(w.lower())
        if g is not None:
            return self._last_of_gender(g, at)
        words = w.split()
        # "the keeper gently" -> "the keeper": descriptor tags may run into an adverb.
        for n in range(len(words), 0, -1):
            name = self.index.resolve(" ".join(words[:n]))
            if name is not None:
                return name
        return None

    def _last_of_gender(self, gender: str, at: int) -> str | None:
        """The nearest earlier referent of that gender. If it is someone we can't name
        ("my father"), the answer is None, not the next name back: a wrong voice is
        worse than the narrator's."""
        for off, name, g in reversed(self.recent):
            if off < at and g == gender:
                return name
        return None

    def _remember(self, offset: int, name: str | None, gender: str | None = None) -> None:
        g = gender or (self.index.gender(name) if name else "unknown")
        self.recent.append((offset, name, g))

    def _note_mentions(self, seg: Segment) -> None:
        found: list[tuple[int, str | None, str | None]] = []
        for m in NAME_RE.finditer(seg.text):
            name = self.index.resolve(m.group())
            if name is not None:
                found.append((seg.start + m.start(), name, None))
        for m in _GENDERED_NOUN.finditer(seg.text):
            if self.index.resolve(m.group()) is None:
                found.append((seg.start + m.start(), None, GENDERED_NOUNS[m.group(1).lower()]))
        for off, name, g in sorted(found, key=lambda t: t[0]):
            self._remember(off, name, g)

    def run(self) -> None:
        by_par: dict[int, list[Segment]] = defaultdict(list)
        for seg in self.segments:
            by_par[seg.paragraph].append(seg)
        continued = {id(s) for s in self.segments if s.continued}
        for par in sorted(by_par):
            segs = by_par[par]
            # Mentions before each quote count for its pronouns; do the paragraph in order.
            for i, seg in enumerate(segs):
                if seg.kind == "narration":
                    self._note_mentions(seg)
                    continue
                if seg.kind != "dialogue":
                    continue
                seg.sieve = None
                nxt = segs[i + 1] if i + 1 < len(segs) and segs[i + 1].kind == "narration" else None
                prv = segs[i - 1] if i > 0 and segs[i - 1].kind == "narration" else None
                tag = None
                if nxt is not None and self._adjacent(seg, nxt):
                    tag = _tag_after(nxt.text)
                    if tag is not None:
                        self._note_mentions(nxt)
                if tag is None and prv is not None and self._adjacent(prv, seg):
                    tag = _tag_before(prv.text)
                if tag is not None:
                    name = self._who(tag.who, seg.start)
                    kind = (
                        "tag-first-person"
                        if tag.who == "I"
                        else "tag-pronoun"
                        if tag.who.lower() in PRONOUN_GENDER
                        else "tag-name"
                    )
                    if name is not None:
                        seg.speaker, seg.sieve = name, kind
                        seg.confidence = {"tag-name": 0.95, "tag-first-person": 0.9}.get(kind, 0.8)
                        self._remember(seg.end, name)
            self._carry_in_paragraph(segs)
        self._unify_quotations(continued)

    def _unify_quotations(self, continued: set[int]) -> None:
        """A quotation running over several paragraphs has one speaker, whichever of
        its parts the tag sits by."""
        chains: list[list[Segment]] = []
        for seg in self.segments:
            if seg.kind != "dialogue":
                continue
            if id(seg) in continued and chains:
                chains[-1].append(seg)
            else:
                chains.append([seg])
        for chain in chains:
            if len(chain) < 2:
                continue
            best = max(chain, key=lambda s: s.confidence if s.speaker else -1.0)
            if best.speaker is None:
                continue
            for seg in chain:
                if seg.speaker is None or seg.confidence < best.confidence:
                    seg.speaker, seg.sieve = best.speaker, "continued"
                    seg.confidence = min(best.confidence, 0.9)

    def _adjacent(self, a: Segment, b: Segment) -> bool:
        """A tag belongs to a quote only when nothing but a closing mark and spaces or
        commas separate them (``"Go," she said`` — not across a sentence)."""
        gap = self.text[a.end : b.start]
        return len(gap) <= 4 and "\n\n" not in gap

    def _carry_in_paragraph(self, segs: list[Segment]) -> None:
        """One speaker per paragraph: a tag on one quote covers the others, and a lone
        named subject of the paragraph's narration (an action beat) speaks its quotes."""
        speakers = {s.speaker for s in segs if s.kind == "dialogue" and s.speaker}
        if len(speakers) == 1:
            who = next(iter(speakers))
            for s in segs:
                if s.kind == "dialogue" and s.speaker is None:
                    s.speaker, s.sieve, s.confidence = who, "paragraph", 0.75
            return
        if speakers:
            return
        subjects: set[str] = set()
        for s in segs:
            if s.kind != "narration":
                continue
            for m in _SUBJECT.finditer(s.text):
                who = m.group("who")
                if who.lower() in PRONOUN_GENDER or who == "I":
                    continue
                name = self.index.resolve(who)
                if name is not None:
                    subjects.add(name)
        if len(subjects) == 1:
            who = next(iter(subjects))
            for s in segs:
                if s.kind == "dialogue":
                    s.speaker, s.sieve, s.confidence = who, "beat", 0.6


def discover_characters(text: str, segments: Sequence[Segment]) -> list[Character]:
    """Candidate cast from the narration: names that speak in tags, carry honorifics,
    or recur. Those that end up with no line are dropped after attribution."""
    lower = lowercase_vocabulary(text)
    narration = [s for s in segments if s.kind == "narration"]
    mentions = name_mentions(text, ((s.start, s.end) for s in narration), lower)
    counts: Counter[str] = Counter(m.surface for m in mentions)
    keep = Counter({f: n for f, n in counts.items() if n >= 2 or "." in f or len(f.split()) > 1})
    # Tag subjects are people even when named once.
    for seg in narration:
        for tag in (_tag_after(seg.text), _tag_before(seg.text)):
            if tag and NAME_RE.fullmatch(tag.who) and tag.who.lower() not in PRONOUN_GENDER:
                for m in name_mentions(tag.who, [(0, len(tag.who))], lower):
                    keep[m.surface] += 1
    # So are the named subjects of action beats next to a quote ("Hester folded her
    # hands. \"It began...\"").
    quoted = {s.paragraph for s in segments if s.kind == "dialogue"}
    for seg in narration:
        if seg.paragraph in quoted:
            for sm in _SUBJECT.finditer(seg.text):
                who = sm.group("who")
                if who.lower() not in PRONOUN_GENDER and who != "I":
                    for mm in name_mentions(who, [(0, len(who))], lower):
                        keep[mm.surface] += 1
    clusters = cluster_names(keep)
    _vote_gender(text, mentions, clusters)
    chars = [
        Character(
            name=c.name, aliases=sorted(f for f in c.forms if f != c.name), gender=cluster_gender(c)
        )
        for c in clusters
    ]
    return chars


def _vote_gender(text: str, mentions: Sequence[Mention], clusters: list[Cluster]) -> None:
    """Pronouns right after a mention ("Tobias set down his rag") hint at gender."""
    form_home = {f: c for c in clusters for f in c.forms}
    for m in mentions:
        c = form_home.get(m.surface)
        if c is None:
            continue
        window = text[m.end : m.end + 60]
        for w in re.findall(r"\b(he|him|his|she|her|hers)\b", window.lower())[:1]:
            c.gender_votes[PRONOUN_GENDER[w]] += 1


def attribute(
    text: str, segments: Sequence[Segment], roster: Sequence[Character] | None = None
) -> list[Character]:
    """Fill ``speaker``/``confidence``/``sieve`` on dialogue segments; return the cast.

    With a ``roster`` (a reviewed cast) speakers come only from it; otherwise the cast is
    discovered and trimmed to those who speak.
    """
    narration = [s for s in segments if s.kind == "narration"]
    for s in segments:  # attribution may run again (the TUI re-runs it): start clean
        if s.kind == "dialogue":
            s.continued = s.continued or s.sieve == "continued"
            s.speaker, s.confidence, s.sieve = None, 0.0, None
    chars = (
        [Character(c.name, list(c.aliases), c.gender, c.narrator) for c in roster]
        if roster is not None
        else discover_characters(text, segments)
    )
    narrator = next((c.name for c in chars if c.narrator), None)
    if narrator is None and first_person_narrator(text, narration):
        narrator = NARRATOR_NAME
        chars.append(Character(name=NARRATOR_NAME, narrator=True))
    Attributor(text, segments, NameIndex(chars), narrator).run()
    lines = Counter(s.speaker for s in segments if s.kind == "dialogue" and s.speaker)
    for c in chars:
        c.lines = lines.get(c.name, 0)
    if roster is None:
        chars = [c for c in chars if c.lines or c.narrator]
    chars.sort(key=lambda c: (not c.narrator, -c.lines, c.name))
    return chars


__all__ = ["NARRATOR_NAME", "attribute", "discover_characters", "norm", "speech_verbs"]
