"""The two candidate choices (other voice of a run, whom a pronoun tag means) follow
the table they are given: the shipped fit, or the hand rule when the table is silent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from audiobook.analyze import analyze
from audiobook.attribute.confidence import WEIGHTS_ENV, load_weights
from audiobook.attribute.partner import OTHER_VOICE_FEATURES
from audiobook.attribute.pronoun import PRONOUN_FEATURES
from audiobook.errors import AttributionError

# Nora and Ansel trade tagged lines; Tobias only comes on before the untagged answer.
NEWCOMER = (
    '"Is the boat in?" asked Nora Quill.\n\n'
    '"Not yet," said Ansel Brooke.\n\n'
    "Tobias Hale came down the path to the harbour with the nets.\n\n"
    '"Has anyone seen the boat?" Nora asked.\n\n'
    '"Not since noon."\n'
)


def speaker(text_path: Path, words: str) -> str | None:
    script = analyze(text_path)
    return next(s.speaker for s in script.segments if s.kind == "dialogue" and words in s.text)


# A table whose choices follow the hand rule alone.
RULE_ONLY = {"weights": {"bias": 0.0}, "other_voice": {"rule": 1.0}, "pronoun": {"rule": 1.0}}


def test_shipped_table_has_every_choice_feature() -> None:
    w = load_weights()
    assert set(w.other_voice) == set(OTHER_VOICE_FEATURES)
    assert set(w.pronoun) == set(PRONOUN_FEATURES)


def test_the_table_decides_the_other_voice(
    write_story: Callable[..., Path],
    weights_file: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    story = write_story(NEWCOMER)
    assert speaker(story, "Not since noon") == "Ansel Brooke"  # the fitted partner
    monkeypatch.setenv(WEIGHTS_ENV, str(weights_file(RULE_ONLY)))
    assert speaker(story, "Not since noon") == "Tobias Hale"  # the rule: last to act


def test_a_pronoun_never_means_whom_the_quote_calls(
    write_story: Callable[..., Path],
    weights_file: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Even a table that wants the nearest woman above all cannot give Nora a line
    # that calls Nora by name.
    text = (
        "Wenna Hale and Nora Quill walked home along the cliff path.\n\n"
        "After a while Nora stopped.\n\n"
        '"You are quiet tonight, Nora," she said.\n'
    )
    nearest = weights_file({"weights": {"bias": 0.0}, "pronoun": {"nearest": 5.0}})
    monkeypatch.setenv(WEIGHTS_ENV, str(nearest))
    assert speaker(write_story(text), "quiet tonight") == "Wenna Hale"


def test_a_choice_table_that_is_not_a_table_names_the_file(
    weights_file: Callable[..., Path],
) -> None:
    path = weights_file({"weights": {"bias": 0.0}, "pronoun": [1, 2]}, "bad.json")
    with pytest.raises(AttributionError, match="pronoun") as err:
        load_weights(path)
    assert "bad.json" in str(err.value)
