"""Whom someone talks with in a run of unattributed replies: a fitted choice.

A run of back-to-back dialogue paragraphs with one known speaker alternates between
them and one other person. The hand rule (``Conversation._other_voice_rule``) names one
candidate; several cues point at others: who acted or spoke just before the run, who
speaks just after it, who is named inside it, whom this speaker has traded tagged lines
with elsewhere in the book. Each candidate gets those cues as named features and one
small table of weights (``other_voice`` in ``data/attribution_weights.json``, fitted by
``benchmarks/fit_attribution.py``, a conditional logit over the candidates) picks the
most likely. Without a table the rule decides alone.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from typing import Protocol

from ..model import Segment
from .choice import RecordedChoice, best_candidate
from .scene import Referent, Turn


class Conversation(Protocol):
    """What the choice reads of the conversation it is handed."""

    narrator: str | None
    recent: list[Referent]
    turns: list[Turn]

    @property
    def partner_counts(self) -> dict[str, Counter[str]]: ...
    @property
    def turn_index(self) -> dict[int, int]: ...

    def _window(self, at: int, reach: int) -> list[Referent]: ...
    def _turns_before(self, turn: Turn) -> list[Turn]: ...
    def _index_at(self, at: int) -> int: ...
    def _scene_start(self, at: int) -> int: ...
    def _vocative(self, turn: Turn, lead: bool = False) -> str | None: ...


LOOK_AROUND = 1500  # characters before the run where the candidates were last seen
TURNS_AFTER = 5  # dialogue paragraphs after the run that may show the other voice

# Each feature in [0, 1], about one candidate for the other voice of a run.
OTHER_VOICE_FEATURES: dict[str, str] = {
    "rule": "the hand rule's pick (called by name, narrator, last to act, last to speak)",
    "called": "the known speaker's lines in the run call them by name",
    "narrator": "the first-person narrator (in every scene)",
    "acted_last": "the last person who acts in the narration just before the run",
    "acted": "acts in the narration just before the run",
    "spoke_last": "the last other speaker before the run",
    "spoke": "one of the last few other speakers before the run",
    "speaks_next": "the first other speaker in the few turns after the run",
    "speaks_after": "speaks in the few turns after the run",
    "named_last": "the last person named just before the run",
    "named": "how often named just before the run (/3, at most 1)",
    "in_run": "named in the narration inside the run",
    "partner": "tagged exchanges with the known speaker in the book (log, /3, at most 1)",
    "usual_partner": "the one the known speaker trades tagged lines with most",
}


# Set by the fit script to collect every decision; the rule alone decides meanwhile,
# so what it learns from does not depend on an earlier fit.
OTHER_VOICE_LOG: ContextVar[list[RecordedChoice] | None] = ContextVar(
    "other_voice_log", default=None
)


def choose_other_voice(
    model: Conversation, run: list[Turn], one: str, rule: str | None, weights: Mapping[str, float]
) -> str | None:
    """The best-scoring candidate (ties go to the rule's pick); nobody if the rule
    found nobody."""
    log = OTHER_VOICE_LOG.get()
    if rule is None or (not weights and log is None):
        # The rule finds nobody when the lines call someone we can't place: whoever
        # the other cues point at is then no better than the narrator's voice.
        return rule
    cands = candidate_features(model, run, one, rule)
    if log is not None:
        lines = [(q.start, q.end) for t in run if t.speaker is None for q in t.quotes]
        log.append(RecordedChoice(cands, lines, one))
        return rule
    return best_candidate(cands, weights, rule)


def candidate_features(
    model: Conversation, run: list[Turn], one: str, rule: str
) -> dict[str, dict[str, float]]:
    """Everyone a cue points at (besides ``one``), with the cues as features."""
    at = run[0].quotes[0].start
    since = model._scene_start(at - 1)  # not across a break that sets a new scene
    around = [
        r
        for r in model._window(at, LOOK_AROUND)
        if r.name and r.name != one and r.name != model.narrator and r.offset >= since
    ]
    named = [r.name for r in reversed(around)]
    acted = [r.name for r in reversed(around) if r.subject]
    earlier = reversed(model._turns_before(run[0]))
    before = [t.speaker for t in earlier if t.speaker not in (None, one) and t.segs[-1].end > since]
    after = [t.speaker for t in _turns_after(model, run[-1]) if t.speaker not in (None, one)]
    end = run[-1].segs[-1].end
    inside = {
        r.name
        for r in model.recent[model._index_at(at) : model._index_at(end)]
        if r.name and r.name != one
    }
    called = {v for t in run if t.speaker == one and (v := model._vocative(t, lead=True))} - {one}
    partners = model.partner_counts.get(one, Counter())
    usual = partners.most_common(1)[0][0] if partners else None
    people = [
        rule,
        *called,
        *([model.narrator] if model.narrator else []),
        *acted,
        *before,
        *after,
        *named,
        *sorted(inside),
        *(n for n, _ in partners.most_common(2)),
    ]
    out: dict[str, dict[str, float]] = {}
    for name in dict.fromkeys(p for p in people if p and p != one):
        out[name] = {
            "rule": float(name == rule),
            "called": float(name in called),
            "narrator": float(name == model.narrator),
            "acted_last": float(acted[:1] == [name]),
            "acted": float(name in acted),
            "spoke_last": float(before[:1] == [name]),
            "spoke": float(name in before),
            "speaks_next": float(after[:1] == [name]),
            "speaks_after": float(name in after),
            "named_last": float(named[:1] == [name]),
            "named": min(1.0, named.count(name) / 3),
            "in_run": float(name in inside),
            "partner": min(1.0, math.log1p(partners[name]) / 3),
            "usual_partner": float(name == usual),
        }
    return out


def _turns_after(model: Conversation, turn: Turn) -> Sequence[Turn]:
    i = model.turn_index[id(turn)]
    return model.turns[i + 1 : i + 1 + TURNS_AFTER]


def count_partners(turns: Sequence[Turn]) -> dict[str, Counter[str]]:
    """Who traded tagged lines with whom, over the whole book: adjacent paragraphs
    whose every placed quote was placed by a tag."""
    out: dict[str, Counter[str]] = {}
    for a, b in itertools.pairwise(turns):
        if not b.follows_turn or a.speaker is None or b.speaker is None or a.speaker == b.speaker:
            continue
        if _tagged(a.quotes) and _tagged(b.quotes):
            out.setdefault(a.speaker, Counter())[b.speaker] += 1
            out.setdefault(b.speaker, Counter())[a.speaker] += 1
    return out


def _tagged(quotes: Sequence[Segment]) -> bool:
    return all((q.sieve or "").startswith("tag") for q in quotes if q.speaker)
