"""The shipped word lists, read once for every stage that asks."""

from __future__ import annotations

from audiobook.text.wordlists import (
    english_words,
    female_first_names,
    known_names,
    male_first_names,
    nicknames,
    words,
)


def test_the_lists_skip_comments_and_agree_with_each_other() -> None:
    assert nicknames()["lizzy"] == "elizabeth"
    assert "elizabeth" in female_first_names() and "arthur" in male_first_names()
    assert "Agnes" in known_names() and "agnes" not in english_words()
    assert "lantern" in english_words()
    assert not any(w.startswith("#") for w in words("names_male.txt"))
    assert words("names_male.txt") is words("names_male.txt")  # read once
