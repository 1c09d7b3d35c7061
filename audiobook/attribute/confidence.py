"""How sure we are of each line's speaker: a measured probability, not a sieve's guess.

Once attribution has chosen every dialogue line's speaker, each line gets a few named
features read off the finished script (which sieve decided it, whether a speech verb
and the speaker's name sit right next to the quote, how far back the last tag was, how
crowded the scene is, …). A small logistic-regression table turns them into the
probability that the line is right: one table for a cast found in the text, one for a
reviewed cast, whose mistakes differ. The tables are fitted on annotated novels by
``benchmarks/fit_attribution.py`` and shipped in ``data/attribution_weights.json``;
``AUDIOBOOK_ATTRIBUTION_WEIGHTS=path.json`` replaces it (the leave-one-novel-out runs
score each novel with a table that never saw it).

Lines the user fixed keep confidence 1.0; lines nobody could place keep 0.0.
"""

from __future__ import annotations

import bisect
import json
import math
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from ..errors import AttributionError
from ..model import Character, Segment
from .tags import speech_verbs

WEIGHTS_ENV = "AUDIOBOOK_ATTRIBUTION_WEIGHTS"
SIEVE_PREFIX = "sieve:"  # one feature per sieve label, e.g. "sieve:tag-name"
TAG_WORDS = 4  # a speech verb this many words from the quote is "right next to it"
NEAR_PARAGRAPHS = 3  # "the scene so far": this paragraph and the three before
RECENT_TURNS = 8  # how many dialogue paragraphs back "who has been talking" looks
_PRONOUNS = frozenset("he she they i we".split())
_TITLES = frozenset("mr mrs miss ms lady sir lord dr".split())
_WORD = re.compile(r"[A-Za-z][\w'’-]*")

# The features besides the sieve one-hots, each in about [0, 1] so the weights compare.
FEATURES: dict[str, str] = {
    "bias": "every line",
    "first_person": "the story has a first-person narrator",
    "is_narrator": "the line is given to the first-person narrator",
    "tag_next": "a speech verb within four words of the quote, in its paragraph",
    "pronoun_in_tag": "a speech verb and a pronoun within four words of the quote (he said)",
    "other_in_tag": "a cast name other than the speaker's within four words of the quote",
    "par_named": "this or another quote of its paragraph, same speaker, has a naming tag",
    "mixed_titles": "the speaker's names carry two titles (Miss X, Mrs. X): maybe two people",
    "par_tagged": "another quote of the same paragraph has a speech-verb tag",
    "turns_since_tag": "dialogue paragraphs since the last tagged one (log, /3)",
    "alternates": "speaker is the one two turns back and not the one just before",
    "repeats": "speaker also spoke the dialogue paragraph just before",
    "crowd": "distinct speakers in the last eight dialogue paragraphs, beyond two (/4)",
    "two_people": "the speaker and at most one other spoke the last eight dialogue paragraphs",
    "duet": "A B A with only those two speaking lately (two_people and alternates)",
    "names_near": "distinct cast members named in this and the last three paragraphs (/5)",
    "speaker_near": "the speaker is named in this or the last three paragraphs",
    "calls_self": "the quote says the speaker's own name",
    "share": "the speaker's share of all placed lines",
    "quote_len": "length of the quote (log characters, /8)",
    "continued": "a later paragraph of a quotation running over several",
    "ahead_agrees": "the next tagged turn of the run fits strict turn-taking from this line",
    "ahead_disagrees": "the next tagged turn of the run breaks strict turn-taking from this line",
    "behind_agrees": "the last tagged turn of the run fits strict turn-taking up to this line",
    "behind_disagrees": "the last tagged turn of the run breaks strict turn-taking to this line",
    "inherited": "the speaker came from another quote of the paragraph, whose features these are",
}


