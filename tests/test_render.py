"""Incremental rendering through ``render_story`` with the fake tone engine:
nothing finished is redone, a re-cast redoes only its own lines and chapters, the cache
keeps under its cap, and chapters are encoded while later ones are still synthesised."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import numpy as np
import pytest

from audiobook.assemble import LoudnessMeter, _k_weighting, resample_poly
from audiobook.progress import Progress
from audiobook.render import RenderOptions, render_story
from audiobook.sidecar import sidecar_path
from audiobook.synth import AudioCache, SynthJob, jobs

STORY = """Title: The Signal Box
Author: Ines Varga

Chapter 1

The night train was late. Maud lit the lamp in the signal box and waited by the window.

"It is never this late," said Maud. "Not in twenty years."

Her brother Osric looked up from the ledger. "The snow," Osric said. "It is always the snow."

* * *

An hour passed. The stove ticked as it cooled.

Chapter 2

At midnight the stationmaster came up the ladder, out of breath and white with snow.

"The line is clear to Harrow," said the stationmaster. "Let it through."

"Clear?" Maud asked. "In this?"

"Clear," Osric said, and pulled the lever.
"""
CHAPTERS = ["01 - Chapter 1.mp3", "02 - Chapter 2.mp3"]


@pytest.fixture
def story(tmp_path: Path) -> Path:
    dest = tmp_path / "stories" / "signal-box.txt"
    dest.parent.mkdir()
    dest.write_text(STORY, encoding="utf-8")
    return dest


def options(tmp_path: Path, jobs: int = 1, cache_max_mb: float | None = None) -> RenderOptions:
    return RenderOptions(
        out_dir=tmp_path / "out",
        cache_dir=tmp_path / "cache",
        engine="tone",
        jobs=jobs,
        cache_max_mb=cache_max_mb,
    )


def stamps(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in sorted(folder.glob("*.mp3"))}


def test_rerun_redoes_nothing_even_without_the_cache(story: Path, tmp_path: Path) -> None:
    book = render_story(story, options(tmp_path))
    assert [f.name for f in book.files] == CHAPTERS and book.reused == 0
    assert book.cached == 0 and book.lines == 20
    before = stamps(book.folder)
    AudioCache(tmp_path / "cache").clear()  # finished chapters do not need their lines
    again = render_story(story, options(tmp_path))
    assert again.reused == 2 and (again.lines, again.cached) == (20, 20)
    assert stamps(book.folder) == before
    assert AudioCache(tmp_path / "cache").stats().entries == 0  # nothing synthesised


def test_recast_redoes_only_that_characters_lines_and_chapters(story: Path, tmp_path: Path) -> None:
    book = render_story(story, options(tmp_path, jobs=2))
    before = stamps(book.folder)
    side = sidecar_path(story)
    text = side.read_text(encoding="utf-8")
    # The stationmaster speaks two lines, both in chapter 2.
    voice = next(ln for ln in text.splitlines() if ln.startswith('"the stationmaster"'))
    side.write_text(text.replace(voice, '"the stationmaster" = "joe-young"'), encoding="utf-8")
    again = render_story(story, options(tmp_path, jobs=2))
    assert again.lines - again.cached == 2
    after = stamps(book.folder)
    assert after[CHAPTERS[0]] == before[CHAPTERS[0]]
    assert after[CHAPTERS[1]] != before[CHAPTERS[1]]
    assert again.reused == 1


def test_chapters_are_encoded_while_later_ones_are_synthesised(story: Path, tmp_path: Path) -> None:
    """The first chapter's file exists before the last line of the book is made."""
    seen: list[tuple[str, bool]] = []
    first = tmp_path / "out" / "Ines Varga" / "The Signal Box" / CHAPTERS[0]

    def on_progress(p: Progress) -> None:
        if p.stage == "synthesise" and p.chapter is None:
            seen.append((p.detail, first.exists()))

    render_story(story, options(tmp_path), progress=on_progress)
    done_before_end = [exists for detail, exists in seen[:-1]]
    assert seen[-1][1] and any(done_before_end)
    assert not done_before_end[0]


