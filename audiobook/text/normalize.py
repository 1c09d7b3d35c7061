"""Text normalisation: what a story's words should sound like, before Piper sees them.

Piper's front end (espeak-ng) reads "$5.50" as "dollar five point five zero", "Mr." as the
end of a sentence, "IT" as "I T", "S-smallville" as "ess smallville", "~" as "tilde" and
glues the words on either side of "..." together. Everything here rewrites the text so
that the plain reading is the right one; the script keeps the original text and offsets.

Rules run in a fixed order: markup, OCR slips, stutters, abbreviations, numbers, Roman
numerals, shouted capitals, pauses. Each rule only adds or rewrites, never drops a word
that has letters, unless it is markup (tags, link targets, footnote marks).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from .sentences import sentence_ends_at, sentence_starts_at
from .titles import SPOKEN
from .wordlists import english_words

_L = r"[^\W\d_]"  # one letter, any script
_W = r"[^\W_]"  # a letter or a digit

# --- numbers as words -----------------------------------------------------------

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL_WORDS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
MAX_CARDINAL = 10**15 - 1  # beyond this, digits are read one by one


def cardinal(n: int) -> str:
    """1234 -> "one thousand two hundred thirty-four" (US style, no "and")."""
    if n < 0:
        return "minus " + cardinal(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {cardinal(rest)}" if rest else "")
    if n > MAX_CARDINAL:
        return digits(str(n))
    for scale, name in _SCALES:
        if n >= scale:
            high, rest = divmod(n, scale)
            return f"{cardinal(high)} {name}" + (f" {cardinal(rest)}" if rest else "")
    raise AssertionError(n)  # pragma: no cover


def ordinal(n: int) -> str:
    """22 -> "twenty-second"."""
    words = cardinal(n)
    head, sep, last = words.rpartition("-") if "-" in words.split()[-1] else ("", "", words)
    if not sep:
        head, sep, last = words.rpartition(" ")
    if last in _ORDINAL_WORDS:
        last = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return head + sep + last


def digits(s: str) -> str:
    """ "007" -> "zero zero seven"."""
    return " ".join(_ONES[int(c)] for c in s if c.isdigit())


def year(n: int) -> str:
    """1999 -> "nineteen ninety-nine", 1905 -> "nineteen oh five", 2000 -> "two
    thousand", 2008 -> "two thousand eight", 2024 -> "twenty twenty-four"."""
    if not 1000 <= n <= 9999 or (2000 <= n < 2010) or n % 1000 == 0:
        return cardinal(n)
    high, low = divmod(n, 100)
    if low == 0:
        return f"{cardinal(high)} hundred"
    return f"{cardinal(high)} " + (f"oh {_ONES[low]}" if low < 10 else cardinal(low))


def _plural(words: str) -> str:
    """ "nineteen ninety" -> "nineteen nineties" (decades)."""
    return words[:-1] + "ies" if words.endswith("y") else words + "s"


def _number(s: str) -> str:
    """Digits with optional thousands commas and decimals, as words."""
    s = s.replace(",", "")
    whole, _, frac = s.partition(".")
    if len(whole) > 1 and whole.startswith("0"):
        out = digits(whole)
    else:
        out = cardinal(int(whole)) if whole else "zero"
    if frac:
        out += " point " + digits(frac)
    return out


# --- tables ----------------------------------------------------------------------

