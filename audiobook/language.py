"""Language codes as each consumer wants them: ID3 ``TLAN`` and the M4B ``LANGUAGE``
atom take ISO 639-2 ("eng"), EPUB's ``dc:language`` a BCP 47 tag ("en"). Loaders pass
on what the source said: a code, a tag with a region ("en-GB") or a name ("English").
"""

from __future__ import annotations

# ISO 639-1 -> (ISO 639-2/B, English name). /B is the set ID3 taggers write ("ger",
# "fre"); the table covers the languages fiction archives list.
_CODES: dict[str, tuple[str, str]] = {
    "ar": ("ara", "arabic"), "bg": ("bul", "bulgarian"), "ca": ("cat", "catalan"),
    "cs": ("cze", "czech"), "da": ("dan", "danish"), "de": ("ger", "german"),
    "el": ("gre", "greek"), "en": ("eng", "english"), "eo": ("epo", "esperanto"),
    "es": ("spa", "spanish"), "et": ("est", "estonian"), "fa": ("per", "persian"),
    "fi": ("fin", "finnish"), "fr": ("fre", "french"), "ga": ("gle", "irish"),
    "he": ("heb", "hebrew"), "hi": ("hin", "hindi"), "hr": ("hrv", "croatian"),
    "hu": ("hun", "hungarian"), "id": ("ind", "indonesian"), "is": ("ice", "icelandic"),
    "it": ("ita", "italian"), "ja": ("jpn", "japanese"), "ko": ("kor", "korean"),
    "la": ("lat", "latin"), "lt": ("lit", "lithuanian"), "lv": ("lav", "latvian"),
    "nl": ("dut", "dutch"), "no": ("nor", "norwegian"), "nb": ("nob", "norwegian bokmål"),
    "pl": ("pol", "polish"), "pt": ("por", "portuguese"), "ro": ("rum", "romanian"),
    "ru": ("rus", "russian"), "sk": ("slo", "slovak"), "sl": ("slv", "slovenian"),
    "sr": ("srp", "serbian"), "sv": ("swe", "swedish"), "th": ("tha", "thai"),
    "tr": ("tur", "turkish"), "uk": ("ukr", "ukrainian"), "vi": ("vie", "vietnamese"),
    "cy": ("wel", "welsh"), "zh": ("chi", "chinese"),
}  # fmt: skip
_BY_639_2 = {three: two for two, (three, _) in _CODES.items()}
_BY_NAME = {name: two for two, (_, name) in _CODES.items()}


def bcp47(value: str | None) -> str | None:
    """The primary language subtag ("en") of a code, a tagged code or an English name;
    None when we cannot tell."""
    if not value:
        return None
    v = value.strip().lower().replace("_", "-")
    primary = v.split("-", 1)[0]
    if primary in _CODES:
        return primary
    return _BY_639_2.get(primary) or _BY_NAME.get(v)


def iso639_2(value: str | None) -> str | None:
    """The ISO 639-2 code ("eng") audio tags carry, or None when unknown."""
    two = bcp47(value)
    return _CODES[two][0] if two else None


def language_name(value: str | None) -> str | None:
    """The language's English name ("English") as library apps show it; the value as
    given when we do not know it."""
    two = bcp47(value)
    if two is None:
        return value or None
    return _CODES[two][1].title()