def test_progress_says_how_far_each_chapter_is(story: Path, tmp_path: Path) -> None:
    """Besides the book's events, each chapter's own: its lines (in characters) as
    they are made, then its file."""
    events: list[Progress] = []
    render_story(story, options(tmp_path), progress=events.append)
    for chapter in (0, 1):
        mine = [p for p in events if p.chapter == chapter]
        said = [p for p in mine if p.stage == "synthesise"]
        assert said[0].done == 0 and said[-1].done == said[-1].total > 0
        assert [p.done for p in said] == sorted(p.done for p in said)
        assert mine[-1].stage == "export" and mine[-1].detail == f"Chapter {chapter + 1}"
    # The first chapter's file is made before the last line of the second is.
    made = next(n for n, p in enumerate(events) if p.chapter == 0 and p.stage == "export")
    last = max(n for n, p in enumerate(events) if p.chapter == 1 and p.stage == "synthesise")
    assert made < last
    assert events[-1].stage == "done" and events[-1].chapter is None


def test_cache_cap_evicts_other_books_never_this_one(story: Path, tmp_path: Path) -> None:
    cache = AudioCache(tmp_path / "cache")
    for i in range(20):  # an older book's lines: 20 x ~200 kB
        cache.put(f"{i:02x}" + "e" * 62, np.ones(100_000, np.int16), 22050)
    render_story(story, options(tmp_path, cache_max_mb=0.5))
    st = cache.stats()
    assert not any(cache.has(f"{i:02x}" + "e" * 62) for i in range(20))
    assert st.entries == 20  # this book's lines all stay, even over the cap
    again = render_story(story, options(tmp_path, cache_max_mb=0.5))
    assert again.reused == 2 and again.cached == again.lines


def test_a_bad_cache_entry_is_made_again_when_its_chapter_is_encoded(
    story: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entries are checked cheaply (header, length) before synthesis; the CRC is only
    checked when a chapter reads them, and a bad one is synthesised again then."""
    render_story(story, options(tmp_path))
    cache = AudioCache(tmp_path / "cache")
    victim = max(cache.root.rglob("*.pcm"), key=lambda p: p.stat().st_size)
    data = bytearray(victim.read_bytes())
    data[-1] ^= 0xFF  # same length, bad CRC
    victim.write_bytes(bytes(data))
    shutil.rmtree(tmp_path / "out")
    made: list[str] = []
    original = jobs.run_one

    def counting(engine: object, c: AudioCache, job: SynthJob, key: str) -> None:
        made.append(key)
        original(engine, c, job, key)  # type: ignore[arg-type]

    monkeypatch.setattr(jobs, "run_one", counting)
    book = render_story(story, options(tmp_path))
    assert made == [victim.stem]
    assert cache.valid(victim.stem) and len(book.files) == 2


# --- the numpy DSP that keeps synthesis workers free of scipy.signal ---------------


@pytest.mark.parametrize(
    ("up", "down"), [(37, 22), (22, 37), (64, 83), (99, 70), (441, 320), (2, 1)]
)
def test_resample_poly_is_scipys(up: int, down: int) -> None:
    from scipy.signal import resample_poly as scipys

    rng = np.random.default_rng(up * 1000 + down)
    x = (0.3 * rng.standard_normal(5000)).astype(np.float32)
    ours = resample_poly(x, up, down)
    theirs = scipys(x, up, down)
    assert ours.dtype == np.float32 and ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


@pytest.mark.parametrize("rate", [16000, 22050, 44100])
def test_k_weighting_is_pyloudnorms(rate: int) -> None:
    from pyloudnorm.iirfilter import IIRfilter

    theirs = [
        IIRfilter(4.0, 1 / np.sqrt(2), 1500.0, rate, "high_shelf"),
        IIRfilter(0.0, 0.5, 38.0, rate, "high_pass"),
    ]
    for (b, a, gain), f in zip(_k_weighting(rate), theirs, strict=True):
        np.testing.assert_allclose(b / a[0], f.b / f.a[0], rtol=1e-12)
        np.testing.assert_allclose(a / a[0], f.a / f.a[0], rtol=1e-12)
        assert gain == f.passband_gain


def test_streaming_meter_matches_the_whole_signal() -> None:
    """Fed in odd-sized pieces (a decoder's output), the meter measures what
    pyloudnorm measures on the whole signal."""
    import pyloudnorm

    rng = np.random.default_rng(3)
    t = np.arange(22050 * 12) / 22050
    x = 0.3 * np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.3 * t))
    x += 0.01 * rng.standard_normal(t.size)
    x[22050 * 4 : 22050 * 6] = 0.0
    meter = LoudnessMeter(22050)
    at = 0
    for size in itertools.cycle([1, 777, 30_000, 2205, 65_537]):
        if at >= x.size:
            break
        meter.add(x[at : at + size].astype(np.float32))
        at += size
    reference = pyloudnorm.Meter(22050).integrated_loudness(x)
    assert meter.loudness() == pytest.approx(reference, abs=0.01)