# Read in full before a name, like a title, but naming no one person: a place ("Mt.
# Hood", "Ft. Worth"), a firm or pair ("Messrs. Duff and Blathers"), a courtesy that
# stands before another title ("the Hon. Lady Catherine").
_PREFIXES_BEFORE_NAME = {"mt": "Mount", "ft": "Fort", "messrs": "Messieurs", "hon": "Honourable"}
_BEFORE_NAME = SPOKEN | _PREFIXES_BEFORE_NAME
# Read in full only with their period ("etc." but not a name like "Ave").
ABBREVIATIONS = {
    "etc": "et cetera",
    "vs": "versus",
    "approx": "approximately",
    "ave": "Avenue",
    "rd": "Road",
    "blvd": "Boulevard",
    "apt": "Apartment",
    "dept": "Department",
    "jr": "Junior",
    "sr": "Senior",
    "inc": "Incorporated",
    "ltd": "Limited",
    "est": "established",
    "govt": "government",
}
# These may end a sentence: their period then still ends it.
_SENTENCE_ENDERS = {
    "etc",
    "jr",
    "sr",
    "inc",
    "ltd",
    "ave",
    "rd",
    "blvd",
    "st",
    "dr",
    "ft",
    "pm",
    "am",
}
MONTHS = (
    "January February March April May June July August September October November December"
).split()
_MONTH_ABBR = {m[:3].lower(): m for m in MONTHS} | {"sept": "September"}
_UNITS = {
    "km": ("kilometre", "kilometres"),
    "kg": ("kilogram", "kilograms"),
    "cm": ("centimetre", "centimetres"),
    "mm": ("millimetre", "millimetres"),
    "ml": ("millilitre", "millilitres"),
    "mph": ("mile per hour", "miles per hour"),
    "kph": ("kilometre per hour", "kilometres per hour"),
    "km/h": ("kilometre per hour", "kilometres per hour"),
    "lb": ("pound", "pounds"),
    "lbs": ("pound", "pounds"),
    "oz": ("ounce", "ounces"),
    "ft": ("foot", "feet"),
    "mi": ("mile", "miles"),
    "°c": ("degree Celsius", "degrees Celsius"),
    "°f": ("degree Fahrenheit", "degrees Fahrenheit"),
    "°": ("degree", "degrees"),
}
_CURRENCY = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"),
    "¥": ("yen", "yen", "", ""),
    "₹": ("rupee", "rupees", "paisa", "paise"),
}
_MAGNITUDES = {
    "thousand": "thousand",
    "k": "thousand",
    "million": "million",
    "m": "million",
    "mn": "million",
    "billion": "billion",
    "bn": "billion",
    "b": "billion",
    "trillion": "trillion",
}
_FRACTIONS = {2: ("half", "halves"), 4: ("quarter", "quarters")}
# Capitals that are read letter by letter or as a word on purpose; any other word in
# capitals is shouting and is read as a word. Ones that are also plain words (US, IT,
# AM, WHO) are left out: in shouted text they are words.
ACRONYMS = frozenset(
    """
    ABC AI ASAP ATM ATV AWOL BBC BBQ BFF BTW CBS CCTV CD CEO CFO CIA CNN CPR CPU CSI CTO DA
    DC DEA DIY DJ DMV DNA DOA DUI DVD EMT ER ETA EU FAQ FBI FDA FYI GED GPA GPS HIV HQ HR
    IBM ICU ID IOU IQ IRA IRS ISP IV JFK KGB LA LAPD LED LGBT LOL LSD MBA MC MD MI5 MI6 MIA
    MIT MMA MP MRI MVP NASA NATO NBA NBC NCO NFL NHS NPC NSA NYC NYPD OB OCD OK OMG PC PDF
    PE PG PhD PIN PM PR PS PTA PTSD RAF RIP RN RSVP SAT SOS SUV SWAT TBA TLC TNT TV UCLA
    UFO UK UN UNICEF UPS USA USB USSR UV VIP WC WTF WWI WWII XL YMCA
    """.split()
)
# Regnal numbers: "Henry VIII" is "Henry the Eighth"; other names take a cardinal.
_REGNAL = frozenset(
    """
    Alexander Alfonso Amenhotep Benedict Boniface Catherine Charles Clement Constantine Edward
    Elizabeth Ferdinand Francis Frederick George Gregory Harold Henry Innocent James John
    Leo Louis Ludwig Mary Napoleon Nicholas Paul Peter Philip Pius Ramesses Richard Robert
    Rudolf Sixtus Stephen Urban Victor Wilhelm William
    """.split()
)
# Prefixes that form real words with a hyphen ("re-read", "co-conspirator"): not stutters.
_PREFIXES = frozenset(
    "re co de un in ex pre pro non mid mis sub bi tri dis anti semi self post over out up "
    "off mal".split()
)
_VOWELS = "aeiouyAEIOUY"
_VERBS_AFTER_I = (
    "am was have had think thought know knew said say can could will would did do don't "
    "didn't can't won't wasn't haven't hadn't just mean meant guess suppose want wanted need "
    "needed love loved like liked see saw feel felt must should never always remember hope "
    "wish swear promise told asked heard"
).split()


# --- the rules ---------------------------------------------------------------------

_Rule = Callable[[str], str]


def _sub(pattern: str, repl: str | Callable[[re.Match[str]], str], flags: int = 0) -> _Rule:
    rx = re.compile(pattern, flags)
    return lambda s: rx.sub(repl, s)


