"""The CLI end to end with the fake tone engine: files, tags, sidecar, resume, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from mutagen.id3 import ID3

from audiobook.cli import main
from audiobook.sidecar import load_sidecar, sidecar_path


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


def make(*args: str) -> tuple[int, str, str]:
    return run("make", "--engine", "tone", "--jobs", "1", *args)


def test_make_example_writes_tagged_chapters(example: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, _, err = make(str(example.parent), "-o", str(out))
    assert code == 0, err
    book = out / "Wren Aldous" / "The Lighthouse at Gull Point"
    mp3s = sorted(book.glob("*.mp3"))
    assert [p.name for p in mp3s] == [
        "01 - Chapter 1 The Storm.mp3",
        "02 - Chapter 2 What the Lamp Is For.mp3",
    ]
    assert not list(book.glob("*.part"))
    tags = ID3(mp3s[0])
    assert tags.version[:2] == (2, 3)
    assert str(tags["TIT2"]) == "Chapter 1: The Storm"
    assert str(tags["TALB"]) == "The Lighthouse at Gull Point"
    assert str(tags["TPE1"]) == str(tags["TPE2"]) == "Wren Aldous"
    assert str(tags["TRCK"]) == "1/2"
    assert str(tags["TCON"]) == "Audiobook"
    chaps = tags.getall("CHAP")
    assert len(chaps) == 1  # a scene break is no chapter
    assert tags.getall("CTOC")[0].child_element_ids == [c.element_id for c in chaps]
    playlist = (book / "The Lighthouse at Gull Point.m3u8").read_text(encoding="utf-8")
    assert "01 - Chapter 1 The Storm.mp3" in playlist and playlist.startswith("#EXTM3U")
    assert "done: 1 stories, 2 chapters" in err
    sc = load_sidecar(example)
    assert sc.narrator_voice == "joe"
    # Every speaking character has a voice of its own; the first-person narrator reads
    # their own lines in the narrator's voice.
    others = [v for name, v in sc.voices.items() if name != "Narrator"]
    assert len(others) >= 3 and len(set(others)) == len(others) and "joe" not in others
    assert sc.voices["Narrator"] == "joe"


def test_rerun_reuses_everything(example: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert make(str(example), "-o", str(out))[0] == 0
    book = out / "Wren Aldous" / "The Lighthouse at Gull Point"
    mtimes = {p: p.stat().st_mtime_ns for p in book.glob("*.mp3")}
    code, _, err = make(str(example), "-o", str(out))
    assert code == 0
    assert {p: p.stat().st_mtime_ns for p in book.glob("*.mp3")} == mtimes
    lines_part = err.split(" lines, ")[1]
    n_lines = int(err.split(" lines, ")[0].rsplit(" ", 1)[1])
    assert lines_part.startswith(f"{n_lines} from cache")


def test_sidecar_voice_choice_is_honoured(example: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert make(str(example), "-o", str(out))[0] == 0
    path = sidecar_path(example)
    text = path.read_text(encoding="utf-8").replace('narrator = "joe"', 'narrator = "joe-deep"')
    path.write_text(text, encoding="utf-8")
    assert make(str(example), "-o", str(out))[0] == 0
    tags = ID3(
        out / "Wren Aldous" / "The Lighthouse at Gull Point" / "01 - Chapter 1 The Storm.mp3"
    )
    assert str(tags["TCOM"]) == "joe-deep"


def test_batch_reports_bad_files_and_renders_the_rest(
    write_story: Callable[..., Path], tmp_path: Path
) -> None:
    good = write_story('Chapter 1\n\n"Hello," said Ann.\n', "good.txt")
    (good.parent / "empty.txt").write_bytes(b"")
    (good.parent / "picture.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    code, _, err = make(str(good.parent), "-o", str(tmp_path / "out"))
    assert code == 1
    errors = [ln for ln in err.splitlines() if ln.startswith("audiobook: error:")]
    assert len(errors) == 2
    assert any("empty.txt" in e for e in errors) and any("picture.txt" in e for e in errors)
    assert "Traceback" not in err
    assert list((tmp_path / "out").rglob("*.mp3"))


def test_missing_path_is_one_line(tmp_path: Path) -> None:
    code, _, err = make(str(tmp_path / "nope.txt"), "-o", str(tmp_path / "out"))
    assert code == 1
    assert "nope.txt" in err and "Traceback" not in err


def test_usage_error_exits_2() -> None:
    assert run("make")[0] == 2
    assert run("script")[0] == 2


def test_script_json_contract(example: Path) -> None:
    code, out, _ = run("script", str(example), "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) >= {"source", "title", "author", "chapters", "characters", "segments"}
    assert data["title"] == "The Lighthouse at Gull Point"
    assert [c["title"] for c in data["chapters"]] == [
        "Chapter 1: The Storm",
        "Chapter 2: What the Lamp Is For",
    ]
    text = example.read_text(encoding="utf-8")
    covered = [0] * len(text)
    names = {c["name"] for c in data["characters"]}
    for s in data["segments"]:
        assert s["kind"] in {"narration", "dialogue", "heading", "skip"}
        assert text[s["start"] : s["end"]] == s["text"]
        assert s["speaker"] is None or s["speaker"] in names
        for i in range(s["start"], s["end"]):
            covered[i] += 1
    assert all(c <= 1 for c in covered)
    assert all(covered[i] == 1 for i, ch in enumerate(text) if ch.isalnum())
    # Three speakers and a first-person narrator, as the example promises.
    assert sum(1 for c in data["characters"] if c["lines"] > 0) >= 3
    assert any(c["narrator"] for c in data["characters"])
    # The summary is front matter: not read, but it describes the book.
    assert data["description"].startswith("A storm")


def test_script_with_roster(example: Path, tmp_path: Path) -> None:
    roster = tmp_path / "roster.json"
    roster.write_text(
        json.dumps(
            [
                {"name": "Marguerite Hale", "aliases": ["Marguerite"], "gender": "female"},
                {"name": "Tobias Hale", "aliases": ["Tobias", "the keeper"], "gender": "male"},
            ]
        ),
        encoding="utf-8",
    )
    code, out, _ = run("script", str(example), "--json", "--characters", str(roster))
    assert code == 0
    data = json.loads(out)
    names = {c["name"] for c in data["characters"]}
    assert {"Marguerite Hale", "Tobias Hale"} <= names
    assert {s["speaker"] for s in data["segments"]} <= names | {None}
    said = {s["text"]: s["speaker"] for s in data["segments"] if s["kind"] == "dialogue"}
    assert said["Not yet,"] == "Tobias Hale"  # "said the keeper gently", via the roster alias


def test_bad_roster_is_one_line(example: Path, tmp_path: Path) -> None:
    roster = tmp_path / "roster.json"
    roster.write_text("[{", encoding="utf-8")
    code, _, err = run("script", str(example), "--json", "--characters", str(roster))
    assert code == 1 and "roster.json" in err and "Traceback" not in err


LIGHT = ("cli", "render", "analyze", "review", "preview")  # importable without the UI or voice


@pytest.mark.parametrize("module", [f"audiobook.{name}" for name in LIGHT])
def test_core_imports_stay_light(module: str) -> None:
    """Fast start, and Textual only ever under audiobook/tui/."""
    code = (
        f"import sys, {module}; bad = [m for m in ('textual', 'onnxruntime', 'piper') "
        "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_passages_marked_in_the_sidecar_are_skipped_or_read(example: Path) -> None:
    from audiobook.analyze import analyze

    text = example.read_text(encoding="utf-8")
    before = analyze(example)
    line = next(s for s in before.segments if s.kind == "dialogue" and "bell buoy" in s.text)
    summary = next(s for s in before.segments if s.kind == "skip" and "A storm" in s.text)
    para = (text.rindex("\n\n", 0, line.start) + 2, text.index("\n\n", line.end))
    sidecar_path(example).write_text(
        "passages = [\n"
        f"  {{start = {para[0]}, end = {para[1]}, read = false}},\n"
        f"  {{start = {summary.start}, end = {summary.end}, read = true}},\n"
        "]\n",
        encoding="utf-8",
    )
    after = analyze(example)
    kinds = {(s.start, s.end): s.kind for s in after.segments}
    assert kinds[(line.start, line.end)] == "skip"
    assert kinds[(summary.start, summary.end)] == "narration"
    # Tiling is unchanged: only kinds move.
    assert [(s.start, s.end) for s in after.segments] == [(s.start, s.end) for s in before.segments]
