"""One story's bug is that story's problem: the batch goes on, the story is named on
one line, and ``--debug`` shows what went wrong. Text from a story never reaches the
terminal raw. (SIGTERM is tested beside Ctrl-C, in test_interrupts.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

import audiobook.render.plan
from audiobook.model import Script

from .helpers import assert_complete_mp3, cli, make, mp3s, story_text, write

BUG = "unexpected error (ZeroDivisionError: the analyser tripped)"


@pytest.fixture
def buggy_analyser(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug that only one story meets (stands in for any exception that is not ours)."""
    real = audiobook.render.plan.analyze

    def analyze(path: Path, **kwargs: object) -> Script:
        if Path(path).name == "b-bug.txt":
            raise ZeroDivisionError("the analyser tripped")
        return real(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(audiobook.render.plan, "analyze", analyze)


@pytest.mark.usefixtures("buggy_analyser")
def test_a_bug_in_one_story_does_not_stop_the_batch(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    write(inbox / "a-good.txt", story_text(1, 1))
    bug = write(inbox / "b-bug.txt", story_text(1, 1))
    write(inbox / "c-good.txt", story_text(1, 1))
    out = make(inbox, "-o", tmp_path / "out")
    out.assert_no_traceback()
    assert out.code == 1
    assert out.errors == [
        f"{bug}: {BUG}; this is a bug, please report it (--debug shows the details)"
    ]
    assert "done: 2 stories" in out.stderr and "1 failed" in out.stderr
    assert len(mp3s(tmp_path / "out")) == 2


@pytest.mark.usefixtures("buggy_analyser")
def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    bug = write(tmp_path / "b-bug.txt", story_text(1, 1))
    out = make("--debug", bug, "-o", tmp_path / "out")
    assert out.code == 1
    assert len(out.errors) == 1 and BUG in out.errors[0]
    assert "Traceback (most recent call last)" in out.stderr
    assert "ZeroDivisionError: the analyser tripped" in out.stderr


def test_control_characters_from_a_story_are_escaped(tmp_path: Path) -> None:
    story = write(
        tmp_path / "story.md",
        "# The \x1b[2J\x1b[31mRed\x07 Room\u202e\n\n"
        'Chapter 1\x1b]0;owned\x07\n\n"Hello," said Ada.\n',
    )
    out = cli("script", story)
    assert out.code == 0, out.stderr
    assert "\x1b" not in out.stdout and "\x07" not in out.stdout and "\u202e" not in out.stdout
    assert "\\x1b[2J" in out.stdout
    made = make(story, "-o", tmp_path / "out")
    assert made.code == 0, made.stderr
    assert "\x1b[2J" not in made.stdout + made.stderr and "\x07" not in made.stdout
    assert_complete_mp3(mp3s(tmp_path / "out")[0])


def test_an_error_for_a_file_name_with_a_newline_is_one_line(tmp_path: Path) -> None:
    story = write(tmp_path / "two\nlines\x1b[31m.txt", b"")
    out = make(story, "-o", tmp_path / "out")
    out.assert_no_traceback()
    assert out.code == 1
    errors = [ln for ln in out.stderr.splitlines() if ln.startswith("audiobook: error:")]
    assert errors == [f"audiobook: error: {tmp_path}/two\\nlines\\x1b[31m.txt: file is empty"]


def test_jobs_has_a_ceiling(tmp_path: Path) -> None:
    import os

    story = write(tmp_path / "story.txt", story_text(1, 1))
    cores = os.cpu_count() or 1
    out = cli("make", "--engine", "tone", "--jobs", "100000", story, "-o", tmp_path / "out")
    assert out.code == 0, out.stderr
    assert (
        f"audiobook: warning: --jobs 100000 is more than 4x the {cores} cores; using {4 * cores}"
        in out.stderr
    )