# Markup. "[[" would switch Piper to raw phoneme input: story text never means that.
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
_ENTITY = re.compile(r"&(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);")
_MD_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\s]*(?:\s+\"[^\"]*\")?\)")
_MD_LINK = re.compile(r"\[([^\]\n]+)\]\([^)\s]*(?:\s+\"[^\"]*\")?\)")
_FOOTNOTE = re.compile(r"\[(?:\^?\d{1,3}|\*|†)\]")
_LINE_MARK = re.compile(r"^[ \t]*(?:#{1,6}|>+)(?=[ \t]|$)", re.MULTILINE)
_STARS = re.compile(r"\*+")
_UNDERSCORES = re.compile(r"(?<![^\W_])_+|_+(?![^\W_])")  # at a word edge; snake_case stays
_TILDES = re.compile(r"~+")
_BACKTICKS = re.compile(r"`+")


def _markup(s: str) -> str:
    s = _HTML_TAG.sub("", s)
    s = _ENTITY.sub(lambda m: html.unescape(m.group(0)), s)
    s = _MD_IMAGE.sub("", s)
    s = _MD_LINK.sub(r"\1", s)
    s = _FOOTNOTE.sub("", s)
    s = _LINE_MARK.sub("", s)
    s = _STARS.sub("", s)
    s = _UNDERSCORES.sub("", s)
    s = _TILDES.sub(" ", s)
    s = _BACKTICKS.sub("", s)
    return s


def is_markup(token: str) -> bool:
    """Whether ``token`` (a whole whitespace-free token) is markup that is not read:
    a tag, an emphasis mark, a footnote mark."""
    return bool(
        _HTML_TAG.fullmatch(token)
        or _FOOTNOTE.fullmatch(token)
        or re.fullmatch(r"[*_~`#>]+", token)
    )


# OCR slips, only where the reading is unambiguous.
_OCR_RULES: list[_Rule] = [
    # "1'm", "l'll", "|'ve" -> "I'm"...
    _sub(r"(?<![\w'’])[1l|](?=['’](?:m|ll|ve|d)\b)", "I"),
    # "haven't 1?" -> "haven't I?"
    _sub(
        r"(\b(?:am|can|could|do|did|does|have|had|shall|should|will|would|was|were|must|may|"
        r"might)|n['’]t) 1(?=[?!.,]|$)",
        r"\1 I",
    ),
    # "1 think", "and l said", "| know" -> "I ..."
    _sub(
        r"(?<![\w'’.,$£€-])[1l|](?= (?:" + "|".join(map(re.escape, _VERBS_AFTER_I)) + r")\b)", "I"
    ),
    # a lone lower-case "l" is never a word
    _sub(r"(?<![\w'’.-])l(?![\w'’.-])", "I"),
    # "[ haven't" at a sentence start (no closing bracket follows) -> "I haven't"
    _sub(r"(?:^|(?<=[.!?\"“] ))\[(?= [a-z])(?![^\]]*\])", "I"),
    # "c0uld" -> "could"
    _sub(r"(?<=[a-z])0(?=[a-z])|(?<![\w])0(?=[a-z]{2,}\b)", "o"),
    # "can 't", "don ' t" -> "can't", "don't"
    _sub(r"(?<=[a-z])(?: ['’] ?|['’] )(?=(?:t|ll|re|ve)\b)", "'"),
]


_OCR_HINT = re.compile(r"(?<![\w'’])[1l|\[](?![\w])|(?<![\w'’])[1l|]['’]|0| ['’]|['’] ")


def _ocr(s: str) -> str:
    if not _OCR_HINT.search(s):
        return s  # most lines: nothing to repair
    for rule in _OCR_RULES:
        s = rule(s)
    return s


# Stutters: "S-smallville" -> "Sma-Smallville", "l-loved" -> "lo-loved". A bare
# consonant is read as its letter name ("ess"), so the fragment is carried on to the
# word's first vowel, which reads as the start of the word.
_STUTTER = re.compile(rf"(?<![\w'’-])((?:{_L}{{1,3}}-)+)({_L}[\w'’]*)")


def _stutter(m: re.Match[str]) -> str:
    frags = m.group(1).rstrip("-").split("-")
    word = m.group(2)
    low = word.casefold()
    if any(
        not low.startswith(f.casefold()) or f.casefold() in _PREFIXES or len(f) >= len(word)
        for f in frags
    ):
        return m.group(0)
    capital = frags[0][0].isupper() and word[0].islower()
    if capital and word.lower().replace("’", "'") not in english_words():
        word = word[0].upper() + word[1:]  # a name: "S-smallville" is "Smallville"
    spoken = []
    for f in frags:
        if not any(c in _VOWELS for c in f):
            i = len(f)
            while i < len(word) and word[i] not in _VOWELS:
                i += 1
            while i < len(word) and word[i] in _VOWELS:
                i += 1
            f = f + word[len(f) : i].lower()
        spoken.append(f)
    return "-".join([*spoken, word])


