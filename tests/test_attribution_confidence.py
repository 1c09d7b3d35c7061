"""The fitted confidence: a probability per line, from a table the user can swap."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from audiobook.analyze import analyze
from audiobook.attribute import speech_verbs
from audiobook.attribute.confidence import (
    FEATURES,
    SIEVE_PREFIX,
    WEIGHTS_ENV,
    line_features,
    load_weights,
)
from audiobook.cli import main
from audiobook.errors import AttributionError
from audiobook.model import Character, Script, Segment
from audiobook.sidecar import Sidecar, SpeakerFix, save_sidecar, sidecar_path

# Two people talk, one names the other, then a third joins and the talk goes untagged.
SCENE = (
    "Nora Quill set the kettle on the stove while Ansel Brooke stamped the snow off.\n\n"
    '"Tea, then," said Nora.\n\n'
    '"If it is hot," Ansel said, "I will drink anything you pour."\n\n'
    '"It is always hot, Ansel."\n\n'
    '"Then pour."\n\n'
    "The door banged and Wenna Hale came in with the post.\n\n"
    '"Three letters and a parcel."\n\n'
    '"For me?"\n\n'
    '"For nobody you know."\n'
)


def features_by_text(script: Script) -> dict[str, dict[str, float]]:
    rows = line_features(script.text, script.segments, script.characters, speech_verbs())
    return {seg.text: f for seg, f in rows}


def placed_confidences(script: Script) -> list[float]:
    return [x.confidence for x in script.segments if x.speaker and x.kind == "dialogue"]


def line(script: Script, words: str) -> Segment:
    return next(s for s in script.segments if s.kind == "dialogue" and words in s.text)


def test_shipped_table_loads_and_knows_the_sieves() -> None:
    w = load_weights()
    assert "bias" in w.values
    assert SIEVE_PREFIX + "tag-name" in w.values
    assert set(FEATURES) <= set(w.values)


def test_confidence_is_a_probability_and_a_naming_tag_beats_a_guess(
    write_story: Callable[..., Path],
) -> None:
    s = analyze(write_story(SCENE))
    placed = [x for x in s.segments if x.kind == "dialogue" and x.speaker]
    assert placed and all(0.0 <= x.confidence <= 1.0 for x in placed)
    tagged = line(s, "Tea, then")
    assert (tagged.speaker, tagged.sieve) == ("Nora Quill", "tag-name")
    untagged = [x for x in placed if not (x.sieve or "").startswith("tag-")]
    assert untagged and all(x.confidence < tagged.confidence for x in untagged)


def test_features_read_the_tag_next_to_the_quote(write_story: Callable[..., Path]) -> None:
    s = analyze(write_story(SCENE))
    feats = features_by_text(s)
    tea = next(f for text, f in feats.items() if "Tea, then" in text)
    assert tea["tag_next"] == 1.0 and tea["par_named"] == 1.0
    assert tea[SIEVE_PREFIX + "tag-name"] == 1.0
    pour = next(f for text, f in feats.items() if text.startswith("Then pour"))
    assert pour["tag_next"] == 0.0 and pour["par_named"] == 0.0
    calls = next(f for text, f in feats.items() if "always hot" in text)
    assert calls["calls_self"] == 0.0  # Nora calls Ansel by name: not her own
    for f in feats.values():
        assert set(f) - set(FEATURES) <= {k for k in f if k.startswith(SIEVE_PREFIX)}


# Two duets whose tags, two turns apart, fit strict turn-taking.
DUET = (
    "Chapter 1\n\n"
    '"Is the ferry in?" said Posy.\n\n'
    '"Not yet."\n\n'
    '"Then we wait," said Posy. "We always wait."\n\n'
    '"We do."\n\n'
    "The gulls wheeled over the wall for a long while.\n\n"
    '"Cold," said Tobias.\n\n'
    '"Very."\n\n'
    '"Colder than yesterday," said Tobias.\n'
)


def test_features_say_whether_the_tags_around_a_line_fit_turn_taking(
    write_story: Callable[..., Path],
) -> None:
    s = analyze(write_story(DUET))
    feats = features_by_text(s)
    wait = feats["Then we wait,"]
    assert wait["behind_agrees"] == 1.0 and wait["behind_disagrees"] == 0.0
    assert wait["ahead_agrees"] == wait["ahead_disagrees"] == 0.0  # no tag ahead in the run
    # A paragraph's second quote is described by its tagged first one, marked borrowed.
    borrowed = feats["We always wait."]
    assert borrowed["inherited"] == 1.0
    assert {k: v for k, v in borrowed.items() if k != "inherited"} == wait
    # "Colder…" is said by the speaker of two turns back: the tag of the run's first
    # line (Tobias, then someone, then Tobias) agrees; none lies ahead.
    colder = feats["Colder than yesterday,"]
    assert colder["behind_agrees"] == 1.0 and colder["ahead_agrees"] == 0.0
    # Given to Posy, whose tags stand one turn before and one after it, "Not yet."
    # breaks the alternation both ways.
    not_yet = next(x for x in s.segments if x.text.startswith("Not yet"))
    assert not_yet.speaker != "Posy"
    not_yet.speaker = "Posy"
    feats = features_by_text(s)
    assert feats["Not yet."]["behind_disagrees"] == feats["Not yet."]["ahead_disagrees"] == 1.0


def test_a_reviewed_cast_reads_its_own_table(
    write_story: Callable[..., Path],
    weights_file: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    story = write_story(SCENE)
    table = {"weights": {"bias": -5}, "weights_roster": {"bias": 5}}
    monkeypatch.setenv(WEIGHTS_ENV, str(weights_file(table)))
    found = placed_confidences(analyze(story))
    assert found and max(found) < 0.01
    cast = [
        Character("Nora Quill", ["Nora"], "female"),
        Character("Ansel Brooke", ["Ansel"], "male"),
    ]
    sure = placed_confidences(analyze(story, roster=cast))
    assert sure and min(sure) > 0.99


def test_environment_table_replaces_the_shipped_one(
    write_story: Callable[..., Path],
    weights_file: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    story = write_story(SCENE)
    monkeypatch.setenv(WEIGHTS_ENV, str(weights_file({"weights": {"bias": {"w": -5}}})))
    low = placed_confidences(analyze(story))
    assert low and max(low) < 0.01
    monkeypatch.setenv(WEIGHTS_ENV, str(weights_file({"weights": {"bias": 5}}, "up.json")))
    high = placed_confidences(analyze(story))
    assert min(high) > 0.99


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        json.dumps({"weights": {}}),
        json.dumps({"weights": {"bias": {"w": "high"}}}),
        json.dumps({"weights": {"bias": {"w": float("nan")}}}),
        json.dumps([1, 2]),
    ],
)
def test_malformed_table_is_a_clear_error_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str
) -> None:
    bad = tmp_path / "weights.json"
    bad.write_text(content, encoding="utf-8")
    monkeypatch.setenv(WEIGHTS_ENV, str(bad))
    with pytest.raises(AttributionError) as err:
        load_weights()
    assert str(bad) in str(err.value)


def test_missing_table_through_the_cli_is_one_line_not_a_traceback(
    write_story: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    story = write_story(SCENE)
    missing = tmp_path / "nowhere.json"
    monkeypatch.setenv(WEIGHTS_ENV, str(missing))
    r = CliRunner().invoke(main, ["script", str(story), "--json"])
    assert r.exit_code != 0
    assert str(missing) in r.output
    assert "Traceback" not in r.output


def test_user_fixes_keep_full_confidence(write_story: Callable[..., Path]) -> None:
    story = write_story(SCENE)
    first = line(analyze(story), "Tea, then")
    quiet = line(analyze(story), "Then pour")
    save_sidecar(
        Sidecar(
            path=sidecar_path(story),
            fixes=[
                SpeakerFix(first.start, first.end, "Ansel Brooke", first.text),
                SpeakerFix(quiet.start, quiet.end, None, quiet.text),
            ],
        )
    )
    s = analyze(story)
    for words, who in (("Tea, then", "Ansel Brooke"), ("Then pour", None)):
        seg = line(s, words)
        assert (seg.speaker, seg.sieve, seg.confidence) == (who, "user", 1.0)
