#!/usr/bin/env python3
"""Fit the attribution confidence table on the annotated PDNC novels.

Usage (from the project root, with the worktree on the path):
    PYTHONPATH=$PWD python benchmarks/fit_attribution.py [--pdnc DIR] [--folds DIR]
        [--out PATH] [--l2 X] [--cache DIR] [--only NAME ...]

Every novel is analysed in-process twice (cast discovered, and the gold cast given as
``pdnc_bench.py --roster`` gives it), each placed line's features are read with
``audiobook.attribute.confidence.line_features`` and each line is marked right or
wrong by ``../shared/eval/score_pdnc.py``. An L2-regularised logistic regression
(Newton's method, numpy) is fitted for each way of running (cast discovered: "weights";
cast given: "weights_roster") and written to ``--out`` (default: the shipped
``audiobook/data/attribution_weights.json``); one file per novel, fitted on the others,
goes to ``--folds`` (default ``benchmarks/folds/``, git-ignored) for
``benchmarks/pdnc_loo.py``. The annotations are only read here: nothing of them but the
fitted numbers is written.

It also prints an in-process leave-one-novel-out estimate (each novel scored with its
fold's table): ECE and the share and accuracy of lines stated >= 0.9. ``--cache DIR``
keeps the analysed scripts between runs, for trying features without re-analysing (do
not use it after changing the attribution rules).
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import os
import pickle
import sys
import time
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(SHARED / "eval"))
import score_pdnc  # noqa: E402
from pdnc_bench import roster_for  # noqa: E402
from score_pdnc import calibration_table, score  # noqa: E402

from audiobook.analyze import analyze  # noqa: E402
from audiobook.attribute import speech_verbs  # noqa: E402
from audiobook.attribute.choice import RecordedChoice  # noqa: E402
from audiobook.attribute.confidence import (  # noqa: E402
    FEATURES,
    SIEVE_PREFIX,
    WEIGHTS_ENV,
    line_features,
)
from audiobook.attribute.partner import OTHER_VOICE_FEATURES, OTHER_VOICE_LOG  # noqa: E402
from audiobook.attribute.pronoun import PRONOUN_FEATURES, PRONOUN_LOG  # noqa: E402
from audiobook.model import Script  # noqa: E402
from audiobook.sidecar import parse_roster  # noqa: E402

SURE = 0.9  # "stated >= 0.9": the lines the review queue may skip


@dataclass
class Lines:
    """One analysis run's scored lines: feature dicts and whether each was right."""

    novel: str
    roster: bool
    feats: list[dict[str, float]]
    right: list[bool]


def repair_narrators(pdnc: Path) -> list[str]:
    """The scorer gives a narrator-flagged speaker the character its NARRATORS table
    names; where that is an alias rather than the annotation's main name (Styles:
    "Hastings" for "Mr. Hastings") every narrator line would count wrong. Point those
    entries at the main name the alias belongs to; return what was changed."""
    fixed = []
    for novel, name in list(score_pdnc.NARRATORS.items()):
        if not (pdnc / novel / "character_info.csv").exists():
            continue
        chars, alias_ix, main_ix, _ = score_pdnc.load_gold(pdnc / novel)
        ids = alias_ix.get(score_pdnc.norm(name), set())
        if name not in main_ix and len(ids) == 1:
            score_pdnc.NARRATORS[novel] = chars[next(iter(ids))]
            fixed.append(f"{novel}: {name} -> {chars[next(iter(ids))]}")
    return fixed


def analysed(
    novel: Path, with_roster: bool, cache: Path | None, table: Path | None = None
) -> Script:
    """The novel's script; ``table``: the weights file attribution reads meanwhile."""
    if table is not None:
        os.environ[WEIGHTS_ENV] = str(table)
    key = cache / f"{novel.name}.{'roster' if with_roster else 'plain'}.pickle" if cache else None
    if key is not None and key.exists():
        with open(key, "rb") as f:
            return pickle.load(f)  # our own cache file, written just below
    text = novel / "novel_text.txt"
    roster = parse_roster(roster_for(novel), text) if with_roster else None
    script = analyze(text, roster=roster)
    if key is not None:
        key.parent.mkdir(parents=True, exist_ok=True)
        with open(key, "wb") as f:
            pickle.dump(script, f)
    return script