# Abbreviations and honorifics.
_HONORIFIC = re.compile(r"\b([A-Z][A-Za-z]{0,5})\b(\.?)(?=( *)(\S)?)")
_ABBREV = re.compile(r"\b(" + "|".join(ABBREVIATIONS) + r")\.", re.IGNORECASE)
_LATIN = [
    _sub(r"\be\.\s?g\.(?=,?\s)", "for example"),
    _sub(r"\bi\.\s?e\.(?=,?\s)", "that is"),
    _sub(r"\bvs\b(?!\.)", "versus"),
]
_NUMBER_SIGN = re.compile(r"(?:\b[Nn]o\.|#) ?(?=\d)")
_PAGE = re.compile(r"\b(pp?|ch|vol|fig)\. ?(?=\d|[IVXLC]+\b)", re.IGNORECASE)
_PAGE_WORDS = {"p": "page ", "pp": "pages ", "ch": "Chapter ", "vol": "Volume ", "fig": "figure "}
_INITIALISM = re.compile(r"\b((?:[A-Z]\.){2,})(?=(\s+[A-Z])?)")


def _abbreviations(s: str) -> str:
    for rule in _LATIN:
        s = rule(s)
    s = _NUMBER_SIGN.sub("number ", s)
    s = _PAGE.sub(lambda m: _PAGE_WORDS[m.group(1).lower()], s)

    def honorific(m: re.Match[str]) -> str:
        word, dot, after = m.group(1), m.group(2), m.group(4)
        key = word.lower()
        if key not in _BEFORE_NAME:
            return m.group(0)
        if not (word[0].isupper() and (word[1:].islower() or word.isupper() or len(word) == 1)):
            return m.group(0)
        name_follows = bool(after) and after[0].isupper()
        before = s[: m.start()].rstrip()
        after_name = bool(re.search(r"(?:^|\s)[A-Z][a-z]+$", before)) and not re.search(
            r"(?:^|[.!?\"“]\s*)[A-Z][a-z]+$", before
        )
        if key in ("st", "dr") and after_name:
            # "Baker St.", "Elm Dr.": after a name it is the street.
            full = {"st": "Street", "dr": "Drive"}[key]
            return full + ("." if dot and sentence_ends_at(s, m.end()) else "")
        if key == "ft" and re.search(r"\d\s*$", before):
            full = "feet"
        elif name_follows:
            full = _BEFORE_NAME[key]
        elif dot and key in ("st", "dr"):
            full = {"st": "Street", "dr": "Doctor"}[key]
        else:
            return m.group(0)
        end_dot = "." if dot and key in _SENTENCE_ENDERS and not name_follows else ""
        if end_dot and not sentence_ends_at(s, m.end()):
            end_dot = ""
        return full + end_dot

    s = _HONORIFIC.sub(honorific, s)

    def abbreviation(m: re.Match[str]) -> str:
        key = m.group(1).lower()
        full = ABBREVIATIONS[key]
        if m.group(1)[0].isupper() and full[0].islower() and sentence_starts_at(s, m.start()):
            full = full[0].upper() + full[1:]
        return full + ("." if key in _SENTENCE_ENDERS and sentence_ends_at(s, m.end()) else "")

    s = _ABBREV.sub(abbreviation, s)
    # "U.S.A." -> "U S A": the periods would end espeak's sentence.
    s = _INITIALISM.sub(
        lambda m: (
            " ".join(m.group(1).replace(".", ""))
            + ("." if sentence_ends_at(s, m.end()) and not m.group(2) else "")
        ),
        s,
    )
    return s


