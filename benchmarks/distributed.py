"""Is a Dask cluster as fast as the local pool on the same machine?

Renders the same small library (the bundled example and the two-part test story) two
ways on this machine and prints the wall times and their ratio:

- local:   ``audiobook make LIB -j W`` (the process pool)
- cluster: ``audiobook make LIB --scheduler local:W`` (a W-process LocalCluster)

Two measurements: "cold" runs the CLI in a fresh process each time, so the cluster
run pays for starting its LocalCluster (what ``--scheduler local:W`` costs a user);
"warm" renders in this process against a cluster started beforehand (what a user of
an existing cluster sees; the local pool still starts its pool, as it always does).
Every run starts from an empty cache, and the chapter files of the two ways are
compared byte for byte. The issue asks for cluster <= 1.25x local.

Then it measures what a paper estimate for a big cluster needs (docs/scaling.md), in
CPU seconds so that other load on the machine does not skew it: Piper's speed on one
core, the client's analysis and export speeds, the scheduler's cost per task and the
bytes a task moves, and prints the estimate for --estimate N workers. From the repo root:

    python benchmarks/distributed.py [--engine tone|piper] [--runs 3] [--workers 2]
                                     [--estimate 100] [--skip-cold]
"""

from __future__ import annotations

import argparse
import contextlib
import filecmp
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Python puts this script's folder first on sys.path, where this file would shadow the
# `distributed` package it benchmarks.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
STORIES = [
    ROOT / "examples" / "the-lighthouse-at-gull-point.txt",
    ROOT / "tests" / "fixtures" / "stories" / "two-parts.txt",
]
TARGET = 1.25
# Piper draws random noise: two renders of the same line differ, wherever they run.
DETERMINISM = {"tone": "", "piper": " (Piper is not deterministic: never identical)"}


def make_library(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for story in STORIES:
        shutil.copy(story, dest / story.name)
    return dest


def cold(library: Path, work: Path, engine: str, extra: list[str]) -> tuple[float, float]:
    """Seconds for ``audiobook make`` in a fresh interpreter, empty cache: wall time,
    and the CPU time of its whole process tree (workers, ffmpeg), sampled every 50 ms
    (psutil: a dependency of distributed). On a busy machine the CPU time shows the
    overhead better than the wall time."""
    import psutil

    shutil.rmtree(work, ignore_errors=True)
    cmd = [sys.executable, "-c", "from audiobook.cli import main; main()", "make", str(library)]
    cmd += ["--engine", engine, "-o", str(work / "out"), "--cache-dir", str(work / "cache")]
    cpu: dict[int, float] = {}
    t0 = time.perf_counter()
    with subprocess.Popen(
        cmd + extra, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT
    ) as proc:
        root = psutil.Process(proc.pid)
        while proc.poll() is None:
            with contextlib.suppress(psutil.Error):
                for p in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        t = p.cpu_times()
                        cpu[p.pid] = t.user + t.system
            time.sleep(0.05)
        seconds = time.perf_counter() - t0
        err = proc.stderr.read() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(extra)} failed ({proc.returncode}):\n{err[-2000:]}")
    return seconds, sum(cpu.values())


def warm(library: Path, work: Path, engine: str, workers: int, scheduler: str | None) -> float:
    """Seconds for ``render`` in this process, empty cache."""
    from audiobook.render import RenderOptions, render

    shutil.rmtree(work, ignore_errors=True)
    opts = RenderOptions(
        out_dir=work / "out",
        cache_dir=work / "cache",
        engine=engine,
        jobs=workers,
        scheduler=scheduler,
        save_sidecar=False,
    )
    t0 = time.perf_counter()
    report = render(sorted(library.glob("*.txt")), opts)
    seconds = time.perf_counter() - t0
    if report.failures:
        raise SystemExit(f"render failed: {report.failures}")
    return seconds


def same_files(a: Path, b: Path) -> bool:
    names = sorted(p.relative_to(a) for p in a.rglob("*") if p.suffix in {".mp3", ".vtt"})
    if not names or names != sorted(
        p.relative_to(b) for p in b.rglob("*") if p.suffix in {".mp3", ".vtt"}
    ):
        return False
    return all(filecmp.cmp(a / n, b / n, shallow=False) for n in names)


def line(label: str, local: list[float], cluster: list[float]) -> float:
    lm, cm = statistics.median(local), statistics.median(cluster)
    ratio = cm / lm
    print(
        f"{label:<6} local pool {lm:6.2f} s   cluster {cm:6.2f} s   ratio {ratio:.2f}x "
        f"({'within' if ratio <= TARGET else 'OVER'} {TARGET}x)   "
        f"runs: local {', '.join(f'{t:.2f}' for t in local)}; "
        f"cluster {', '.join(f'{t:.2f}' for t in cluster)}"
    )
    return ratio


