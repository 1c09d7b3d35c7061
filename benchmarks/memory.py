"""Does memory stay flat as books grow? Prints peak memory of `audiobook make`.

Generates novels of the given sizes from our own text (scenes recombined, with many
different names so there is a real cast), renders each with `audiobook make` in a
subprocess, and samples every process of the render (the parent, the synthesis
workers, their fork server, ffmpeg) five times a second. Printed per size:

  tree RSS   peak of the summed resident memory of all of them (shared pages, such as
             the engine the workers inherit, counted once per process: an upper bound)
  tree PSS   the same with shared pages split between the processes sharing them
  largest    peak of the largest single process

    python benchmarks/memory.py                           # 70k and 700k, tone engine
    python benchmarks/memory.py --sizes 70000 --engine piper

The tone engine (a stand-in with Piper's timing shape: ~55 ms of audio a character)
makes the 700k book (~11 h of audio) take minutes instead of hours; the memory that
grows with a book is the same for both engines (chapter audio, the script, the
cache), while the real engine adds a fixed ~200 MB per worker for the voice model.
Linux only (reads /proc).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

FIRST = ["Ada", "Bram", "Cora", "Dov", "Elsie", "Fitz", "Gwen", "Hal", "Iona", "Jory"]
FIRST += ["Kit", "Lorne", "Mira", "Nell", "Osric", "Pim", "Quinn", "Rhea", "Saul", "Tess"]
LAST = ["Ashdown", "Birtle", "Crane", "Dunmore", "Eskdale", "Farrow", "Gilchrist", "Hume"]
PLACES = ["the mill", "the signal box", "the orchard", "the chapel", "the boathouse"]
THINGS = ["lantern", "ledger", "compass", "kettle", "telegram", "map", "key", "ring"]

NARRATION = [
    "{a} crossed {place} before the light had properly come up, carrying the {thing} "
    "wrapped in a scarf as if it might catch cold; it was the {n}th morning of the frost.",
    "Nobody at {place} had seen {b} for {n} days, and the ones who said they had were "
    "the ones nobody believed.",
    "The rain kept on all afternoon. {a} sat by the window and turned the {thing} over "
    "{n} times, looking for a maker's mark that was not there.",
    "By the time the bell rang for supper the whole of {place} knew about the {thing}, "
    "and {n} of them had an opinion on who ought to keep it.",
]
DIALOGUE = [
    '"You found it at {place}?" {b} asked. "After {n} years, of all places, a {thing}."',
    '"I did not find it," said {a}. "It found me, {n} minutes before the train."',
    '"Put it back," {b} said quietly. "Put it back before anyone counts to {n}."',
    '"And if they have counted already, all {n} of them?" {a} asked.',
    '"Then we tell them the truth, {a}. It is cheaper in the end, by {n} shillings."',
]


def novel(chars: int, chapter_chars: int = 20_000, seed: int = 7) -> str:
    """An original novel of about ``chars`` characters in chapters of about
    ``chapter_chars``, from recombined scenes with varied names."""
    rng = random.Random(seed)
    out = ["Title: The Winter Ledger", "Author: Ines Varga", ""]
    size, chapter = 0, 0
    while size < chars:
        chapter += 1
        out += [f"Chapter {chapter}", ""]
        start = size
        while size - start < chapter_chars and size < chars:
            a = (
                f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                if rng.random() < 0.2
                else rng.choice(FIRST)
            )
            b = rng.choice(FIRST)
            while b == a:
                b = rng.choice(FIRST)
            fill = {"a": a, "b": b, "place": rng.choice(PLACES), "thing": rng.choice(THINGS)}
            fill["n"] = str(rng.randint(2, 999))
            para = [rng.choice(NARRATION).format(**fill)]
            para += [d.format(**fill) for d in rng.sample(DIALOGUE, 3)]
            for p in para:
                out += [p, ""]
                size += len(p) + 2
            if rng.random() < 0.1:
                out += ["* * *", ""]
    return "\n".join(out)


def _tree(root: int) -> list[int]:
    """``root`` and every process descended from it."""
    parent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                parent[int(entry)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += [p for p, pp in parent.items() if pp == pid]
    return out


def _memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in kB, or (0, 0) if it is gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return 0, 0
    rss = re.search(r"^Rss:\s+(\d+)", text, re.M)
    pss = re.search(r"^Pss:\s+(\d+)", text, re.M)
    return (int(rss.group(1)) if rss else 0), (int(pss.group(1)) if pss else 0)


def _what(pid: int, root: int) -> str:
    """A short label for a process of the render: what it is, for the breakdown."""
    if pid == root:
        return "audiobook make"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "?"
    if "ffmpeg" in cmd:
        return "ffmpeg"
    if "forkserver" in cmd:  # the server, or a worker it forked (same command line)
        try:
            with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
                ppid = f.read().rsplit(")", 1)[1].split()[1]
            with open(f"/proc/{ppid}/cmdline", "rb") as f:
                forked = b"forkserver" in f.read()
        except (OSError, IndexError):
            forked = False
        return "worker" if forked else "fork server"
    return "worker" if "multiprocessing" in cmd else cmd[:40]


class Sampler(threading.Thread):
    def __init__(self, root: int, every: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.root, self.every = root, every
        self.rss = self.pss = self.largest = 0
        self.peaks: dict[int, tuple[int, int, str]] = {}  # pid -> peak RSS, PSS, what
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            pids = _tree(self.root)
            mem = [_memory(p) for p in pids]
            for pid, (r, s) in zip(pids, mem, strict=True):
                old = self.peaks.get(pid)
                if old is None or r > old[0]:
                    self.peaks[pid] = (r, s, old[2] if old else _what(pid, self.root))
            self.rss = max(self.rss, sum(r for r, _ in mem))
            self.pss = max(self.pss, sum(p for _, p in mem))
            self.largest = max(self.largest, max((r for r, _ in mem), default=0))
            time.sleep(self.every)


def measure(chars: int, engine: str, jobs: int | None, work: Path) -> None:
    story = work / f"novel-{chars}.txt"
    story.write_text(novel(chars), encoding="utf-8")
    cache = work / f"cache-{chars}"
    cmd = [sys.executable, "-m", "audiobook.cli", "make", "--engine", engine, str(story)]
    cmd += ["-o", str(work / f"out-{chars}"), "--cache-dir", str(cache)]
    cmd += ["--jobs", str(jobs)] if jobs else []
    env = {**os.environ, "AUDIOBOOK_CACHE_DIR": str(cache)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sampler = Sampler(proc.pid)
    sampler.start()
    _, err = proc.communicate()
    sampler.stop.set()
    sampler.join()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"make failed:\n{err.decode()[-2000:]}")
    done = err.decode().strip().splitlines()[-1]
    mb = 1024
    print(
        f"{chars:>8} chars  tree RSS {sampler.rss / mb:7.0f} MB"
        f"  tree PSS {sampler.pss / mb:7.0f} MB  largest {sampler.largest / mb:6.0f} MB"
        f"  {wall:7.1f} s  ({engine})\n          {done}",
        flush=True,
    )
    # Which processes hold it: the biggest few, by their own peak.
    top = sorted(sampler.peaks.values(), reverse=True)[:6]
    for rss, pss, what in top:
        print(f"          peak RSS {rss / mb:6.0f} MB  PSS {pss / mb:6.0f} MB  {what}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[70_000, 700_000])
    ap.add_argument("--engine", choices=["tone", "piper"], default="tone")
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it")
    args = ap.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        for n in args.sizes:
            measure(n, args.engine, args.jobs, args.keep)
        return
    with tempfile.TemporaryDirectory(prefix="ab-memory-") as tmp:
        for n in args.sizes:
            measure(n, args.engine, args.jobs, Path(tmp))


if __name__ == "__main__":
    main()