# Numbers.
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_MAGNITUDE_WORDS = r"thousand|million|billion|trillion|k|m|mn|bn|b"
_CURRENCY_RX = re.compile(
    rf"(?<![\w$£€¥₹])([$£€¥₹]) ?({_NUM})(?: ?({_MAGNITUDE_WORDS})\b)?", re.IGNORECASE
)
_CENTS_RX = re.compile(r"(?<![\w.])(\d+) ?¢")
_TIME_AMPM = re.compile(r"(?<![\w:])(\d{1,2})(?::([0-5]\d))? ?([AaPp])\.? ?[Mm]\b\.?")
_TIME_24 = re.compile(r"(?<![\w:.])([01]?\d|2[0-3]):([0-5]\d)(?![\d:])")
_MONTH_NAMES = "|".join(MONTHS) + "|" + "|".join(k.capitalize() + r"\.?" for k in _MONTH_ABBR)
_ORD = r"(\d{1,2})(?:st|nd|rd|th)?"
_DATE_MDY = re.compile(rf"\b({_MONTH_NAMES}) {_ORD}\b(?:(,? )(\d{{4}})\b)?")
_DATE_DMY = re.compile(
    rf"(?<![\w,.])(\d{{1,2}})(?:st|nd|rd|th)?( of)? ({_MONTH_NAMES})(?:(,? )(\d{{4}})\b)?"
)
_DATE_NUMERIC = re.compile(r"(?<![\w/.-])(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})(?![\w/])")
_DATE_ISO = re.compile(r"(?<![\w/.-])(\d{4})-(\d{2})-(\d{2})(?![\w-])")
_DECADE = re.compile(r"(?<![\w'’])(?:(1[1-9]|20)(\d0)|['’](\d0)|(?<=\bthe )(\d0))['’]?s\b")
_YEAR_CONTEXT = re.compile(
    r"\b(in|since|of|by|until|till|from|circa|year|summer|winter|spring|autumn|fall|around|"
    r"before|after|during|early|late|mid|c\.)([ -])(1[1-9]\d\d|20\d\d)\b(?![,.]\d)"
    r"|(?<![\w,.])(\d{1,4}) ?(AD|BC|BCE|CE|A\.D\.|B\.C\.)(?!\w)"
    r"|(?<![\w,.$£€¥-])(1[1-9]\d\d)(?![\w,]|\.\d)",
    re.IGNORECASE,
)
_ORDINAL_RX = re.compile(r"(?<![\w.,])(\d+)(st|nd|rd|th)\b", re.IGNORECASE)
_PERCENT = re.compile(r"(?<![\w.,])(" + _NUM + r") ?%")
_UNIT_RX = re.compile(
    r"(?<![\w.,])(" + _NUM + r") ?(km/h|°[CF]|°|(?:km|kg|cm|mm|ml|mph|kph|lbs?|oz|ft|mi)\b)",
)
_PHONE = re.compile(r"(?<![\w-])(?:\d{3}-)?\d{3}-\d{4}(?![\w-])")
_HEIGHT = re.compile(r"(?<![\w'’])(\d)['’](\d{1,2})(?:\"|”|'')?(?!\w)")
_FRACTION = re.compile(r"(?<![\w/.])(\d{1,2})/(\d{1,2})(?![\w/])")
_NEGATIVE = re.compile(r"(?:(?<=\s)|^)[-−](?=\d)")
_PLAIN = re.compile(r"(?<![\w.,])(" + _NUM + r")(?![\w]|[.,]\d)")


def _money(m: re.Match[str]) -> str:
    one, many, sub_one, sub_many = _CURRENCY[m.group(1)]
    amount, magnitude = m.group(2).replace(",", ""), m.group(3)
    if magnitude:
        return f"{_number(amount)} {_MAGNITUDES[magnitude.lower()]} {many}"
    whole, _, frac = amount.partition(".")
    units = int(whole or "0")
    if frac and len(frac) == 2 and sub_one:
        cents = int(frac)
        parts = []
        if units:
            parts.append(f"{cardinal(units)} {one if units == 1 else many}")
        if cents or not units:
            parts.append(f"{cardinal(cents)} {sub_one if cents == 1 else sub_many}")
        return " and ".join(parts)
    if frac:
        return f"{_number(amount)} {many}"
    return f"{cardinal(units)} {one if units == 1 else many}"


def _clock(hour: int, minute: int) -> str:
    if minute == 0:
        return cardinal(hour)
    return f"{cardinal(hour)} " + (f"oh {_ONES[minute]}" if minute < 10 else cardinal(minute))


def _time_ampm(m: re.Match[str]) -> str:
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if hour > 12:
        return m.group(0)
    said = f"{_clock(hour, minute)} {m.group(3).upper()} M"
    s = m.string
    if m.group(0).endswith(".") and sentence_ends_at(s, m.end()):
        said += "."
    return said