def cpu_seconds() -> float:
    """This process's CPU time and its finished children's (ffmpeg)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def own_cpu_seconds() -> float:
    """This process's CPU time alone (what the GIL can serialise)."""
    t = os.times()
    return t.user + t.system


def rates(library: Path, tmp: Path) -> dict[str, float]:
    """Per CPU second: Piper speech, analysed characters, exported audio."""
    from audiobook.analyze import analyze
    from audiobook.engine import get_engine
    from audiobook.render import RenderOptions, render
    from audiobook.voices import discover_voices, find_voice

    stories = sorted(library.glob("*.txt"))
    chars = sum(len(p.read_text(encoding="utf-8")) for p in stories)
    c0 = cpu_seconds()
    for story in stories:
        analyze(story)
    analysis = cpu_seconds() - c0

    piper = get_engine("piper")
    joe = find_voice("joe", discover_voices())
    text = STORIES[0].read_text(encoding="utf-8").split("\n\n\n")[2][:1200]
    piper.synthesize("Warm up.", joe)  # loads the model
    c0 = cpu_seconds()
    pcm = piper.synthesize(text, joe)
    synth = cpu_seconds() - c0
    speech = len(pcm) / piper.sample_rate(joe)

    # Export: a second render from a full cache only analyses and exports.
    opts = RenderOptions(
        out_dir=tmp / "rates" / "a", cache_dir=tmp / "rates" / "cache", engine="tone", jobs=1
    )
    render(stories, opts)
    opts.out_dir = tmp / "rates" / "b"
    c0, own0 = cpu_seconds(), own_cpu_seconds()
    report = render(stories, opts)
    export = cpu_seconds() - c0 - analysis
    export_own = own_cpu_seconds() - own0 - analysis
    return {
        "piper_speech_per_cpu_s": speech / synth,
        "speech_s_per_char": speech / len(text),
        "chars_per_cpu_s": chars / analysis,
        "audio_s_exported_per_cpu_s": report.audio_seconds / max(export, 1e-6),
        "audio_s_exported_per_own_cpu_s": report.audio_seconds / max(export_own, 1e-6),
        "sample_rate": float(piper.sample_rate(joe)),
    }


def task_costs(client: object, library: Path) -> dict[str, float]:
    """Scheduler + client CPU per task (the scheduler of a LocalCluster runs in this
    process), wall time per no-op task round trip, and pickled bytes per line."""
    from audiobook.analyze import analyze
    from audiobook.cast import cast_voices
    from audiobook.render import speech_jobs
    from audiobook.sidecar import load_sidecar
    from audiobook.synth import job_keys
    from audiobook.synth.dask import chunk_jobs
    from audiobook.voices import discover_voices

    n = 400
    c0, t0 = cpu_seconds(), time.perf_counter()
    futures = [client.submit(abs, i, pure=False) for i in range(n)]  # type: ignore[attr-defined]
    client.gather(futures)  # type: ignore[attr-defined]
    wall, cpu = (time.perf_counter() - t0) / n, (cpu_seconds() - c0) / n
    story = sorted(library.glob("*.txt"))[0]
    script = analyze(story)
    jobs = list(
        speech_jobs(script, cast_voices(script, discover_voices(), load_sidecar(story))).values()
    )
    items = list(zip(job_keys(jobs, "piper"), jobs, strict=True))
    chunk = chunk_jobs(items, 1)[0]
    return {
        "task_wall_s": wall,
        "task_cpu_s": cpu,
        "bytes_per_line": len(pickle.dumps(chunk)) / len(chunk),
        "chars_per_line": sum(len(j.text) for _, j in chunk) / len(chunk),
    }


