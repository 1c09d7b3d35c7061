"""Titles before a name ("Mr.", "Lady", "Lt."): one table for every stage.

Normalisation reads an abbreviated title in full (a bare "Mr." also ends espeak's
sentence), name discovery takes a title as part of a name and as a gender hint, and
the sentence splitter must not end a sentence at one. Two tables that disagreed made
"Lt. Harris" a name to one stage and not to another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from ..model import Gender

# One title a line. Spellings, the form names are filed under first ("Doctor Kemp" is
# "Dr. Kemp"); a trailing "." marks an abbreviation, which is read as the spoken form.
# first: the title goes with a first name too ("Miss Elizabeth", "Sir William").
# Not here: what names no one person ("Messrs. Duff and Blathers", "the Hon. Lady
# Catherine" is Lady Catherine); normalisation reads those itself.
_TABLE = """
# spellings                spoken           gender    first
mr. mister                 Mister           male      -
mrs.                       Missus           female    -
ms.                        Miz              female    -
mx.                        Mix              unknown   -
sir                        Sir              male      first
lord                       Lord             male      first
master                     Master           male      first
uncle                      Uncle            male      first
father fr.                 Father           male      -
brother                    Brother          male      first
king                       King             male      first
prince                     Prince           male      first
duke                       Duke             male      -
count                      Count            male      -
baron                      Baron            male      -
earl                       Earl             male      -
squire                     Squire           male      -
monsieur                   Monsieur         male      -
herr                       Herr             male      -
signor                     Signor           male      -
senor                      Senor            male      -
don                        Don              male      -
miss                       Miss             female    first
lady                       Lady             female    first
mme. madame madam          Madame           female    -
mlle. mademoiselle         Mademoiselle     female    -
aunt                       Aunt             female    first
mother                     Mother           female    -
sister                     Sister           female    first
queen                      Queen            female    first
princess                   Princess         female    first
duchess                    Duchess          female    -
countess                   Countess         female    -
dame                       Dame             female    first
signora                    Signora          female    -
senora                     Senora           female    -
dr. doctor                 Doctor           unknown   -
prof. professor            Professor        unknown   -
capt. cpt. captain         Captain          unknown   -
col. colonel               Colonel          unknown   -
major maj.                 Major            unknown   -
general gen.               General          unknown   -
lieutenant lt.             Lieutenant       unknown   -
sgt. sergeant              Sergeant         unknown   -
commander cmdr. cdr.       Commander        unknown   -
admiral adm.               Admiral          unknown   -
corporal cpl.              Corporal         unknown   -
private pvt.               Private          unknown   -
inspector insp.            Inspector        unknown   -
superintendent supt.       Superintendent   unknown   -
detective det.             Detective        unknown   -
judge                      Judge            unknown   -
officer                    Officer          unknown   -
agent                      Agent            unknown   -
rev. reverend              Reverend         unknown   -
councillor                 Councillor       unknown   -
mayor                      Mayor            unknown   -
governor gov.              Governor         unknown   -
president pres.            President        unknown   -
senator sen.               Senator          unknown   -
representative rep.        Representative   unknown   -
st. saint                  Saint            unknown   -
nurse                      Nurse            unknown   -
"""


@dataclass(frozen=True)
class Title:
    canon: str  # the spelling names are filed under: "dr" for "Doctor" and "Dr."
    spellings: tuple[str, ...]  # lower case, no period
    abbreviations: frozenset[str]  # the spellings read out as `spoken`
    spoken: str
    gender: Gender
    first_name: bool


def _parse(table: str) -> tuple[Title, ...]:
    out = []
    for line in table.strip().splitlines():
        if line.startswith("#"):
            continue
        *raw, spoken, gender, first = line.split()
        spellings = tuple(w.rstrip(".") for w in raw)
        out.append(
            Title(
                canon=spellings[0],
                spellings=spellings,
                abbreviations=frozenset(w.rstrip(".") for w in raw if w.endswith(".")),
                spoken=spoken,
                gender=cast(Gender, gender),
                first_name=first == "first",
            )
        )
    return tuple(out)


TITLES: dict[str, Title] = {w: t for t in _parse(_TABLE) for w in t.spellings}
# Every spelling and the gender it tells ("mrs" -> "female", "dr" -> "unknown").
HONORIFICS: dict[str, Gender] = {w: t.gender for w, t in TITLES.items()}
# Every abbreviation and how it is read ("lt" -> "Lieutenant").
SPOKEN: dict[str, str] = {w: t.spoken for w, t in TITLES.items() if w in t.abbreviations}
# Spellings of one title: "doctor" -> "dr", "lt" -> "lieutenant".
HON_CANON: dict[str, str] = {w: t.canon for w, t in TITLES.items() if w != t.canon}
ABBREVIATED = frozenset(SPOKEN)
FIRST_NAME_TITLES = frozenset(w for w, t in TITLES.items() if t.first_name)