def scored_lines(
    novel: Path, with_roster: bool, cache: Path | None, table: Path | None = None
) -> Lines:
    """Features of every placed line, and whether the scorer counts its quote right.

    The scorer reports (confidence of the quote's main segment, right?) pairs; giving
    each line its own number as "confidence" tells us which line each pair is about."""
    script = analysed(novel, with_roster, cache, table)
    rows = line_features(script.text, script.segments, script.characters, speech_verbs())
    number = {id(seg): k for k, (seg, _) in enumerate(rows)}
    as_json = {
        "segments": [
            {
                "kind": s.kind,
                "start": s.start,
                "end": s.end,
                "speaker": s.speaker,
                "confidence": float(number.get(id(s), -1)),
            }
            for s in script.segments
        ],
        "characters": [
            {"name": c.name, "aliases": list(c.aliases), "narrator": c.narrator}
            for c in script.characters
        ],
    }
    out = Lines(novel.name, with_roster, [], [])
    for k, ok in score(novel, as_json)["calibration"]:
        if k >= 0:
            out.feats.append(rows[int(k)][1])
            out.right.append(bool(ok))
    return out


@dataclass
class Choice:
    """One recorded candidate decision (other voice, pronoun): candidate features,
    which one was right, and how many lines rode on it."""

    novel: str
    x: np.ndarray
    right: np.ndarray
    lines: int


# The candidate choices, by their key in the weights file: what records them, their features.
CHOICES: dict[str, tuple[ContextVar[Any], dict[str, str]]] = {
    "other_voice": (OTHER_VOICE_LOG, OTHER_VOICE_FEATURES),
    "pronoun": (PRONOUN_LOG, PRONOUN_FEATURES),
}


def recorded_choices(novel: Path) -> dict[str, list[Choice]]:
    """Every candidate choice in the novel, of each kind (gold cast, the rules deciding),
    with the annotated speaker of the lines it placed: the candidate most of them
    belong to."""
    logs: dict[str, list[RecordedChoice]] = {k: [] for k in CHOICES}
    tokens = [(var, var.set(logs[k])) for k, (var, _) in CHOICES.items()]
    try:
        text = novel / "novel_text.txt"
        analyze(text, roster=parse_roster(roster_for(novel), text))
    finally:
        for var, token in tokens:
            var.reset(token)
    _, _, _, quotes = score_pdnc.load_gold(novel)
    spans = sorted((q["spans"][0][0], q["spans"][0][1], q["speaker_name"]) for q in quotes)
    starts = [a for a, _, _ in spans]
    return {
        k: [c for rec in logs[k] if (c := _labelled(novel.name, rec, spans, starts, list(feats)))]
        for k, (_, feats) in CHOICES.items()
    }


def _labelled(
    novel: str,
    rec: RecordedChoice,
    spans: Sequence[tuple[int, int, str]],
    starts: Sequence[int],
    features: Sequence[str],
) -> Choice | None:
    """The decision as a fitting row, or None if no candidate was right. ``spans``:
    the annotated quotes in order; ``starts``: where each begins."""
    votes: dict[str, int] = {}
    for a, b in rec.lines:
        i = bisect.bisect_right(starts, b) - 1
        for s0, s1, who in spans[max(0, i - 3) : i + 2]:
            if min(b, s1) > max(a, s0) and who != rec.one:
                votes[who] = votes.get(who, 0) + 1
                break
    gold = max(votes, key=lambda k: votes[k]) if votes else None
    if gold is None or gold not in rec.candidates:
        return None
    people = list(rec.candidates)
    x = np.array([[rec.candidates[p][f] for f in features] for p in people])
    return Choice(novel, x, np.array([p == gold for p in people]), len(rec.lines))


def fit_choice(choices: Sequence[Choice], l2: float, steps: int = 200) -> np.ndarray:
    """Conditional logit over each decision's candidates (softmax of w . x), every
    decision counted once (weighting by the lines at stake let a few long runs decide:
    leave one novel out, 1,213 other-voice lines right uncapped, 1,216 capped at 8,
    1,237 counted once); gradient ascent with an L2 penalty."""
    w = np.zeros(choices[0].x.shape[1] if choices else 0)
    total = len(choices) or 1
    for _ in range(steps):
        grad = -l2 * w
        for c in choices:
            z = c.x @ w
            p = np.exp(z - z.max())
            p /= p.sum()
            grad += c.x.T @ (c.right / c.right.sum() - p)
        w += 2.0 * grad / total
    return w


