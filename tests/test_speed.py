"""Reading speed: the whole book's (``make --speed``) and each character's (the sidecar's
``[cast.speed]``). The fake tone engine reads its words in proportion to a voice's
tempo, as Piper does with its length scale, so the example shows the whole chain: the
lines, the chapter files, their chapter frames and cues all follow the speed."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from mutagen.id3 import ID3

from audiobook.cli import main
from audiobook.errors import CastError
from audiobook.export import decode_audio, peak_dbfs
from audiobook.sidecar import load_sidecar, save_sidecar, sidecar_path
from audiobook.subtitles import read_vtt

CHAPTER = "01 - Chapter 1 The Storm"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "the-lighthouse-at-gull-point.txt"
BOOK = Path("Wren Aldous") / "The Lighthouse at Gull Point"


def render(story: Path, out: Path, *args: str) -> Path:
    r = CliRunner().invoke(
        main,
        ["make", str(story), "-o", str(out), "--engine", "tone", "--jobs", "1", *args],
        catch_exceptions=False,
    )
    assert r.exit_code == 0, r.stderr
    return out / BOOK / f"{CHAPTER}.mp3"


def test_speed_shortens_the_book_and_keeps_cues_and_chapters_aligned(tmp_path: Path) -> None:
    story = tmp_path / "story" / EXAMPLE.name
    story.parent.mkdir()
    shutil.copy(EXAMPLE, story)
    plain = render(story, tmp_path / "plain")
    fast = render(story, tmp_path / "fast", "--speed", "1.25")
    y_plain, rate = decode_audio(plain)
    y_fast, _ = decode_audio(fast)
    # the words take 1/1.25 = 80% as long; the pauses between lines stay as they are
    assert 0.78 <= y_fast.size / y_plain.size <= 0.86
    cues_plain, cues_fast = read_vtt(plain.with_suffix(".vtt")), read_vtt(fast.with_suffix(".vtt"))
    assert [c.text for c in cues_fast] == [c.text for c in cues_plain]
    for slow, quick in zip(cues_plain, cues_fast, strict=True):
        assert quick.end - quick.start == pytest.approx((slow.end - slow.start) / 1.25, abs=0.08)
    for a, b in itertools.pairwise(cues_fast):  # each cue still frames its own voice
        gap = y_fast[round((a.end + 0.04) * rate) : round((b.start - 0.04) * rate)]
        assert a.end <= b.start and gap.size and peak_dbfs(gap) <= -60
        assert peak_dbfs(y_fast[round(a.start * rate) : round(a.end * rate)]) > -30
    (chap,) = ID3(fast).getall("CHAP")  # the chapter frame spans the faster audio
    assert chap.start_time == 0 and abs(chap.end_time - y_fast.size / rate * 1000) <= 50


def test_a_characters_own_speed_changes_only_their_lines(tmp_path: Path) -> None:
    story = tmp_path / "story" / EXAMPLE.name
    story.parent.mkdir()
    shutil.copy(EXAMPLE, story)
    plain = read_vtt(render(story, tmp_path / "plain").with_suffix(".vtt"))
    sidecar = load_sidecar(story)
    sidecar.speeds = {"Agnes Corliss": 1.5}
    save_sidecar(sidecar)
    assert "[cast.speed]" in sidecar_path(story).read_text(encoding="utf-8")
    faster = read_vtt(render(story, tmp_path / "agnes").with_suffix(".vtt"))
    for a, b in zip(plain, faster, strict=True):
        ratio = (a.end - a.start) / (b.end - b.start)
        want = 1.5 if a.voice == "Agnes Corliss" else 1.0
        assert ratio == pytest.approx(want, rel=0.1), (a.text, ratio)


@pytest.mark.parametrize("value", ["3.0", "0", '"fast"', "true"])
def test_bad_speed_in_the_sidecar_is_one_clear_error(tmp_path: Path, value: str) -> None:
    story = tmp_path / "s.txt"
    story.write_text("Hello.\n", encoding="utf-8")
    sidecar_path(story).write_text(f'[cast.speed]\n"Pell" = {value}\n', encoding="utf-8")
    with pytest.raises(CastError, match=r"cast\.speed\.Pell: expected a number from 0\.5 to 2"):
        load_sidecar(story)


def test_speed_outside_the_range_is_a_usage_error(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["make", str(EXAMPLE), "-o", str(tmp_path), "--speed", "3"])
    assert r.exit_code == 2 and "--speed" in r.stderr
