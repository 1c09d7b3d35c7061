"""Issue-level acceptance checks on whole stories (fake tone engine)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner
from mutagen.id3 import ID3
from mutagen.mp3 import MP3

from audiobook.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "stories"


def test_two_part_story_renders_two_files_titled_after_headings(tmp_path: Path) -> None:
    story = tmp_path / "two-parts.txt"
    shutil.copy(FIXTURES / "two-parts.txt", story)
    assert 5500 <= len(story.read_text(encoding="utf-8")) <= 7000
    out = tmp_path / "out"
    r = CliRunner().invoke(
        main, ["make", str(story), "-o", str(out), "--engine", "tone", "--jobs", "2"]
    )
    assert r.exit_code == 0, r.stderr
    files = sorted(out.rglob("*.mp3"))
    assert [f.name for f in files] == [
        "01 - Part One Sacrifice.mp3",
        "02 - Part Two What Remains.mp3",
    ]
    assert [str(ID3(f)["TIT2"]) for f in files] == ["Part One: Sacrifice", "Part Two: What Remains"]
    # Plausible durations: the tone engine speaks ~55 ms a character.
    chars = [3300, 2700]
    for f, n in zip(files, chars, strict=True):
        assert 0.5 * n * 0.055 < MP3(f).info.length < 2.0 * n * 0.055

    r = CliRunner().invoke(main, ["script", str(story), "--json"])
    data = json.loads(r.stdout)
    text = story.read_text(encoding="utf-8")
    seen = [0] * len(text)
    for s in data["segments"]:
        for i in range(s["start"], s["end"]):
            seen[i] += 1
    assert max(seen) == 1
    assert all(seen[i] == 1 for i, c in enumerate(text) if c.isalnum())
    assert [c["title"] for c in data["chapters"]] == [
        "Part One: Sacrifice",
        "Part Two: What Remains",
    ]