@dataclass(frozen=True)
class Weights:
    """The fitted tables: feature name -> weight (unknown features weigh nothing)."""

    values: Mapping[str, float]  # lines of a cast the text showed (discovered)
    source: str
    # Whom a two-person run of replies is with: candidate feature -> weight (see
    # ``conversation.OTHER_VOICE_FEATURES``); empty: the hand rule alone decides.
    other_voice: Mapping[str, float] = field(default_factory=dict)
    # Whom "he said" means: candidate feature -> weight (``pronoun.PRONOUN_FEATURES``).
    pronoun: Mapping[str, float] = field(default_factory=dict)
    # Lines of a reviewed cast, whose mistakes are of other kinds (no split or merged
    # people): a table of their own; empty: ``values`` serves both.
    roster: Mapping[str, float] = field(default_factory=dict)

    def probability(self, feats: Mapping[str, float], roster_given: bool = False) -> float:
        table = self.roster if roster_given and self.roster else self.values
        z = sum(table.get(k, 0.0) * v for k, v in feats.items())
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def weights_from_json(data: object, where: str | Path) -> Weights:
    """``{"weights": {name: {"w": float, "why": str}}, "weights_roster": {…},
    "other_voice": {…}, "pronoun": {…}}`` (``why`` optional; a bare number for the
    entry will do; all tables but "weights" optional)."""
    table = data.get("weights") if isinstance(data, dict) else None
    if not isinstance(table, dict) or not table:
        raise AttributionError('weights file needs a non-empty "weights" table', where)
    choices = []
    for key in ("other_voice", "pronoun", "weights_roster"):
        choice = data.get(key, {}) if isinstance(data, dict) else {}
        if not isinstance(choice, dict):
            raise AttributionError(f'"{key}" must be a table of weights', where)
        choices.append(_numbers(choice, where))
    other_voice, pronoun, roster = choices
    return Weights(
        _numbers(table, where), str(where), other_voice=other_voice, pronoun=pronoun, roster=roster
    )


def _numbers(table: Mapping[object, object], where: str | Path) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, entry in table.items():
        w = entry.get("w") if isinstance(entry, dict) else entry
        if isinstance(w, bool) or not isinstance(w, int | float) or not math.isfinite(w):
            raise AttributionError(f"weight {name!r} must be a finite number", where)
        out[str(name)] = float(w)
    return out


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> Weights:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise AttributionError(f"cannot read attribution weights ({e})", path) from e
    return weights_from_json(data, path)


def load_weights(path: str | Path | None = None) -> Weights:
    """The table at ``path``, else ``$AUDIOBOOK_ATTRIBUTION_WEIGHTS``, else the shipped one."""
    chosen = path or os.environ.get(WEIGHTS_ENV)
    if chosen:
        p = Path(chosen)
        try:
            mtime = p.stat().st_mtime
        except OSError as e:
            raise AttributionError(f"cannot read attribution weights ({e.strerror})", p) from e
        return _load(str(p), mtime)
    shipped = files("audiobook").joinpath("data", "attribution_weights.json")
    return _load(str(shipped), 0.0)


class _Names:
    """Where each cast member is named in the text: one regex pass, then bisect."""

    def __init__(self, text: str, characters: Sequence[Character]) -> None:
        owner: dict[str, str | None] = {}
        for c in characters:
            for form in (c.name, *c.aliases):
                form = form.strip()
                if len(form) < 2 or not form[0].isupper():
                    continue  # "the stranger" would fire on every stranger
                owner[form] = c.name if owner.get(form, c.name) == c.name else None
        forms = sorted((f for f, o in owner.items() if o), key=len, reverse=True)
        self.starts: list[int] = []
        self.names: list[str] = []
        if not forms:
            return
        # The lookahead skips the alternation at every lowercase position: much faster.
        pattern = re.compile(r"\b(?=[A-Z])(?:" + "|".join(map(re.escape, forms)) + r")\b")
        for m in pattern.finditer(text):
            self.starts.append(m.start())
            self.names.append(owner[m.group()] or "")

    def between(self, a: int, b: int) -> list[str]:
        return self.names[bisect.bisect_left(self.starts, a) : bisect.bisect_left(self.starts, b)]


def _tag_words(text: str, quote: Segment, after: Segment | None, before: Segment | None) -> str:
    """The few words of narration right after the quote (or right before, ending in a
    colon or comma), where a tag (``said Ann``, ``Ann said:``) would be."""
    if after is not None and text[quote.end : after.start].strip(" \t\n\"'”’“‘") == "":
        words = _WORD.findall(after.text[:80])[:TAG_WORDS]
        if words:
            return " ".join(words)
    if before is not None and before.text.rstrip().endswith((",", ":", "—", "-")):
        return " ".join(_WORD.findall(before.text[-80:])[-TAG_WORDS:])
    return ""


def _forms(characters: Sequence[Character]) -> dict[str, set[str]]:
    """Each cast member's name and aliases, as lowercase words, for spotting them."""
    out: dict[str, set[str]] = {}
    for c in characters:
        words = {w.lower() for f in (c.name, *c.aliases) for w in _WORD.findall(f)}
        out[c.name] = {w for w in words if len(w) > 2 and w[0].isalpha()}
    return out


@dataclass(frozen=True)
class _Tag:
    """What the narration touching a quote says: a speech verb, the speaker's name, a
    pronoun, someone else's name."""

    verb: bool
    named: bool
    pronoun: bool
    other: bool


