#!/usr/bin/env python3
"""Leave-one-novel-out figures for the attribution confidence, through the real CLI.

Usage (from the project root):
    PYTHONPATH=$PWD python benchmarks/pdnc_loo.py [--fit] [--folds DIR] [--only NAME ...]
        [--mode plain|roster|both] [--repair-narrators]

For every PDNC novel X it runs ``../shared/eval/pdnc_bench.py --only X`` twice: with the
shipped table ("plain": fitted on all fourteen novels, X among them) and with
``AUDIOBOOK_ATTRIBUTION_WEIGHTS=DIR/X.json`` (the fold fitted without X), in both cast
modes (discovered, and ``--roster``). ``--fit`` (or missing or stale fold tables) runs
``benchmarks/fit_attribution.py`` first. Prints one row per novel and the micro totals:
attribution, quote_f1, ECE (recomputed from the pooled calibration bins the bench
prints, as ``score_pdnc.calibration_table`` does), and the lines stated >= 0.9: their
share of the attributed lines and how many of them are right. Attribution itself does
not depend on the table; only the stated confidence does. ``--repair-narrators`` scores
the first-person narrator as the fit does (see ``fit_attribution.repair_narrators``).
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT.parent / "shared" / "eval" / "pdnc_bench.py"
PDNC = ROOT.parent / "shared" / "pdnc"
SURE = 0.9
_ROW = re.compile(r"^(\w+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)")
_BIN = re.compile(r"^\s+\[([\d.]+),([\d.]+)\)\s+(\d+)\s+([\d.]+)\s+([\d.]+)")


@dataclass
class Run:
    """What one bench run printed: per-novel rows and the calibration bins."""

    quotes: int = 0
    f1_sum: float = 0.0  # quote_f1 x quotes
    right_sum: float = 0.0  # attribution x quotes
    bins: list[tuple[float, int, float, float]] = field(default_factory=list)  # lo, n, conf, acc

    def add(self, other: Run) -> None:
        self.quotes += other.quotes
        self.f1_sum += other.f1_sum
        self.right_sum += other.right_sum
        self.bins += other.bins

    def figures(self) -> dict[str, float]:
        lines = sum(n for _, n, _, _ in self.bins)
        gap = 0.0
        for lo in sorted({b[0] for b in self.bins}):
            same = [b for b in self.bins if b[0] == lo]
            n = sum(b[1] for b in same)
            conf = sum(b[1] * b[2] for b in same) / n
            acc = sum(b[1] * b[3] for b in same) / n
            gap += n * abs(conf - acc)
        sure = [b for b in self.bins if b[0] >= SURE]
        n_sure = sum(b[1] for b in sure)
        q = max(1, self.quotes)
        return {
            "attribution": self.right_sum / q,
            "quote_f1": self.f1_sum / q,
            "ece": gap / max(1, lines),
            "sure_share": n_sure / max(1, lines),
            "sure_of_quotes": n_sure / q,
            "sure_right": sum(b[1] * b[3] for b in sure) / max(1, n_sure),
        }


# The bench, with the scorer's narrator table repaired first (see
# fit_attribution.repair_narrators): it runs in the same process, so the patch holds.
_REPAIRED = f"""
import runpy, sys
sys.path[:0] = [{str(ROOT / "benchmarks")!r}, {str(BENCH.parent)!r}]
from fit_attribution import repair_narrators
repair_narrators(__import__("pathlib").Path({str(PDNC)!r}))
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def bench(novel: str, roster: bool, weights: Path | None, repair: bool) -> Run:
    cmd = "audiobook script {text} --json" + (" --characters {roster}" if roster else "")
    if weights is not None:
        cmd = f"env AUDIOBOOK_ATTRIBUTION_WEIGHTS={shlex.quote(str(weights))} {cmd}"
    args = ["--only", novel, "--cmd", cmd, *(["--roster"] if roster else [])]
    argv = [sys.executable, str(BENCH), *args]
    if repair:
        argv = [sys.executable, "-c", _REPAIRED, str(BENCH), *args]
    p = subprocess.run(argv, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{novel}: pdnc_bench failed: {(p.stdout + p.stderr).strip()[-300:]}")
    run = Run()
    for line in p.stdout.splitlines():
        if (m := _ROW.match(line)) and m.group(1) == novel:
            n = int(m.group(2))
            run.quotes, run.f1_sum, run.right_sum = n, float(m.group(3)) * n, float(m.group(5)) * n
        elif m := _BIN.match(line):
            lo, _, n_, conf, acc = m.groups()
            run.bins.append((float(lo), int(n_), float(conf), float(acc)))
    return run


def show(name: str, plain: Run, loo: Run) -> None:
    a, b = plain.figures(), loo.figures()
    print(
        f"{name:30s} {plain.quotes:6d} {a['attribution']:6.3f} {a['quote_f1']:6.3f}"
        f" {a['ece']:6.3f} {b['ece']:6.3f} {a['sure_share']:6.3f} {b['sure_share']:6.3f}"
        f" {a['sure_right']:6.3f} {b['sure_right']:6.3f}"
    )


def _stale(fold: Path) -> bool:
    """A fold table to refit: missing, older than the shipped table, or without one of
    its tables (folds written before a fitted choice was added would score without it)."""
    shipped = ROOT / "audiobook" / "data" / "attribution_weights.json"
    if not fold.exists() or fold.stat().st_mtime < shipped.stat().st_mtime:
        return True
    return bool(set(json.loads(shipped.read_text())) - set(json.loads(fold.read_text())))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--folds", type=Path, default=ROOT / "benchmarks" / "folds")
    ap.add_argument("--fit", action="store_true", help="refit the tables first")
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--mode", choices=("plain", "roster", "both"), default="both")
    ap.add_argument(
        "--repair-narrators",
        action="store_true",
        help="score a first-person narrator by the annotation's main name (as the fit does)",
    )
    a = ap.parse_args()
    novels = sorted(p.name for p in PDNC.iterdir() if (p / "quotation_info.csv").exists())
    novels = [n for n in novels if not a.only or n in a.only]
    if a.fit or any(_stale(a.folds / f"{n}.json") for n in novels):
        fit = [sys.executable, str(ROOT / "benchmarks" / "fit_attribution.py")]
        subprocess.run([*fit, "--folds", str(a.folds)], check=True, stdout=subprocess.DEVNULL)
    modes = {"plain": [False], "roster": [True], "both": [False, True]}[a.mode]
    for roster in modes:
        print(f"\n== cast {'given (--roster)' if roster else 'discovered'} ==")
        print(
            f"{'novel':30s} {'quotes':>6s} {'attr':>6s} {'q_f1':>6s} {'ece':>6s} {'ece_lo':>6s}"
            f" {'>=0.9':>6s} {'lo':>6s} {'right':>6s} {'lo':>6s}"
        )
        total_plain, total_loo = Run(), Run()
        for novel in novels:
            plain = bench(novel, roster, None, a.repair_narrators)
            loo = bench(novel, roster, (a.folds / f"{novel}.json").resolve(), a.repair_narrators)
            show(novel, plain, loo)
            total_plain.add(plain)
            total_loo.add(loo)
        show("ALL (micro)", total_plain, total_loo)
        for label, run in (("plain", total_plain), ("LOO", total_loo)):
            f = run.figures()
            print(
                f"{label:5s} {'roster' if roster else 'discovered':10s} "
                + " ".join(f"{k}={v:.4f}" for k, v in f.items())
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
