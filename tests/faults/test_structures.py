"""Files other people wrote: a sidecar edited by hand, a roster, a voice's metadata.
A wrong value is one line naming the file, the key and what was expected; the batch
goes on; a sidecar that failed to load is never rewritten; and rewriting a good one
keeps the user's comments and keys."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from audiobook.voices import bundled_voices

from .helpers import assert_fails, cli, make, mp3s, story_text, write


@pytest.mark.parametrize(
    ("toml", "reason"),
    [
        (
            "[cast]\nnarrator = 5\n",
            "cast.narrator: expected text of at most 500 characters, found a number 5",
        ),
        (
            '[cast.characters]\nAda = ["joe"]\n',
            "cast.characters.Ada: expected text of at most 500 characters, found a list ['joe']",
        ),
        ('cast = "joe"\n', "cast: expected a table, found text 'joe'"),
        (
            '[[speakers]]\nstart = 40\nend = 10\nspeaker = "Ada"\n',
            "speakers[0].end: expected a whole number of at least 40, found a number 10",
        ),
        (
            '[[speakers]]\nstart = "ten"\nend = 20\n',
            "speakers[0].start: expected a whole number of at least 0, found text 'ten'",
        ),
        (
            '[[characters]]\nname = "Ada"\ngender = "robot"\n',
            "characters[0].gender: expected female or male or unknown, found text 'robot'",
        ),
        (
            '[[characters]]\nname = "Ada"\naliases = "Addy"\n',
            "characters[0].aliases: expected a list of text, found text 'Addy'",
        ),
        (
            "[lexicon]\nAda = 7\n",
            "lexicon.Ada: expected text of at most 10000 characters, found a number 7",
        ),
    ],
    ids=["narrator", "voice", "cast", "span", "start", "gender", "aliases", "lexicon"],
)
def test_wrong_types_in_a_sidecar(tmp_path: Path, toml: str, reason: str) -> None:
    good = write(tmp_path / "a.txt", story_text(1, 1))
    bad = write(tmp_path / "b.txt", story_text(1, 1))
    sidecar = write(tmp_path / "b.txt.audiobook.toml", toml)
    out = make(good, bad, "-o", tmp_path / "out")
    assert_fails(out, sidecar, reason)
    assert [p.parent.name for p in mp3s(tmp_path / "out")] == ["A"]  # the batch went on
    assert sidecar.read_text() == toml  # never rewritten


def test_rewriting_a_sidecar_keeps_comments_and_unknown_keys(tmp_path: Path) -> None:
    story = write(tmp_path / "story.txt", story_text(1, 1))
    mine = (
        "# My notes on this story: keep them.\n"
        "[cast]  # who reads\n"
        'narrator = "joe"  # the bundled voice\n'
        'mood = "calm"\n'
        "\n"
        "[my_tool]\n"
        "ratings = [5, 4]  # another program's data\n"
    )
    sidecar = write(tmp_path / "story.txt.audiobook.toml", mine)
    out = make(story, "-o", tmp_path / "out")
    assert out.code == 0, out.stderr
    text = sidecar.read_text()
    for line in mine.splitlines():
        assert line in text, (line, text)


def test_roster_with_a_wrong_type(tmp_path: Path) -> None:
    story = write(tmp_path / "story.txt", story_text(1, 1))
    roster = write(tmp_path / "cast.json", json.dumps([{"name": "Ines", "narrator": "yes"}]))
    out = cli("script", "--characters", roster, story)
    assert_fails(out, roster, "characters[0].narrator: expected true or false, found text 'yes'")


def test_roster_that_is_not_a_list(tmp_path: Path) -> None:
    story = write(tmp_path / "story.txt", story_text(1, 1))
    roster = write(tmp_path / "cast.json", json.dumps({"name": "Ines"}))
    out = cli("script", "--characters", roster, story)
    out.assert_no_traceback()
    assert out.code == 1
    assert out.errors[0].startswith(f"{roster}: characters: expected a list of at most")


def voice_with(tmp_path: Path, change: dict[str, object]) -> Path:
    """A voice folder holding one voice whose metadata has ``change`` laid over joe's."""
    folder = tmp_path / "voices"
    folder.mkdir()
    joe = bundled_voices()[0]
    (folder / "odd.onnx").write_bytes(b"\x08\x01model")
    config = json.loads(joe.config.read_text(encoding="utf-8"))
    config.update(change)
    (folder / "odd.onnx.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            {"num_speakers": 10**9},
            "num_speakers: expected a whole number from 0 to 10000, found a number 1000000000",
        ),
        (
            {"audio": {"sample_rate": 2**31}},
            "audio.sample_rate: expected a whole number from 8000 to 192000, "
            "found a number 2147483648",
        ),
        (
            {"num_speakers": 2, "speaker_id_map": {"a": 0, "b": "one"}},
            "speaker_id_map.b: expected a whole number from 0 to 1, found text 'one'",
        ),
        (
            {"inference": {"length_scale": -1}},
            "inference.length_scale: expected a number from 0 to 10, found a number -1",
        ),
    ],
    ids=["speakers", "rate", "speaker-map", "inference"],
)
def test_absurd_voice_metadata_is_skipped_quickly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, change: dict[str, object], reason: str
) -> None:
    folder = voice_with(tmp_path, change)
    t0 = time.monotonic()
    out = cli("voices", "list", "--json", "--voice-dir", folder)
    assert out.code == 0, out.stderr
    assert time.monotonic() - t0 < 30  # (a billion speakers used to be a billion voices)
    assert not [v for v in json.loads(out.stdout) if v["name"].startswith("odd")]
    config = folder / "odd.onnx.json"
    assert f"skipping voice {config}: unreadable config ({reason})" in caplog.messages


def test_voices_toml_with_wrong_types_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = voice_with(tmp_path, {})
    write(folder / "voices.toml", "gender = 5\n")
    out = cli("voices", "list", "--json", "--voice-dir", folder)
    assert out.code == 0, out.stderr
    assert any(v["name"] == "odd" for v in json.loads(out.stdout))
    assert any("voices.toml" in m for m in caplog.messages)


def test_roster_that_is_a_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    import os

    story = write(tmp_path / "story.txt", story_text(1, 1))
    roster = tmp_path / "cast.json"
    os.mkfifo(roster)
    out = cli("script", "--characters", roster, story)  # a hang fails the case
    assert_fails(out, roster, "cannot read roster (not a regular file, or over 16 MB)")


def test_a_linked_voice_is_still_found(tmp_path: Path) -> None:
    """Voice files are often symlinked into a voice folder: read through the links."""
    store = voice_with(tmp_path, {})
    linked = tmp_path / "linked"
    linked.mkdir()
    for name in ("odd.onnx", "odd.onnx.json"):
        (linked / name).symlink_to(store / name)
    out = cli("voices", "list", "--json", "--voice-dir", linked)
    assert out.code == 0, out.stderr
    assert any(v["name"] == "odd" for v in json.loads(out.stdout))


def test_voices_toml_that_is_a_fifo_does_not_hang(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import os

    folder = voice_with(tmp_path, {})
    os.mkfifo(folder / "voices.toml")
    out = cli("voices", "list", "--json", "--voice-dir", folder)  # a hang fails the case
    assert out.code == 0, out.stderr
    assert any(v["name"] == "odd" for v in json.loads(out.stdout))
    toml = folder / "voices.toml"
    assert f"ignoring {toml}: not a regular file, or over 16 MB" in caplog.messages
