#!/usr/bin/env python3
"""Attribution on short modern and fanfiction scenes, written and labelled for this check.

Usage (from the project root):
    PYTHONPATH=$PWD python benchmarks/modern_scenes.py [--mode plain|roster|both]
        [--verbose] [--only SCENE ...]

The annotated novels the attribution is measured and fitted on are all nineteenth- and
early-twentieth-century; these scenes (``benchmarks/modern_scenes/``) are how users'
stories actually read: first-person narrators talking with someone never named, surnames
in speech and first names in narration, action beats instead of tags, stammers and
em-dash interruptions. They are a check of generality, never something to fit on.

Each scene is plain text with ``{{Speaker}}`` written just before every quotation's
opening mark; the marks are stripped before the analysis sees the text.
``modern_scenes/cast.json`` gives each scene's cast as ``--characters`` takes it (name,
aliases, gender, narrator). Each scene is analysed as ``audiobook script --json`` does
("plain": cast discovered; "roster": the scene's cast given, as after a review). A
predicted speaker is mapped to the labelled one by the narrator flag, else by a shared
name or alias (case-insensitive), else by a shared word of a name; a line counts right
only when it maps to its label. Prints per scene and in total: quotes, accuracy, lines
left without a speaker, and the lines stated >= 0.9 with how many of them are right;
``--verbose`` lists every wrong line.
"""

from __future__ import annotations

import argparse
import bisect
import json
import re
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audiobook.analyze import analyze, script_json
from audiobook.sidecar import Sidecar, parse_roster

SCENES = Path(__file__).resolve().parent / "modern_scenes"
MARK = re.compile(r"\{\{([^{}]+)\}\}")
QUOTE_MARKS = "\"'“‘"
SURE = 0.9


@dataclass
class Gold:
    offset: int  # the opening quote mark in the stripped text
    speaker: str


@dataclass
class Result:
    scene: str
    quotes: int = 0
    right: int = 0
    unplaced: int = 0
    sure: int = 0
    sure_right: int = 0
    wrong: list[str] = field(default_factory=list)


def strip_marks(marked: str, where: str) -> tuple[str, list[Gold]]:
    """The text as a reader sees it, and each label at its quote's opening mark."""
    parts: list[str] = []
    gold: list[Gold] = []
    last = pos = 0
    for m in MARK.finditer(marked):
        parts.append(marked[last : m.start()])
        pos += m.start() - last
        if marked[m.end() : m.end() + 1] not in QUOTE_MARKS:
            raise SystemExit(f"{where}: label {m.group(0)} is not before a quote mark")
        gold.append(Gold(pos, m.group(1)))
        last = m.end()
    parts.append(marked[last:])
    return "".join(parts), gold


def _names(c: dict[str, Any]) -> set[str]:
    return {n.lower() for n in (c["name"], *c.get("aliases", []))}


def speaker_map(predicted: list[dict[str, Any]], cast: list[dict[str, Any]]) -> dict[str, str]:
    """Predicted character name -> labelled speaker, where one labelled speaker fits best."""
    narrator = next((c["name"] for c in cast if c.get("narrator")), None)
    out: dict[str, str] = {}
    for p in predicted:
        if p.get("narrator") and narrator:
            out[p["name"]] = narrator
            continue
        for level in (_names, _name_words):  # a whole name first, else a word of one
            mine = level(p)
            votes = Counter({g["name"]: k for g in cast if (k := len(mine & level(g)))})
            best = votes.most_common(2)
            if best and (len(best) == 1 or best[0][1] > best[1][1]):
                out[p["name"]] = best[0][0]
                break
    return out


def _name_words(c: dict[str, Any]) -> set[str]:
    return {w for n in _names(c) for w in n.split()}


def run_scene(path: Path, cast: list[dict[str, Any]], roster: bool) -> Result:
    text, gold = strip_marks(path.read_text(encoding="utf-8"), path.name)
    with tempfile.TemporaryDirectory() as tmp:
        story = Path(tmp) / path.name
        story.write_text(text, encoding="utf-8")
        characters = parse_roster(cast, story) if roster else None
        sidecar = Sidecar(path=story.with_suffix(".toml"))  # none: a fresh analysis
        js = script_json(analyze(story, roster=characters, sidecar=sidecar))
    mapping = speaker_map(js["characters"], cast)
    segs = sorted((s for s in js["segments"] if s["kind"] == "dialogue"), key=lambda s: s["start"])
    starts = [s["start"] for s in segs]
    res = Result(path.stem)
    for g in gold:
        i = bisect.bisect_right(starts, g.offset)
        seg = segs[i] if i < len(segs) and segs[i]["start"] <= g.offset + 3 else None
        pred = seg["speaker"] if seg else None
        conf = seg["confidence"] if seg else 0.0
        ok = pred is not None and mapping.get(pred) == g.speaker
        res.quotes += 1
        res.right += ok
        res.unplaced += pred is None
        if conf >= SURE:
            res.sure += 1
            res.sure_right += ok
        if not ok:
            line = text[g.offset : g.offset + 60].split("\n")[0]
            how = f"{seg['sieve']} {conf:.2f}" if seg else "no quote found"
            res.wrong.append(f"  {g.speaker:>10s} <- {pred!s:14s} [{how}] {line}")
    return res


def report(results: list[Result], title: str, verbose: bool) -> None:
    print(f"\n{title}")
    heads = ("quotes", "right", "acc", "none", ">=0.9", "right")
    print(f"{'scene':24s} " + " ".join(f"{h:>6s}" for h in heads))
    total = Result("all")
    for r in [*results, total]:
        if r is not total:
            for k in ("quotes", "right", "unplaced", "sure", "sure_right"):
                setattr(total, k, getattr(total, k) + getattr(r, k))
        acc = r.right / r.quotes if r.quotes else 0.0
        print(
            f"{r.scene:24s} {r.quotes:6d} {r.right:6d} {acc:6.3f} {r.unplaced:6d} "
            f"{r.sure:6d} {r.sure_right:6d}"
        )
    if verbose:
        for r in results:
            if r.wrong:
                print(f"-- {r.scene}: gold <- predicted [sieve confidence] quote")
                print("\n".join(r.wrong))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", choices=("plain", "roster", "both"), default="both")
    ap.add_argument("--verbose", "-v", action="store_true")
    ap.add_argument("--only", nargs="*", default=None, help="scene file stems")
    a = ap.parse_args()
    casts = json.loads((SCENES / "cast.json").read_text(encoding="utf-8"))
    scenes = [SCENES / name for name in sorted(casts)]
    if a.only:
        scenes = [p for p in scenes if p.stem in a.only or p.name in a.only]
    for roster in {"plain": [False], "roster": [True], "both": [False, True]}[a.mode]:
        results = [run_scene(p, casts[p.name]["cast"], roster) for p in scenes]
        report(results, "cast given (--roster)" if roster else "cast discovered", a.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
