"""One table of titles: what normalisation reads out and what name discovery takes as a
title must agree."""

from __future__ import annotations

from audiobook.characters import WordStats, find_mentions, split_honorific
from audiobook.text.normalize import normalize
from audiobook.text.titles import HONORIFICS, SPOKEN, TITLES


def test_an_abbreviated_title_is_a_title_to_every_stage() -> None:
    text = "Lt. Harris shut the hatch. Later Lt. Harris slept."
    found = {m.surface for m in find_mentions(text, [(0, len(text))], WordStats.of(text))}
    assert "Lt. Harris" in found
    assert split_honorific("Lt. Harris") == ("lieutenant", ["Harris"])
    assert split_honorific("Lieutenant Harris") == ("lieutenant", ["Harris"])
    assert normalize("Lt. Harris shut the hatch.") == "Lieutenant Harris shut the hatch."


def test_every_abbreviation_is_read_out_and_tells_a_gender() -> None:
    for abbreviation, spoken in SPOKEN.items():
        said = normalize(f"{abbreviation.title()}. Quill nodded.")
        assert said == f"{spoken} Quill nodded.", abbreviation
        assert TITLES[abbreviation].gender == HONORIFICS[abbreviation]
    assert normalize("Mme. Orsay waved.") == "Madame Orsay waved."
    assert HONORIFICS["mrs"] == "female" and HONORIFICS["sir"] == "male"
