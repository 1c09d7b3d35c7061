"""Whom ``he said`` / ``she said`` means: a fitted choice among the people in sight.

The hand rule (``SceneModel._pronoun`` and the tag sieve's adjustments for ``she
added`` and replies to whoever was just called) names one person. Everyone of that sex
named in the last few thousand characters is a candidate, with named features: the
rule's pick, the nearest, the nearest subject, the second nearest, named in this
paragraph, who spoke the turns before, whom the turn before called, how often named
(whom the quote calls by name is no candidate: nobody calls themselves). One small
table (``pronoun`` in ``data/attribution_weights.json``, fitted by
``benchmarks/fit_attribution.py``, a conditional logit over the candidates) picks the
most likely. Without a table the rule decides alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .choice import RecordedChoice, best_candidate
from .scene import Referent

if TYPE_CHECKING:
    from .model import SceneModel

PRONOUN_REACH = 3000  # characters back that a pronoun's candidates may have been named

PRONOUN_FEATURES: dict[str, str] = {
    "rule": "the hand rule's pick",
    "nearest": "the last person of that sex named before the quote",
    "nearest_subject": "the last person of that sex who was a sentence's subject",
    "second": "the person of that sex named before the nearest one",
    "in_paragraph": "named in the quote's own paragraph",
    "spoke_before": "spoke the turn just before (a reply is someone else's)",
    "spoke_two_before": "spoke two turns before (A B A: the one who is answered answers)",
    "spoke_lately": "spoke one of the last six turns",
    "was_called": "the turn before called them by name",
    "named": "how often named in reach (/4, at most 1)",
    "far": "how far back they were last named (/reach)",
}


PRONOUN_LOG: ContextVar[list[RecordedChoice] | None] = ContextVar("pronoun_log", default=None)


@dataclass(frozen=True)
class PronounTag:
    """A pronoun tag as the sieve saw it: the quote, its sex, and the turn's context."""

    start: int
    end: int
    gender: str
    spoke_before: str | None
    was_called: str | None
    called: frozenset[str]


def choose_pronoun(
    model: SceneModel, tag: PronounTag, rule: str, weights: Mapping[str, float]
) -> str:
    """The best-scoring candidate (ties go to the rule's pick)."""
    log = PRONOUN_LOG.get()
    if not weights and log is None:
        return rule
    cands = candidate_features(model, tag, rule)
    if log is not None:
        log.append(RecordedChoice(cands, [(tag.start, tag.end)]))
        return rule
    return best_candidate(cands, weights, rule)


def candidate_features(
    model: SceneModel, tag: PronounTag, rule: str
) -> dict[str, dict[str, float]]:
    """The rule's pick and everyone of that sex named within reach, with their cues."""
    # Nobody calls themselves by name: whom the quote calls is no candidate; nor is
    # the narrator, who is "I".
    barred = tag.called | {model.narrator}
    seen: list[tuple[str, Referent]] = []  # nearest first
    for r in reversed(model.recent[: model._index_at(tag.start)]):
        if tag.start - r.offset > PRONOUN_REACH:
            break
        if r.name and r.name not in barred and r.gender == tag.gender:
            seen.append((r.name, r))
    last_at: dict[str, int] = {}  # each candidate's nearest mention, nearest first
    for name, r in seen:
        last_at.setdefault(name, r.offset)
    order = list(last_at)
    times = Counter(name for name, _ in seen)
    subject = next((name for name, r in seen if r.subject), None)
    out: dict[str, dict[str, float]] = {}
    for name in dict.fromkeys([rule, *order]):
        out[name] = {
            "rule": float(name == rule),
            "nearest": float(order[:1] == [name]),
            "nearest_subject": float(name == subject),
            "second": float(order[1:2] == [name]),
            "in_paragraph": float(last_at.get(name, -1) >= model.par_start),
            "spoke_before": float(name == tag.spoke_before),
            "spoke_two_before": float(model.spoken[-2:-1] == [name]),
            "spoke_lately": float(name in model.spoken[-6:]),
            "was_called": float(name == tag.was_called),
            "named": min(1.0, times[name] / 4),
            "far": (tag.start - last_at[name]) / PRONOUN_REACH if name in last_at else 1.0,
        }
    return out