def _time_24(m: re.Match[str]) -> str:
    hour, minute = int(m.group(1)), int(m.group(2))
    if minute == 0:
        return f"{cardinal(hour)} o'clock" if hour <= 12 else f"{cardinal(hour)} hundred"
    if hour == 0:
        return f"zero {cardinal(minute) if minute >= 10 else 'oh ' + _ONES[minute]}"
    return _clock(hour, minute)


def _month(name: str) -> str:
    return _MONTH_ABBR.get(name.rstrip(".").lower()[:4], "") or _MONTH_ABBR.get(
        name.rstrip(".").lower()[:3], name
    )


def _date_mdy(m: re.Match[str]) -> str:
    day = int(m.group(2))
    if not 1 <= day <= 31:
        return m.group(0)
    out = f"{_month(m.group(1))} {ordinal(day)}"
    if m.group(4):
        out += f", {year(int(m.group(4)))}"
    return out


def _date_dmy(m: re.Match[str]) -> str:
    day = int(m.group(1))
    if not 1 <= day <= 31:
        return m.group(0)
    the = "" if re.search(r"\bthe $", m.string[: m.start()], re.IGNORECASE) else "the "
    out = f"{the}{ordinal(day)} of {_month(m.group(3))}"
    if m.group(5):
        out += f", {year(int(m.group(5)))}"
    return out


def _date_numeric(m: re.Match[str]) -> str:
    a, b, y = int(m.group(1)), int(m.group(2)), m.group(3)
    month, day = (b, a) if a > 12 else (a, b)  # day first only when it must be
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return m.group(0)
    yy = int(y) if len(y) == 4 else 2000 + int(y) if int(y) < 50 else 1900 + int(y)
    return f"{MONTHS[month - 1]} {ordinal(day)}, {year(yy)}"


def _date_iso(m: re.Match[str]) -> str:
    y, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return m.group(0)
    return f"{MONTHS[month - 1]} {ordinal(day)}, {year(y)}"


def _decade(m: re.Match[str]) -> str:
    if m.group(1):
        return _plural(year(int(m.group(1) + m.group(2))))
    return _plural(cardinal(int(m.group(3) or m.group(4))))


def _year(m: re.Match[str]) -> str:
    if m.group(3):
        return m.group(1) + m.group(2) + year(int(m.group(3)))
    if m.group(4):
        era = m.group(5).replace(".", "").upper()
        return f"{year(int(m.group(4)))} {' '.join(era)}"
    return year(int(m.group(6)))


def _unit(m: re.Match[str]) -> str:
    amount = m.group(1)
    one, many = _UNITS[m.group(2).lower()]
    return f"{_number(amount)} {one if amount == '1' else many}"


def _fraction(m: re.Match[str]) -> str:
    num, den = int(m.group(1)), int(m.group(2))
    if (num, den) == (24, 7):
        return "twenty-four seven"
    if num == den == 50:
        return "fifty-fifty"
    if not 0 < num < den <= 10:
        return m.group(0)
    one, many = _FRACTIONS.get(den, (ordinal(den), ordinal(den) + "s"))
    return f"{cardinal(num)} {one if num == 1 else many}"


_ANY_DIGIT = re.compile(r"\d")


def _numbers(s: str) -> str:
    if not _ANY_DIGIT.search(s):  # most lines: one scan in C, not a generator
        return s
    s = re.sub(r"(?<=\d) ?– ?(?=\d)", " to ", s)  # "1990–1995"
    s = _PHONE.sub(lambda m: ", ".join(digits(g) for g in m.group(0).split("-")), s)
    s = _HEIGHT.sub(lambda m: f"{cardinal(int(m.group(1)))} foot {cardinal(int(m.group(2)))}", s)
    s = _CURRENCY_RX.sub(_money, s)
    s = _CENTS_RX.sub(
        lambda m: f"{cardinal(int(m.group(1)))} cent" + ("" if m.group(1) == "1" else "s"), s
    )
    s = _TIME_AMPM.sub(_time_ampm, s)
    s = _TIME_24.sub(_time_24, s)
    s = _DATE_ISO.sub(_date_iso, s)
    s = _DATE_NUMERIC.sub(_date_numeric, s)
    s = _DATE_MDY.sub(_date_mdy, s)
    s = _DATE_DMY.sub(_date_dmy, s)
    s = _DECADE.sub(_decade, s)
    s = _YEAR_CONTEXT.sub(_year, s)
    s = _ORDINAL_RX.sub(lambda m: ordinal(int(m.group(1))), s)
    s = _PERCENT.sub(lambda m: f"{_number(m.group(1))} percent", s)
    s = _UNIT_RX.sub(_unit, s)
    s = _FRACTION.sub(_fraction, s)
    s = _NEGATIVE.sub("minus ", s)
    s = _PLAIN.sub(lambda m: _number(m.group(1)), s)
    return s