def estimate(workers: int, r: dict[str, float], t: dict[str, float]) -> None:
    from audiobook.synth.dask import CHUNK_SECONDS

    per_worker = r["piper_speech_per_cpu_s"]
    cluster = workers * per_worker  # seconds of speech made per second
    tasks = cluster / CHUNK_SECONDS
    analysis = r["chars_per_cpu_s"] * r["speech_s_per_char"]  # one core: the GIL
    export = r["audio_s_exported_per_cpu_s"]  # per core, ffmpeg included
    gil = r["audio_s_exported_per_own_cpu_s"]  # the in-process part, on one core at most
    pcm = 2 * r["sample_rate"]  # bytes per second of speech (int16)
    lines = cluster / (t["chars_per_line"] * r["speech_s_per_char"])
    sent = lines * t["bytes_per_line"]
    rows = [
        f"paper estimate for {workers} workers (one core each), piper joe, remote workers",
        f"  synthesis  {per_worker:.1f} s of speech per CPU s per worker"
        f" -> cluster {cluster:.0f}x real time",
        f"  scheduler  {t['task_cpu_s'] * 1e3:.2f} ms CPU per task (client + scheduler),"
        f" {t['task_wall_s'] * 1e3:.2f} ms per no-op task on this LocalCluster;",
        f"             {CHUNK_SECONDS:.0f} s chunks -> {tasks:.1f} tasks/s"
        f" = {tasks * t['task_cpu_s']:.1%} of one core",
        f"  network    {t['bytes_per_line']:.0f} B sent per line ({sent / 1e3:.0f} kB/s);"
        f" {pcm / 1e3:.1f} kB of audio per speech s",
        f"             -> {cluster * pcm / 1e6:.1f} MB/s into the client (bytes)"
        " or the shared cache (shared)",
        f"  client     analysis {analysis:.0f}x real time (one core);"
        f" export {export:.0f}x real time per core, its in-process part {gil:.0f}x",
    ]
    one = min(analysis, gil)  # one client process: GIL-bound parts on one core
    rows.append(
        f"  => one client process keeps at most {one / per_worker:.0f} workers busy"
        f" (with {one / export:.1f} cores for its exports);"
        f" {workers} workers need {cluster / one:.1f} client processes (library split)"
    )
    print("\n" + "\n".join(rows))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", choices=["tone", "piper"], default="tone")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-cold", action="store_true", help="Only the warm measurement.")
    ap.add_argument("--estimate", type=int, default=100, help="Workers to estimate for (0: no).")
    args = ap.parse_args()
    w = args.workers
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        library = make_library(tmp / "library")
        chars = sum(len(p.read_text(encoding="utf-8")) for p in library.glob("*.txt"))
        print(
            f"library: {len(STORIES)} stories, {chars} characters; engine {args.engine}; "
            f"{w} workers; {args.runs} runs each, alternating, median shown"
        )
        # One render first so both ways find the sidecars written (casting is saved).
        warm(library, tmp / "prime", args.engine, w, None)

        if not args.skip_cold:
            runs: dict[str, list[tuple[float, float]]] = {"local": [], "cluster": []}
            for n in range(args.runs):
                ways = [("local", ["-j", str(w)]), ("cluster", ["--scheduler", f"local:{w}"])]
                for name, extra in ways if n % 2 == 0 else ways[::-1]:
                    runs[name].append(cold(library, tmp / f"cold-{name}", args.engine, extra))
            line("cold", [r[0] for r in runs["local"]], [r[0] for r in runs["cluster"]])
            lc_cpu = statistics.median(r[1] for r in runs["local"])
            cl_cpu = statistics.median(r[1] for r in runs["cluster"])
            print(
                f"       CPU (whole process tree) local {lc_cpu:.1f} s, cluster {cl_cpu:.1f} s:"
                f" ratio {cl_cpu / lc_cpu:.2f}x"
            )
            same = same_files(tmp / "cold-local" / "out", tmp / "cold-cluster" / "out")
            print(f"       identical chapter files: {same}{DETERMINISM[args.engine]}")

        from audiobook.synth.scheduler import import_distributed, start_local_cluster

        distributed = import_distributed()
        t0 = time.perf_counter()
        lc = start_local_cluster(w)  # as `--scheduler local:N` starts it
        started = time.perf_counter() - t0
        try:
            # One unmeasured render: workers import the engine on their first task,
            # as a long-running cluster's workers already have.
            warm(library, tmp / "warmup", args.engine, w, lc.scheduler_address)
            local, cluster = [], []
            for n in range(args.runs):
                order = [None, lc.scheduler_address]
                for sched in order if n % 2 == 0 else order[::-1]:
                    name = "local" if sched is None else "cluster"
                    t = warm(library, tmp / f"warm-{name}", args.engine, w, sched)
                    (local if sched is None else cluster).append(t)
            line("warm", local, cluster)
            same = same_files(tmp / "warm-local" / "out", tmp / "warm-cluster" / "out")
            print(
                f"       identical chapter files: {same}{DETERMINISM[args.engine]};"
                f" LocalCluster start {started:.2f} s"
            )
            if args.estimate:
                with distributed.Client(lc) as client:
                    costs = task_costs(client, library)
                estimate(args.estimate, rates(library, tmp), costs)
        finally:
            from audiobook.synth.scheduler import close_sessions

            close_sessions()
            lc.close()


if __name__ == "__main__":
    main()
