"""What the two fitted choices (``partner``: the other voice of a run; ``pronoun``:
whom "he said" means) share: how a table picks among candidates, and the record of one
decision that the fit script learns from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class RecordedChoice:
    """One decision, for fitting: each candidate's features, the lines it placed, and
    who may not be the answer (the known speaker of a run)."""

    candidates: dict[str, dict[str, float]]
    lines: list[tuple[int, int]]
    one: str | None = None


def best_candidate(
    cands: Mapping[str, Mapping[str, float]], weights: Mapping[str, float], rule: str
) -> str:
    """The candidate whose features weigh most; ties go to the rule's pick."""

    def score(name: str) -> tuple[float, bool]:
        z = sum(weights.get(k, 0.0) * v for k, v in cands[name].items())
        return z, name == rule

    return max(cands, key=score, default=rule)