class _Scene:
    """The finished script, indexed once so each line's features are a few look-ups."""

    def __init__(
        self,
        text: str,
        segments: Sequence[Segment],
        characters: Sequence[Character],
        speech_verbs: frozenset[str],
    ) -> None:
        self.names = _Names(text, characters)
        self.forms = _forms(characters)
        self.everyone: set[str] = set().union(*self.forms.values())
        self.narrator = next((c.name for c in characters if c.narrator), None)
        self.titled = {c.name for c in characters if _mixed_titles(c)}
        self.own_name: dict[str, re.Pattern[str]] = {}
        placed = [s for s in segments if s.kind == "dialogue" and s.speaker]
        self.lines = Counter(s.speaker for s in placed)
        self.total = max(1, len(placed))
        self.pars: dict[int, list[Segment]] = {}
        for s in segments:
            self.pars.setdefault(s.paragraph, []).append(s)
        self.par_ids = sorted(self.pars)
        self.par_pos = {p: i for i, p in enumerate(self.par_ids)}
        self.turns = [p for p in self.par_ids if any(s.kind == "dialogue" for s in self.pars[p])]
        self.turn_pos = {p: i for i, p in enumerate(self.turns)}
        self.speaker = {p: _turn_speaker(self.pars[p]) for p in self.turns}
        self.tags = {id(s): self._tag(text, s, speech_verbs) for s in placed}
        self.tagged = {p for p in self.turns if any(_is_tag(s) for s in self.pars[p])}
        self.since = _turns_since(self.turns, self.tagged)

    def _tag(self, text: str, seg: Segment, speech_verbs: frozenset[str]) -> _Tag:
        par = self.pars[seg.paragraph]
        i = next(k for k, s in enumerate(par) if s is seg)
        after = par[i + 1] if i + 1 < len(par) and par[i + 1].kind == "narration" else None
        before = par[i - 1] if i > 0 and par[i - 1].kind == "narration" else None
        words = set(_tag_words(text, seg, after, before).lower().split())
        own = self.forms.get(seg.speaker or "", set())
        verb = not speech_verbs.isdisjoint(words)
        return _Tag(
            verb, verb and not own.isdisjoint(words), verb and not _PRONOUNS.isdisjoint(words),
            any(w in self.everyone and w not in own for w in words),
        )  # fmt: skip

    def _named_in_paragraph(self, seg: Segment) -> bool:
        """A quote of this paragraph with the same speaker has a tag naming them."""
        return any(
            s.speaker == seg.speaker and _is_tag(s) and self.tags[id(s)].named
            for s in self.pars[seg.paragraph]
            if s.kind == "dialogue" and s.speaker
        )

    def _parity(self, t: int, who: str) -> dict[str, float]:
        """Whether the nearest tagged turns of the same run, ahead and behind, fit the
        line under strict alternation (two people taking turns)."""
        out = {}
        for name, step in (("ahead", 1), ("behind", -1)):
            k, agrees = t, None
            while (
                abs(k - t) < RECENT_TURNS
                and 0 <= k + step < len(self.turns)
                and abs(self.turns[k + step] - self.turns[k]) == 1
            ):
                k += step
                if self.turns[k] in self.tagged:
                    agrees = ((k - t) % 2 == 0) == (self.speaker[self.turns[k]] == who)
                    break
            out[name + "_agrees"] = float(agrees is True)
            out[name + "_disagrees"] = float(agrees is False)
        return out

    def _says_own_name(self, seg: Segment) -> bool:
        own = self.forms.get(seg.speaker or "")
        if not own:
            return False
        if seg.speaker not in self.own_name:
            alt = "|".join(map(re.escape, sorted(own, key=len, reverse=True)))
            self.own_name[seg.speaker or ""] = re.compile(rf"\b(?:{alt})\b", re.IGNORECASE)
        return self.own_name[seg.speaker or ""].search(seg.text) is not None

    def features(self, seg: Segment) -> dict[str, float]:
        who = seg.speaker or ""
        par = self.pars[seg.paragraph]
        tag = self.tags[id(seg)]
        t = self.turn_pos[seg.paragraph]
        prev1 = self.speaker[self.turns[t - 1]] if _adjacent(self.turns, t, 1) else None
        prev2 = self.speaker[self.turns[t - 2]] if _adjacent(self.turns, t, 2) else None
        recent = {self.speaker[p] for p in self.turns[max(0, t - RECENT_TURNS) : t]} - {None}
        p0 = self.par_ids[max(0, self.par_pos[seg.paragraph] - NEAR_PARAGRAPHS)]
        near = set(self.names.between(self.pars[p0][0].start, par[-1].end)) - {""}
        return {
            "bias": 1.0,
            SIEVE_PREFIX + (seg.sieve or "none"): 1.0,
            "first_person": float(self.narrator is not None),
            "is_narrator": float(who == self.narrator),
            "tag_next": float(tag.verb),
            "pronoun_in_tag": float(tag.pronoun),
            "other_in_tag": float(tag.other),
            "par_named": float(self._named_in_paragraph(seg)),
            "par_tagged": float(any(_is_tag(s) for s in par if s is not seg)),
            "turns_since_tag": min(1.0, math.log1p(self.since[seg.paragraph]) / 3),
            "alternates": float(prev2 == who and prev1 not in (None, who)),
            "repeats": float(prev1 == who),
            "crowd": min(1.0, max(0, len(recent) - 2) / 4),
            "two_people": float(len(recent | {who}) <= 2),
            "duet": float(len(recent | {who}) <= 2 and prev2 == who and prev1 not in (None, who)),
            "names_near": min(1.0, len(near) / 5),
            "speaker_near": float(who in near),
            **self._parity(t, who),
            "calls_self": float(self._says_own_name(seg)),
            "mixed_titles": float(who in self.titled),
            "share": self.lines[who] / self.total,
            "quote_len": min(1.0, math.log1p(len(seg.text)) / 8),
            "continued": float(seg.continued),
        }