def choice_right(choices: Sequence[Choice], w: np.ndarray | None) -> int:
    """Lines whose choice is right under ``w`` (None: the rule's pick, column 0)."""
    col = 0
    return sum(
        c.lines * bool(c.right[int(np.argmax(c.x[:, col] if w is None else c.x @ w))])
        for c in choices
    )


def design(runs: Sequence[Lines], names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    col = {n: i for i, n in enumerate(names)}
    feats = [f for r in runs for f in r.feats]
    x = np.zeros((len(feats), len(names)))
    for i, f in enumerate(feats):
        for k, v in f.items():
            if k in col:
                x[i, col[k]] = v
    y = np.array([ok for r in runs for ok in r.right], dtype=float)
    return x, y


def fit(x: np.ndarray, y: np.ndarray, l2: float, names: Sequence[str]) -> np.ndarray:
    """L2-regularised logistic regression by Newton's method (the bias is not shrunk)."""
    penalty = np.full(len(names), l2)
    penalty[list(names).index("bias")] = 0.0
    w = np.zeros(len(names))
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -30, 30)))
        grad = x.T @ (p - y) + penalty * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def fit_modes(runs: Sequence[Lines], names: Sequence[str], l2: float) -> dict[bool, np.ndarray]:
    """One table for lines of a discovered cast (False), one for a given cast (True)."""
    return {
        m: fit(*design([r for r in runs if r.roster == m], names), l2, names) for m in (False, True)
    }


def predict(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x @ w, -30, 30)))


def describe(name: str) -> str:
    if name.startswith(SIEVE_PREFIX):
        return f"the line was placed by the {name[len(SIEVE_PREFIX) :]} sieve"
    return FEATURES.get(name, "")


def write_table(
    path: Path,
    names: Sequence[str],
    w: dict[bool, np.ndarray],
    meta: dict[str, object],
    choices: dict[str, np.ndarray],
) -> None:
    """The table as JSON with one weight per line, so a diff of two fits reads well."""
    head = [f" {json.dumps(k)}: {json.dumps(v)}," for k, v in meta.items()]

    def rows(names: Sequence[str], w: np.ndarray, why: Callable[[str], str]) -> str:
        return ",\n".join(
            f"  {json.dumps(n)}: " + json.dumps({"w": round(float(v), 4), "why": why(n)})
            for n, v in zip(names, w, strict=True)
        )

    tables = [
        f' "{key}": {{\n{rows(names, w[roster], describe)}\n }}'
        for key, roster in (("weights", False), ("weights_roster", True))
    ]
    for key, (_, feats) in CHOICES.items():
        tables.append(f' "{key}": {{\n{rows(list(feats), choices[key], feats.__getitem__)}\n }}')
    text = "{\n" + "\n".join(head) + "\n" + ",\n".join(tables) + "\n}\n"
    json.loads(text)  # the hand-made layout must still be JSON
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    part.write_text(text, encoding="utf-8")
    os.replace(part, path)


def summary(pairs: Sequence[tuple[float, bool]]) -> str:
    """ECE and the lines stated >= 0.9 (share, accuracy), as the bench computes them."""
    _, ece = calibration_table(pairs)
    sure = [ok for c, ok in pairs if c >= SURE]
    acc = sum(ok for _, ok in pairs) / max(1, len(pairs))
    return (
        f"lines={len(pairs):6d} right={acc:.3f} ece={ece:.3f} "
        f"sure={len(sure) / max(1, len(pairs)):.3f} sure_right={sum(sure) / max(1, len(sure)):.3f}"
    )


