"""The pieces a scene is made of: turns, referents, the rules' confidences, and the
patterns that find mentions, vocatives and subjects in narration."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache

from ..characters import (
    GENDERED_NOUNS,
    NAME_RE,
    PERSON_VERBS,
)
from ..model import Segment
from ..text.titles import HONORIFICS
from .tags import _PREPOSITIONS, speech_verbs

NARRATOR_NAME = "Narrator"
BRIDGE = 160  # chars: a narration paragraph this short may sit inside a conversation
CONTINUE_REACH = 1500  # chars: "she added" goes on with a line this close before
SUBJECT_REACH = 250  # chars back from the nearest candidate where a subject still wins
NEWCOMER_REACH = 3000  # chars: "the young lady" may be someone the text names this soon
SALIENT_REACH = 2500  # chars: how far back an unplaced line looks for whom the scene names
OPEN_REACH = 20000  # chars: how far back an unplaced "she said" looks for a woman (or "he", a man)
CONFIDENCE = {
    "user": 1.0, "tag-name": 0.95, "tag-first-person": 0.92, "tag-nominal": 0.85,
    "tag-pronoun": 0.8, "continued": 0.9, "paragraph": 0.8, "beat": 0.65, "vocative": 0.7,
    "turn-taking": 0.6, "conversation": 0.5, "tag-epithet": 0.7,
    "previous-beat": 0.45, "self-named": 0.9, "salient": 0.35, "tag-look-back": 0.6,
    "unnamed": 0.7, "tag-sex-untold": 0.5,
}  # fmt: skip


@dataclass
class Turn:
    """A paragraph with dialogue in it: the unit of conversational turn-taking."""

    par: int
    segs: list[Segment]
    follows_turn: bool = False  # the paragraph right before is a turn too
    bridged: bool = False  # only a short narration paragraph since the last turn
    barred: set[str] = field(default_factory=set)  # who cannot be speaking ("her cousin")
    beat_before: list[Segment] = field(default_factory=list)  # narration paragraph before
    lead: Segment | None = None  # the narration that ends the paragraph before

    @property
    def quotes(self) -> list[Segment]:
        return [s for s in self.segs if s.kind == "dialogue"]

    @property
    def speaker(self) -> str | None:
        known = [q for q in self.quotes if q.speaker]
        return max(known, key=lambda q: q.confidence).speaker if known else None

    def assign(self, name: str, sieve: str) -> None:
        if name in self.barred:
            return
        if any(q.sieve == "tag-unresolved" for q in self.quotes):
            return  # the paragraph's speaker is someone we could not name
        for q in self.quotes:
            if q.speaker is None and q.sieve not in ("tag-unresolved", "user"):
                q.speaker, q.sieve, q.confidence = name, sieve, CONFIDENCE[sieve]


# People a story may never name, as it refers to them ("the stranger", "the boy").
_UNNAMED_NOUNS = frozenset(
    """man woman boy girl stranger gentleman lady figure guy kid lad lass youth newcomer
    visitor driver soldier guard officer doctor nurse priest waiter waitress""".split()
)
_PERSON_NOUN = re.compile(r"\b(?:[Aa]n?|[Tt]he)\s+(?:[a-z]+\s+){0,2}?([a-z]+)\b")


@dataclass
class Referent:
    offset: int
    name: str | None  # None: someone we can't name ("my father")
    gender: str
    subject: bool = False
    kin: bool = False  # "my father": the narrator's relative, whom we can't name


@cache
def _speaking_only() -> frozenset[str]:
    """Verbs of speaking only ("nodded", "laughed" are things people do as well)."""
    return speech_verbs() - PERSON_VERBS


def _has_speech_verb(text: str) -> bool:
    verbs = _speaking_only()
    return any(w in verbs for w in re.findall(r"[a-z]+", text))


def _runs(turns: list[Turn]) -> list[list[Turn]]:
    """Maximal stretches of back-to-back dialogue paragraphs."""
    runs: list[list[Turn]] = []
    for t in turns:
        if runs and t.follows_turn:
            runs[-1].append(t)
        else:
            runs.append([t])
    return runs


def _alternate(turns: list[Turn], i: int, step: int) -> str | None:
    """Speaker two turns away when the two neighbouring turns differ and the run of
    adjacent turns is unbroken."""
    j, k = i + step, i + 2 * step
    if not (0 <= k < len(turns)):
        return None
    a, b = turns[j], turns[k]
    adjacent = (
        (turns[i].follows_turn and a.follows_turn)
        if step < 0
        else (a.follows_turn and b.follows_turn)
    )
    if not adjacent or a.speaker is None or b.speaker is None or a.speaker == b.speaker:
        return None
    return b.speaker


def _is_subject(text: str, i: int, end: int) -> bool:
    """Sentence-initial, or followed by a verb a person does ("..., and Tom said")."""
    j = i - 1
    while j >= 0 and text[j] in " \t\"'“‘\n":  # a line break alone is a wrapped line
        if text[j : j + 2] == "\n\n" or text[j : j + 3] == "\n \n":
            return True
        j -= 1
    if j < 0 or text[j] in ".!?;":
        return True
    if _PASSIVE_BY.search(text[max(0, i - 40) : i]):
        return True  # "was scarcely heard by Darcy": the one who acts
    before = text[max(0, i - 12) : i].split()[-1:]
    if before and before[0].lower() in _PREPOSITIONS - {"by"}:
        return False  # "The loss of her daughter made Mrs. Bennet very dull"
    nxt = re.match(r"\s+(?:[a-z]+ly\s+|had\s+|then\s+)?([a-z]+)", text[end : end + 30])
    if nxt is None:
        return False
    return nxt.group(1) in PERSON_VERBS or nxt.group(1) in speech_verbs()


_PASSIVE_BY = re.compile(r"\b(?:was|were|been|being)\s+(?:\w+ly\s+)?\w+\s+by\s*$")
_SUBJECT_PRONOUN = re.compile(r"(?:^|[.!?;]\s+|\band\s+)[\"“]?(?P<p>[Hh]e|[Ss]he)\b")
# Sentence openers that are no part of a name.
_LEADERS = frozenset(
    """when whenever while then but and so though although once meanwhile whereupon if
    now yet still""".split()
)
# Whom a line is said to: "asked me", "turned to Mike", "said to Elizabeth".
_ADDRESS = re.compile(
    r"\b(?:asked|told|(?:said|turned|turning|whispered|called|replied|answered|cried|shouted"
    r"|spoke|muttered|murmured|nodded|smiled|added|continued|went\s+on)"
    rf"(?:\s+(?:he|she|I|{NAME_RE.pattern}))?(?:\s+[a-z]+ly)?\s+to)\s+"
    rf"(?P<who>me\b|{NAME_RE.pattern})"
)
_SILENT = re.compile(
    rf"(?P<who>{NAME_RE.pattern}|\b[Hh]e\b|\b[Ss]he\b|\bI\b)\s+(?:[a-z]+ly\s+)?"
    r"(?:said nothing|said no more|made no (?:answer|reply)|(?:was|remained|kept) silent"
    r"|(?:did not|didn't|could not|couldn't) (?:say anything|answer|reply|speak))\b"
)
# A silence the sentence bounds in time ("For a long moment he didn't say anything.",
# "She didn't answer at first."): it ends in speech, very often their own.
_SILENCE_ENDS = re.compile(
    r"\b(?:for\s+(?:a|one)\s+(?:long\s+|little\s+|few\s+)?(?:moments?|whiles?|seconds?"
    r"|minutes?|beats?|heartbeats?)|at\s+first|right\s+away|at\s+once|immediately)\b",
    re.IGNORECASE,
)
# "Daisy's mamma", "the undertaker's wife": an owner and what is theirs.
_POSSESSIVE = re.compile(rf"(?P<owner>{NAME_RE.pattern}|the\s+[a-z]+)['’]s\s+(?P<noun>.+)$")
_TITLE_MENTION = re.compile(r"\b[Tt]he\s+([a-z]+)\b")
_SELF_NAMED = re.compile(
    r"(?:^|[.!?,;]\s+)(?:I\s+am|I'm|I’m|[Mm]y\s+name\s+is)\s+_?"
    rf"(?P<name>{NAME_RE.pattern})_?\s*(?=[,.!?;—–]|$)"
)
_FORMER_LATTER = re.compile(r"\b[Tt]he\s+(former|latter)\b(?!\s+(?:part|half|case|place)\b)")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_GENDERED_ALT = "|".join(sorted(GENDERED_NOUNS, key=len, reverse=True))
_GENDERED_NOUN = re.compile(
    rf"\b(?:[Tt]he|[Hh]is|[Hh]er|[Mm]y|[Tt]heir|[Oo]ur|[Yy]our)\s+(?:[a-z]+\s+)?({_GENDERED_ALT})\b"
)
_NEW_PERSON = re.compile(rf"\b(?:[Aa]n?)\s+(?:[a-z-]+,?\s+){{0,3}}?({_GENDERED_ALT})\b")
# "Jake, …" at the start, or ", Jake." / ", my dear Mr. Bennet?" inside a quote.
_VOCATIVE = re.compile(
    rf"(?:^|[,;!?]\s+)(?:(?:my\s+)?(?:dear|darling|poor|good)\s+)?(?P<name>{NAME_RE.pattern})"
    r"\s*(?=[,.!?;—–]|$)"
)


_NAME_SENTENCE = re.compile(rf"[.!?…]\s+(?P<name>{NAME_RE.pattern})\s*(?=[.!?])")


def _vocatives(text: str, *, after_tag: bool = False) -> Iterator[re.Match[str]]:
    """Names a quote calls someone by. A name alone before a full stop at the start
    is an answer, not a call (``"Georgette." / "What are you called?"``) — unless the
    quote comes after its own speaker's tag or beat (``"Hey," he said. "Dee."``)."""
    seen: set[int] = set()
    for m in _VOCATIVE.finditer(text):
        seen.add(m.start("name"))
        if (
            not after_tag
            and m.start("name") == 0
            and not re.match(r"\s*[,!?;—–]", text[m.end("name") :])
        ):
            continue
        yield m
    # "Ah. Miss Fell. How good of you to come.": a name that is a sentence of its own
    # after another is said to someone (not "Mr. Bennet.", whose "Mr." ends nothing).
    for m in _NAME_SENTENCE.finditer(text):
        before = text[: m.start("name")].split()
        if m.start("name") not in seen and before[-1].rstrip(".").lower() not in HONORIFICS:
            yield m