def _mixed_titles(c: Character) -> bool:
    """Names under two different titles ("Miss Hilbery", "Mrs. Hilbery"): likely two
    people merged into one cast member."""
    titles = {f.split()[0].rstrip(".").lower() for f in (c.name, *c.aliases) if " " in f}
    return len(titles & _TITLES) > 1


def line_features(
    text: str,
    segments: Sequence[Segment],
    characters: Sequence[Character],
    speech_verbs: frozenset[str],
) -> list[tuple[Segment, dict[str, float]]]:
    """The features of every placed, unfixed dialogue line, in text order."""
    scene = _Scene(text, segments, characters, speech_verbs)
    rows = [
        (s, scene.features(s))
        for s in segments
        if s.kind == "dialogue" and s.speaker and s.sieve != "user"
    ]
    return _inherited(rows, scene)


def _inherited(
    rows: list[tuple[Segment, dict[str, float]]], scene: _Scene
) -> list[tuple[Segment, dict[str, float]]]:
    """A quote that took its speaker from another quote of its paragraph is as sure as
    that one: it is described by the other's features (a tagged one's first), marked as
    borrowed."""
    source: dict[tuple[int, str | None], dict[str, float]] = {}
    for seg, f in sorted(rows, key=lambda row: not _is_tag(row[0])):
        if seg.sieve != "paragraph":
            source.setdefault((seg.paragraph, seg.speaker), f)
    return [
        (seg, {**source[key], "inherited": 1.0})
        if seg.sieve == "paragraph" and (key := (seg.paragraph, seg.speaker)) in source
        else (seg, f)
        for seg, f in rows
    ]


def _is_tag(seg: Segment) -> bool:
    return seg.kind == "dialogue" and (seg.sieve or "").startswith("tag-")


def _turn_speaker(par: Sequence[Segment]) -> str | None:
    """Who speaks the paragraph: its tagged quote's speaker, else its first placed one
    (not by confidence, which this module is about to overwrite)."""
    known = [s for s in par if s.kind == "dialogue" and s.speaker]
    tagged = [s for s in known if _is_tag(s)]
    return (tagged or known)[0].speaker if known else None


def _adjacent(turns: Sequence[int], t: int, back: int) -> bool:
    """The dialogue paragraph ``back`` turns before follows on without a gap."""
    return t >= back and turns[t] - turns[t - back] == back


def _turns_since(turns: Sequence[int], tagged: set[int]) -> dict[int, int]:
    """For each dialogue paragraph, how many back-to-back dialogue paragraphs ago the
    last tagged one was (0: this one is tagged; a gap in the talk counts as far)."""
    out: dict[int, int] = {}
    run = 10
    for k, p in enumerate(turns):
        if p in tagged:
            run = 0
        elif k and p - turns[k - 1] == 1:
            run += 1
        else:
            run = 10
        out[p] = run
    return out


def calibrate(
    text: str,
    segments: Sequence[Segment],
    characters: Sequence[Character],
    roster_given: bool,
    weights: Weights | None = None,
) -> None:
    """Replace each placed line's sieve confidence with the fitted probability."""
    table = weights or load_weights()
    for seg, feats in line_features(text, segments, characters, speech_verbs()):
        seg.confidence = table.probability(feats, roster_given)


__all__ = [
    "FEATURES",
    "WEIGHTS_ENV",
    "Weights",
    "calibrate",
    "line_features",
    "load_weights",
    "weights_from_json",
]