def fit_candidate_choices(
    novels: Sequence[Path], folds: Path, l2: float
) -> dict[str, dict[str, np.ndarray]]:
    """Each choice table fitted on all novels (key "") and on all but each one; each
    novel's fold tables are written at once (with no confidence weights yet), so the
    confidence fit reads lines attributed as that novel's leave-one-out run would."""
    recorded = {n.name: recorded_choices(n) for n in novels}
    out: dict[str, dict[str, np.ndarray]] = {}
    for key in CHOICES:
        rows = {name: kinds[key] for name, kinds in recorded.items()}
        out[""] = {**out.get("", {}), key: fit_choice([c for cs in rows.values() for c in cs], l2)}
        rule = fitted = 0
        for nov in novels:
            rest = [c for name, cs in rows.items() if name != nov.name for c in cs]
            out.setdefault(nov.name, {})[key] = fold = fit_choice(rest, l2)
            before, after = choice_right(rows[nov.name], None), choice_right(rows[nov.name], fold)
            rule, fitted = rule + before, fitted + after
            print(f"{nov.name:30s} {key:12s} lines right {before:4d} -> {after:4d} (LOO)")
        print(f"{'ALL':30s} {key:12s} lines right {rule:4d} -> {fitted:4d} (LOO)")
    meta: dict[str, object] = {"about": "choice fold tables, confidence not fitted yet"}
    none = {False: np.zeros(1), True: np.zeros(1)}
    for nov in novels:
        write_table(folds / f"{nov.name}.json", ["bias"], none, meta, out[nov.name])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pdnc", type=Path, default=SHARED / "pdnc")
    ap.add_argument("--folds", type=Path, default=ROOT / "benchmarks" / "folds")
    shipped = ROOT / "audiobook" / "data" / "attribution_weights.json"
    ap.add_argument("--out", type=Path, default=shipped)
    ap.add_argument("--l2", type=float, default=5.0, help="ridge penalty on each weight")
    ap.add_argument("--cache", type=Path, default=None, help="keep analysed scripts here")
    ap.add_argument("--only", nargs="*", default=None)
    a = ap.parse_args()
    novels = sorted(p for p in a.pdnc.iterdir() if (p / "quotation_info.csv").exists())
    if a.only:
        novels = [n for n in novels if n.name in a.only]
    for change in repair_narrators(a.pdnc):
        print(f"scorer's narrator repaired: {change}", file=sys.stderr)
    t0 = time.perf_counter()
    choices = fit_candidate_choices(novels, a.folds, a.l2)
    runs = [
        scored_lines(n, r, a.cache, a.folds / f"{n.name}.json")
        for n in novels
        for r in (False, True)
    ]
    os.environ.pop(WEIGHTS_ENV, None)
    took = time.perf_counter() - t0
    print(f"analysed and scored {len(novels)} novels three times in {took:.1f} s", file=sys.stderr)
    names = ["bias", *sorted({k for r in runs for f in r.feats for k in f} - {"bias"})]
    w = fit_modes(runs, names, a.l2)
    meta = {
        "about": "attribution confidence: P(line right) = 1 / (1 + exp(-sum(w * feature)))",
        "fitted_on": [n.name for n in novels],
        "lines": sum(len(r.right) for r in runs),
        "l2": a.l2,
    }
    write_table(a.out, names, w, meta, choices[""])
    pooled: dict[bool, list[tuple[float, bool]]] = {False: [], True: []}
    plain: dict[bool, list[tuple[float, bool]]] = {False: [], True: []}
    for nov in novels:
        rest = [r for r in runs if r.novel != nov.name]
        fold = fit_modes(rest, names, a.l2)
        write_table(
            a.folds / f"{nov.name}.json",
            names,
            fold,
            {**meta, "left_out": nov.name},
            choices[nov.name],
        )
        for r in (r for r in runs if r.novel == nov.name):
            xr, yr = design([r], names)
            loo = list(zip(predict(xr, fold[r.roster]).tolist(), map(bool, yr), strict=True))
            pooled[r.roster] += loo
            plain[r.roster] += zip(predict(xr, w[r.roster]).tolist(), map(bool, yr), strict=True)
            print(f"{nov.name:30s} {'roster' if r.roster else 'plain ':6s} " + summary(loo))
    for roster in (False, True):
        label = "--roster" if roster else "discovered"
        print(f"{'ALL fitted':14s} {label:10s} {summary(plain[roster])}")
        print(f"{'ALL LOO':14s} {label:10s} {summary(pooled[roster])}")
    for roster in (False, True):
        table = " ".join(f"{n}={v:+.2f}" for n, v in zip(names, w[roster], strict=True))
        print(f"weights{'_roster' if roster else ''}: {table}")
    return 0 if all(math.isfinite(float(v.sum())) for v in w.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
