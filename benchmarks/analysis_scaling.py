"""Does analysis time grow linearly with the size of a story? Prints figures.

Analysis (load, structure, segments, characters, attribution) of 100 KB, 300 KB and
1 MB of three kinds of text:

  names   pathological: every sentence brings in new capitalised pseudo-names (thousands
          of distinct candidates, most of them people who speak), the case where
          comparing every name with every other made analysis quadratic
  prose   ordinary prose: the bundled example story repeated
  tags    pseudo-names in tags that name a relative or a description ("said Kariven's
          mother", "said the keeper of the hollin house"), each a minor character: a
          description is looked up by its words, not among every descriptive alias

For each, the CPU seconds of the analysis and the milliseconds per KB; linear growth
means the per-KB figure at 1 MB is within 20% of the one at 100 KB (the last column,
the ratio, near 1.0). CPU time rather than wall time because the machine may be
shared (other load stretches wall time, not the CPU time this process uses); wall
time is printed too. Each size is timed ``--runs`` times and the fastest run counts.

    python benchmarks/analysis_scaling.py
    python benchmarks/analysis_scaling.py --runs 1 --sizes 100 300
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from audiobook.analyze import analyze  # noqa: E402

EXAMPLE = ROOT / "examples" / "the-lighthouse-at-gull-point.txt"
_SYLLABLES = "ka ri mo ven tal os bri du lan fe gor ith ul ze phar nim ast cor el ry".split()
_TITLES = ["Mr.", "Mrs.", "Miss", "Dr.", "Captain", "Lady", "Sir"]


def _pseudo_name(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))).title()


def pathological(size: int, seed: int = 1) -> str:
    """About ``size`` characters in which almost every capitalised word is new: names
    that act, speak in tags, carry titles, and full names whose parts recur rarely."""
    rng = random.Random(seed)
    out: list[str] = ["The Book of Many Names\n\n"]
    total = 0
    while total < size:
        a, b, c = (_pseudo_name(rng) for _ in range(3))
        title = rng.choice(_TITLES)
        para = (
            f"{a} {b} looked at {title} {c} across the room. "
            f'"Where is {_pseudo_name(rng)}?" asked {a}. '
            f'"Gone to {_pseudo_name(rng)} {_pseudo_name(rng)}," said {title} {c}, '
            f"and {_pseudo_name(rng)} nodded.\n\n"
        )
        out.append(para)
        total += len(para)
    return "".join(out)


def nominal_tags(size: int, seed: int = 2) -> str:
    """About ``size`` characters of tags naming relatives and described strangers."""
    rng = random.Random(seed)
    out: list[str] = ["The Book of Many Relatives\n\n"]
    total = 0
    while total < size:
        a, house = _pseudo_name(rng), _pseudo_name(rng).lower()
        para = (
            f'{a} stood by the door. "Who is the man with the hat?" said {a}’s mother. '
            f'"Nobody," said the keeper of the {house} house.\n\n'
        )
        out.append(para)
        total += len(para)
    return "".join(out)


def prose(size: int) -> str:
    """The bundled example story, repeated to about ``size`` characters."""
    story = EXAMPLE.read_text(encoding="utf-8")
    return (story + "\n\n") * max(1, size // (len(story) + 2))


def time_analysis(text: str, runs: int) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of the fastest of ``runs`` analyses."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "story.txt"
        path.write_text(text, encoding="utf-8")
        best = (float("inf"), float("inf"))
        for _ in range(runs):
            cpu, wall = time.process_time(), time.perf_counter()
            analyze(path)
            best = min(best, (time.process_time() - cpu, time.perf_counter() - wall))
        return best


KINDS = {"names": pathological, "prose": prose, "tags": nominal_tags}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 300, 1000], help="KB")
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--kinds", nargs="+", default=sorted(KINDS), choices=sorted(KINDS))
    a = ap.parse_args()
    print(f"{'text':8s} {'KB':>6s} {'cpu s':>8s} {'wall s':>8s} {'ms/KB':>8s} {'ratio':>6s}")
    for kind in a.kinds:
        make = KINDS[kind]
        first: float | None = None
        for kb in a.sizes:
            text = make(kb * 1000)
            cpu, wall = time_analysis(text, a.runs)
            per_kb = 1000 * cpu / (len(text) / 1000)
            first = first or per_kb
            print(
                f"{kind:8s} {len(text) / 1000:6.0f} {cpu:8.2f} {wall:8.2f} {per_kb:8.2f}"
                f" {per_kb / first:6.2f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