# Roman numerals.
_ROMAN_VALUES = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100, "d": 500, "m": 1000}
_ROMAN = r"m{0,4}(?:cm|cd|d?c{0,3})(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})"
_ROMAN_FULL = re.compile(_ROMAN, re.IGNORECASE)
_NUMBERED = r"chapter|part|book|volume|act|scene|episode|season"
_KEYWORD_ROMAN = re.compile(rf"\b({_NUMBERED})(\s+)(?=[mdclxvi]+\b)({_ROMAN})\b", re.IGNORECASE)
_NAME_ROMAN = re.compile(r"(?<=[a-z] )([IVX]{2,4}|V|X)\b(?![.'’-]\w)")
_NAME_BEFORE = re.compile(r"\b[A-Z][a-z]+ $")
_WAR = re.compile(r"\b(World War) (I{1,2})\b")


def roman_to_int(s: str) -> int:
    values = [_ROMAN_VALUES[c] for c in s.lower()]
    total = 0
    for i, v in enumerate(values):
        total += -v if i + 1 < len(values) and values[i + 1] > v else v
    return total


def is_roman(s: str) -> bool:
    return bool(s) and bool(_ROMAN_FULL.fullmatch(s))


def _romans(s: str, heading: bool) -> str:
    def keyword(m: re.Match[str]) -> str:
        kw, space, numeral = m.group(1), m.group(2), m.group(3)
        if not heading:
            # In prose only a capitalised keyword and an unmistakable numeral:
            # "Book I read" is not "Book one".
            if not kw[0].isupper() or not numeral.isupper():
                return m.group(0)
            if len(numeral) == 1 and not re.match(
                r"[.:,;)]|$", m.string[m.end() :].lstrip(" ")[:1]
            ):
                return m.group(0)
        kw = kw.capitalize() if kw.isupper() else kw
        return f"{kw}{space}{cardinal(roman_to_int(numeral))}"

    s = _KEYWORD_ROMAN.sub(keyword, s)
    s = re.sub(r"\bWWI(I?)\b", lambda m: "World War " + ("Two" if m.group(1) else "One"), s)
    s = _WAR.sub(lambda m: f"{m.group(1)} {cardinal(len(m.group(2))).capitalize()}", s)

    def name(m: re.Match[str]) -> str:
        numeral = m.group(1)
        before = _NAME_BEFORE.search(m.string, max(0, m.start() - 40), m.start())
        if before is None or not is_roman(numeral) or numeral in ("XX", "XXX"):
            return m.group(0)
        who = before.group(0).strip()
        n = roman_to_int(numeral)
        return f"the {ordinal(n).capitalize()}" if who in _REGNAL else cardinal(n)

    return _NAME_ROMAN.sub(name, s)


# Shouted capitals: "STOP RIGHT THERE" is read as words, "IT" not as "I T".
_CAPS = re.compile(r"(?<![\w'’-])([A-Z][A-Z'’]*[A-Z](?:-[A-Z][A-Z'’]*)*)(?![\w'’-])")


def _caps(s: str) -> str:
    known = english_words()

    def word(m: re.Match[str]) -> str:
        w = m.group(1)
        if w in ACRONYMS or (w == "US" and re.search(r"\b(?:the|The|THE) $", s[: m.start()])):
            return w
        if not any(c in _VOWELS for c in w):
            return w  # "JRR", "NCSS": spelled out whatever the case
        low = w.lower().replace("’", "'")
        if low in known:
            return low.capitalize() if sentence_starts_at(s, m.start()) else w.lower()
        # A name: capitalised, so a lexicon entry "Kal-El" matches "KAL-EL".
        return "-".join(p[:1] + p[1:].lower() for p in w.split("-"))

    return _CAPS.sub(word, s)


