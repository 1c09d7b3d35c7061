from __future__ import annotations

import pytest

from audiobook.language import bcp47, iso639_2


@pytest.mark.parametrize(
    ("given", "tag", "code"),
    [
        ("en", "en", "eng"),
        ("en-GB", "en", "eng"),
        ("EN_us", "en", "eng"),
        ("English", "en", "eng"),
        ("fre", "fr", "fre"),
        ("Deutsch", None, None),  # a language's own name is the loader's business
        ("xx", None, None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_codes(given: str | None, tag: str | None, code: str | None) -> None:
    assert bcp47(given) == tag
    assert iso639_2(given) == code
