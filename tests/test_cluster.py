"""Rendering on a Dask cluster: a real LocalCluster (worker processes on
loopback) with the tone engine, compared file for file with the local pool.

The cluster is started once for the module (~5 s); the whole file takes ~30-60 s.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from audiobook.cli import main
from audiobook.errors import AudiobookError, Cancelled, VoiceError
from audiobook.progress import Progress
from audiobook.render import RenderOptions, RenderReport, render
from audiobook.synth import AudioCache, SynthJob, job_keys, synthesize
from audiobook.synth import dask as cluster
from audiobook.synth.dask import DaskBackend, chunk_jobs, synth_chunk
from audiobook.synth.jobs import CHARS_PER_SECOND
from audiobook.synth.scheduler import MISSING_EXTRA, close_sessions, machine_id, parse_scheduler
from audiobook.voices import Voice

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "the-lighthouse-at-gull-point.txt"

# Original, and short: a second book so the library has more than one story.
FERRY = """Title: The Night Ferry
Author: Odile Marsh

Chapter 1: Boarding

The ferry smelled of diesel and wet rope. Tamsin found a bench by the window and
pressed her forehead to the cold glass.

"You'll want a blanket," said the steward. "It gets colder past the breakwater."

"I'll manage," Tamsin said.

Chapter 2: Crossing

Halfway over, the engines dropped to a murmur and the lights of the far shore
swung into view, one by one, like someone counting.