# Pauses. espeak pauses at "—" (as at ";") but not at "--", and it runs the words on
# either side of "..." together, so ellipses become a dash or a full stop.
_DASHES = re.compile(r"(?<!-)-{2,3}(?!-)|(?<=\s)[-–](?=\s)|(?<=\s)–|–(?=\s)")
_ELLIPSIS = re.compile(r"(?:\.\s?){2}\.+|…+")
_PAREN_OPEN = re.compile(r"\s*[(\[]\s*")
_PAREN_CLOSE = re.compile(r"\s*[)\]]")
_DOUBLE_QUOTES = re.compile(r"[\"“”«»„]")
_SPACES = re.compile(r"\s+")
_SPACE_BEFORE = re.compile(r"\s+(?=[,.;:!?…)])")
_REPEATS = re.compile(r"([!?])[!?]+")
_COMMA_RUNS = re.compile(r",(?:\s*,)*(?=\s*[,.;:!?—…])|(?<=[—;:.!?])\s*,(?:\s*,)*")
_LEADING = re.compile(r"^[\s,;:—.]+")


def _ellipsis(m: re.Match[str]) -> str:
    s = m.string
    before, after = s[: m.start()].rstrip(), s[m.end() :]
    rest = after.lstrip()
    if not before or not any(c.isalnum() for c in before):
        return ""  # "...and then": nothing to pause after
    if not rest or not any(c.isalnum() for c in rest):
        return "…"  # trailing off: the end of the line already pauses
    if before[-1] in ",;:—.!?":
        return " "
    if re.match(r"[\"“'‘(]?[A-Z]", rest) and not rest.startswith(("I ", "I'", "I’")):
        return ". "
    return " — "


def _parens(s: str) -> str:
    stripped = s.strip()
    if stripped.startswith("(") and stripped.endswith(")") and stripped.count("(") == 1:
        s = stripped[1:-1]
    s = _PAREN_OPEN.sub(", ", s)
    return _PAREN_CLOSE.sub(",", s)


def _pauses(s: str) -> str:
    s = _DASHES.sub("—", s)
    s = _ELLIPSIS.sub(_ellipsis, s)
    s = _parens(s)
    s = _DOUBLE_QUOTES.sub("", s)
    s = re.sub(r"(?<=\w)/(?=\w)", " ", s)  # "and/or", "he/him"
    s = re.sub(r"\s&\s", " and ", s)
    s = _REPEATS.sub(lambda m: "?" if "?" in m.group(0) else "!", s)
    s = _SPACES.sub(" ", s)
    s = _SPACE_BEFORE.sub("", s)
    s = _COMMA_RUNS.sub("", s)
    s = re.sub(r",(?=[^\s\d])", ", ", s)
    s = re.sub(r"\s*—\s*", " — ", s)
    s = re.sub(r"^ — |(?<=\w) — $", lambda m: "" if m.start() == 0 else "—", s)
    s = _LEADING.sub("", s)
    s = re.sub(r"[,;]\s*$", "", s.strip())
    return s.strip()


# --- headings --------------------------------------------------------------------

_HEADING_WORDS = re.compile(r"\b(CHAPTER|PART|BOOK|VOLUME|ACT|PROLOGUE|EPILOGUE|INTERLUDE)\b")
_PAUSE_END = (".", "!", "?", "…", ":", ";")


def _heading_lines(s: str) -> str:
    s = "\n".join(ln for ln in s.splitlines() if any(c.isalnum() for c in ln))
    return _HEADING_WORDS.sub(lambda m: m.group(1).capitalize(), s)


def normalize(text: str, *, heading: bool = False) -> str:
    """What to say for ``text``; "" when nothing speakable is left. ``heading`` reads
    it as a chapter title ("CHAPTER IV." -> "Chapter four.")."""
    s = text.replace("[[", "[").replace("]]", "]")
    s = _markup(s)
    if heading:
        s = _heading_lines(s)
    s = _SPACES.sub(" ", s).strip()
    s = _ocr(s)
    if "-" in s:
        s = _STUTTER.sub(_stutter, s)
    s = _romans(s, heading)
    s = _abbreviations(s)
    s = _numbers(s)
    s = _caps(s)
    s = _pauses(s)
    if not any(c.isalnum() for c in s):
        return ""
    if heading and not s.endswith(_PAUSE_END):
        s += "."  # so the engine pauses after the title
    return s


def substituted(word: str) -> bool:
    """Whether normalisation may replace ``word`` (letters only) by other words: an
    abbreviation, a Roman numeral, a unit, "l" read as "I"... Everything else it keeps."""
    low = word.casefold()
    return (
        low in _BEFORE_NAME
        or low in ABBREVIATIONS
        or low in _MONTH_ABBR
        or low in _UNITS
        or low in _MAGNITUDES
        or low in _PAGE_WORDS
        or low in {"e", "g", "i", "l", "a", "m", "p", "no", "ad", "bc", "bce", "ce", "am", "pm"}
        or is_roman(word)
    )
