"""How long until the TUI shows the cast of a 15,000-character story?

Builds a ~15k-character story from the bundled example (its chapters repeated and
renumbered), then times a fresh Python process from launch until the Cast table is
filled: interpreter start, imports, analysis, casting and the first screen, headless at
80x24. The issue asks for under 3 s. Run from the repository root:

    python benchmarks/tui_open.py [--runs N] [STORY]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "the-lighthouse-at-gull-point.txt"
TARGET_CHARS = 15_000


def long_story(dest: Path, chars: int = TARGET_CHARS) -> Path:
    """Write a story of at least ``chars`` characters made of the example's chapters."""
    head, body = EXAMPLE.read_text(encoding="utf-8").split("\n\n\n", 1)
    chapters = re.split(r"\n\n\n(?=Chapter )", body.strip())
    parts, n = [head], 0
    while sum(len(p) + 3 for p in parts) < chars:
        for ch in chapters:
            n += 1
            parts.append(re.sub(r"^Chapter \d+", f"Chapter {n}", ch.strip()))
    dest.write_text("\n\n\n".join(parts) + "\n", encoding="utf-8")
    return dest


async def _open(story: Path) -> int:
    from textual.widgets import DataTable

    from audiobook.tui.app import AudiobookApp

    app = AudiobookApp(story, engine="tone")
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one("#cast-table", DataTable)
        while table.row_count < 2:  # the narration row plus at least one character
            await pilot.pause(0.01)
        return table.row_count


def child(story: Path) -> None:
    rows = asyncio.run(_open(story))
    print(f"ready {rows}", flush=True)


def time_open(story: Path) -> tuple[float, int]:
    """Seconds from spawning a fresh interpreter to the cast being on screen."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", str(story)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - t0
    proc.wait()
    if not line.startswith("ready"):
        raise SystemExit(f"the app did not open the story (exit {proc.returncode})")
    return elapsed, int(line.split()[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("story", nargs="?", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.story)
        return
    with tempfile.TemporaryDirectory() as tmp:
        story = args.story or long_story(Path(tmp) / "long-story.txt")
        size = len(story.read_text(encoding="utf-8"))
        times = []
        for _ in range(args.runs):
            seconds, rows = time_open(story)
            times.append(seconds)
        print(
            f"{story.name}: {size} characters, cast of {rows - 1} shown in "
            f"median {statistics.median(times):.2f} s, worst {max(times):.2f} s "
            f"over {args.runs} cold starts (limit 3 s)"
        )


if __name__ == "__main__":
    main()