"Nearly there," the steward said, and this time she took the blanket.
"""


# --- without a cluster --------------------------------------------------------------


def test_parse_scheduler_accepts_addresses_and_local_counts(tmp_path: Path) -> None:
    assert parse_scheduler("tcp://10.0.0.5:8786").address == "tcp://10.0.0.5:8786"
    assert parse_scheduler("local:3").local_workers == 3
    assert parse_scheduler("local").local_workers == (os.cpu_count() or 1)
    sched = tmp_path / "scheduler.json"
    sched.write_text("{}", encoding="utf-8")
    assert parse_scheduler(str(sched)).scheduler_file == sched
    for bad in ["local:0", "local:x", "10.0.0.5:8786", "tcp://", "nowhere.json"]:
        with pytest.raises(AudiobookError, match="bad --scheduler"):
            parse_scheduler(bad)


def test_make_without_the_extra_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    story = tmp_path / "ferry.txt"
    story.write_text(FERRY, encoding="utf-8")
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` fails
    r = CliRunner().invoke(
        main,
        ["make", str(story), "--engine", "tone", "--scheduler", "local:2", "-o", str(tmp_path)],
    )
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines() == [f"audiobook: error: {MISSING_EXTRA}"]
    assert "pip install 'audiobook[distributed]'" in MISSING_EXTRA
    assert not list(tmp_path.rglob("*.mp3"))


def voice_at(folder: Path) -> Voice:
    model = folder / "m.onnx"
    model.write_bytes(b"not a model")
    config = folder / "m.onnx.json"
    config.write_text('{"audio": {"sample_rate": 16000}}', encoding="utf-8")
    return Voice("v", model, config, sample_rate=16000)


def test_chunks_keep_order_and_size(tmp_path: Path) -> None:
    voice = voice_at(tmp_path)
    jobs = [(f"k{i}", SynthJob("word " * (5 + i % 7), voice)) for i in range(200)]
    chunks = chunk_jobs(jobs, workers=2, target=20.0)
    assert [kj for c in chunks for kj in c] == jobs
    seconds = [sum(len(j.text) for _, j in c) / CHARS_PER_SECOND for c in chunks]
    assert all(s <= 20.0 for s in seconds) and min(seconds[:-1]) > 15.0
    # A small story is cut so that both workers get work.
    assert len(chunk_jobs(jobs[:20], workers=2)) >= 4


def test_worker_writes_when_it_sees_the_cache_else_returns_bytes(tmp_path: Path) -> None:
    voice = voice_at(tmp_path)
    jobs = [SynthJob("Low water at six.", voice), SynthJob("The gulls knew first.", voice)]
    keys = job_keys(jobs, "tone")
    items = list(zip(keys, jobs, strict=True))
    root = tmp_path / "cache"
    root.mkdir()
    (root / "probe").write_text("x", encoding="utf-8")

    done, audio, err = synth_chunk("tone", items, str(root), "probe")
    assert (done, audio, err) == (keys, [], None)
    written = AudioCache(root)
    assert all(written.has(k) for k in keys)

    other = tmp_path / "elsewhere"  # the probe is not there: not the client's folder
    other.mkdir()
    done, audio, err = synth_chunk("tone", items, str(other), "probe")
    assert err is None and done == keys and [a[0] for a in audio] == keys
    for (key, rate, data), _ in zip(audio, jobs, strict=True):
        pcm, cached_rate = written.load(key) or (None, 0)
        assert rate == cached_rate == 16000
        assert np.array_equal(np.frombuffer(data, dtype="<i2"), pcm)
    assert not list(other.rglob("*.pcm"))

    # A worker whose voice files differ from the client's refuses: the key would lie.
    voice.config.write_text('{"audio": {"sample_rate": 22050}}', encoding="utf-8")
    done, audio, err = synth_chunk("tone", items, None, None)
    assert done == [] and err is not None and err[0] == "VoiceError"
    assert "differs from the client's" in err[1]


# --- on a LocalCluster --------------------------------------------------------------


@dataclass
class Cluster:
    client: Any
    address: str


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    distributed = pytest.importorskip("distributed")
    home = tmp_path_factory.mktemp("worker-env")
    with pytest.MonkeyPatch.context() as mp:  # workers inherit this environment
        for var in ("AUDIOBOOK_CACHE_DIR", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
            mp.setenv(var, str(home / var.lower()))
        lc = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
            scheduler_kwargs={"dashboard": False},
            silence_logs=50,
        )
    client = distributed.Client(lc)
    try:
        yield Cluster(client, lc.scheduler_address)
    finally:
        close_sessions()
        client.close()
        lc.close()


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("library")
    shutil.copy(EXAMPLE, folder / EXAMPLE.name)
    (folder / "night-ferry.txt").write_text(FERRY, encoding="utf-8")
    return folder


def options(tmp: Path, name: str, **kw: Any) -> RenderOptions:
    kw.setdefault("jobs", 1)
    return RenderOptions(
        out_dir=tmp / name / "out", cache_dir=tmp / name / "cache", engine="tone", **kw
    )


def run(opts: RenderOptions, library: Path, **kw: Any) -> RenderReport:
    """The library through ``render`` (what ``make`` calls): on the cluster when
    there is a scheduler, else in the local pool."""
    report = render(sorted(library.glob("*.txt")), opts, **kw)
    assert not report.failures, report.failures
    return report


@pytest.fixture(scope="module")
def reference(library: Path, tmp_path_factory: pytest.TempPathFactory) -> RenderOptions:
    """The library rendered by the local pool: what every cluster render must equal."""
    opts = options(tmp_path_factory.mktemp("reference"), "local", jobs=2)
    report = run(opts, library)
    assert len(report.books) == 2 and report.cache_hits < report.segments
    return opts


def files(folder: Path, pattern: str) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob(pattern))}


def assert_same_output(a: RenderOptions, b: RenderOptions) -> None:
    for pattern in ("*.mp3", "*.vtt", "*.m3u8", "reader.txt"):
        mine, theirs = files(b.out_dir, pattern), files(a.out_dir, pattern)
        assert mine.keys() == theirs.keys() and mine, pattern
        different = [name for name in mine if mine[name] != theirs[name]]
        assert not different, different
    assert a.cache_dir is not None and b.cache_dir is not None
    assert files(b.cache_dir, "*.pcm") == files(a.cache_dir, "*.pcm")


def task_names(stream: Any) -> list[str]:
    return ["-".join(str(t["key"]).split("-")[:2]) for t in stream.data]


def test_library_on_the_cluster_equals_the_local_pool(
    dask_cluster: Cluster,
    library: Path,
    reference: RenderOptions,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from distributed import get_task_stream

    # As if the workers were other machines: this one exports (workers only synthesise).
    monkeypatch.setattr(cluster, "_has_local_workers", lambda client: False)
    opts = options(tmp_path, "cluster", scheduler=dask_cluster.address)
    assert opts.cache_dir is not None
    with get_task_stream(dask_cluster.client) as stream:
        r = CliRunner().invoke(
            main,
            ["make", str(library), "--engine", "tone", "--scheduler", dask_cluster.address,
             "-o", str(opts.out_dir), "--cache-dir", str(opts.cache_dir)],
        )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert "done: 2 stories, 4 chapters" in r.stderr and " 0 from cache" in r.stderr
    assert set(task_names(stream)) == {"audiobook-synth"}
    assert_same_output(reference, opts)
    assert not list(opts.cache_dir.glob(".cluster-probe-*"))  # cleaned up

    # Local and cluster renders reuse each other's audio: nothing left to synthesise.
    again = RenderOptions(**{**vars(opts), "scheduler": None, "out_dir": tmp_path / "again"})
    report = run(again, library)
    assert report.segments > 50 and report.cache_hits == report.segments
    # ... and render() called directly on the cluster gives the same files.
    back = RenderOptions(**{**vars(reference), "out_dir": tmp_path / "back"})
    back.scheduler = dask_cluster.address
    assert render(sorted(library.glob("*.txt")), back).cache_hits == report.segments
    assert_same_output(reference, back)


def test_returned_bytes_land_in_the_client_cache(
    dask_cluster: Cluster, library: Path, reference: RenderOptions, tmp_path: Path
) -> None:
    voice = voice_at(tmp_path)
    lines = [f"The buoy rang {n} times before the fog lifted." for n in range(30)]
    jobs = [SynthJob(t, voice) for t in lines + lines[:3]]  # duplicates are done once
    cache = AudioCache(tmp_path / "bytes-cache")
    on_cluster = DaskBackend(dask_cluster.client, transfer="bytes")
    keys = synthesize(jobs, engine="tone", cache=cache, backend=on_cluster)
    assert keys == job_keys(jobs, "tone")
    assert all(cache.valid(k) for k in keys)
    local = AudioCache(tmp_path / "local-cache")
    synthesize(jobs, engine="tone", cache=local)
    assert files(cache.root, "*.pcm") == files(local.root, "*.pcm")


def test_an_error_on_a_worker_fails_the_story_with_its_message(
    dask_cluster: Cluster, tmp_path: Path
) -> None:
    voice = voice_at(tmp_path)
    jobs = [SynthJob("The keeper trimmed the wick.", voice)]
    with pytest.raises(VoiceError, match="differs from the client's"):
        # A key the worker cannot reproduce: as if its voice files were other ones.
        synthesize(
            jobs, engine="tone", cache=AudioCache(tmp_path / "c"),
            backend=DaskBackend(dask_cluster.client), keys=["0" * 64],
        )  # fmt: skip


@pytest.fixture
def slow_workers(dask_cluster: Cluster) -> Iterator[None]:
    """Every line takes 0.1 s longer on the workers (also on a worker that replaces a
    dead one): slow enough to kill a worker while it runs a chunk."""
    from distributed import WorkerPlugin

    class SlowTone(WorkerPlugin):  # defined here: pickled by value, workers need no tests/
        name = "slow-tone"

        def setup(self, worker: Any) -> None:
            from audiobook.engine import ToneEngine

            original = ToneEngine.synthesize

            def slow(engine: ToneEngine, text: str, voice: Voice) -> np.ndarray:
                time.sleep(0.1)
                return original(engine, text, voice)

            slow.original = original  # type: ignore[attr-defined]
            ToneEngine.synthesize = slow  # type: ignore[method-assign]

        def teardown(self, worker: Any) -> None:
            from audiobook.engine import ToneEngine

            ToneEngine.synthesize = getattr(ToneEngine.synthesize, "original", None) or (
                ToneEngine.synthesize
            )

    dask_cluster.client.register_plugin(SlowTone())
    try:
        yield
    finally:
        dask_cluster.client.unregister_worker_plugin("slow-tone")


def test_a_worker_killed_mid_run_changes_nothing(
    dask_cluster: Cluster,
    slow_workers: None,
    library: Path,
    reference: RenderOptions,
    tmp_path: Path,
) -> None:
    client = dask_cluster.client
    killed: list[int] = []

    def kill_a_busy_worker(p: Progress) -> None:
        book = p.chapter is None and p.stage == "synthesise"
        if killed or not book or p.done <= 0 or p.done >= p.total:
            return
        busy = [w for w, tasks in client.processing().items() if tasks]
        assert busy, "nothing running: the test cannot kill a worker mid-task"
        pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    opts = options(tmp_path, "killed", scheduler=dask_cluster.address)
    from distributed import get_task_stream

    with get_task_stream(client) as stream:
        run(opts, library, progress=kill_a_busy_worker)
    # This machine's workers also encoded the chapters, as the local pool's do.
    assert task_names(stream).count("audiobook-export") >= 4
    assert killed, "no worker was killed"
    client.wait_for_workers(2, timeout=30)  # the nanny replaced it
    assert killed[0] not in client.run(os.getpid).values()
    assert_same_output(reference, opts)


def test_cancel_drops_queued_work_and_a_rerun_resumes(
    dask_cluster: Cluster, slow_workers: None, library: Path, tmp_path: Path
) -> None:
    stop = threading.Event()

    def stop_after_first_chunk(p: Progress) -> None:
        if p.stage == "synthesise" and p.chapter is None and p.done > 0:
            stop.set()

    opts = options(tmp_path, "cancelled", scheduler=dask_cluster.address)
    t0 = time.monotonic()
    with pytest.raises(Cancelled):
        run(opts, library, progress=stop_after_first_chunk, cancel=stop)
    assert time.monotonic() - t0 < 15
    time.sleep(1.0)  # running chunks finish and are cached; queued ones never start
    kept = len(files(Path(str(opts.cache_dir)), "*.pcm"))
    assert kept > 0
    report = run(options(tmp_path, "cancelled", scheduler=dask_cluster.address), library)
    assert 0 < report.cache_hits < report.segments
    assert report.cache_hits >= kept


def test_a_failing_story_does_not_stop_the_library(dask_cluster: Cluster, tmp_path: Path) -> None:
    good = tmp_path / "lib" / "ferry.txt"
    good.parent.mkdir()
    good.write_text(FERRY, encoding="utf-8")
    bad = tmp_path / "lib" / "empty.txt"
    bad.write_bytes(b"")
    failed: list[Path] = []
    opts = options(tmp_path, "mixed", scheduler=dask_cluster.address)
    report = render([bad, good], opts, on_error=lambda path, err: failed.append(Path(path)))
    assert failed == [bad] and [e.path for e in report.failures] == [bad]
    assert [b.source for b in report.books] == [good] and report.books[0].chapters == 2


def _seconds(ctx: Any, n: int) -> float:
    return float(n)


def test_an_export_is_only_run_by_a_worker_on_this_machine(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    root.mkdir()
    (root / "probe").write_text("x", encoding="utf-8")
    here = machine_id()
    assert cluster.run_followup("tone", _seconds, (3,), str(root), "probe", here) == (
        True,
        3.0,
        None,
    )
    # Another machine, or a worker blind to the cache: handed back to the client.
    assert (
        cluster.run_followup("tone", _seconds, (3,), str(root), "probe", "elsewhere/1")[0] is False
    )
    assert cluster.run_followup("tone", _seconds, (3,), str(root), "other", here)[0] is False
