"""Who is in the story: name mentions, alias clusters, gender, a first-person narrator.

Discovery leans on how English prints names: capitalised in mid-sentence, often with an
honorific, the subject of "said". A capitalised word the text also uses in lowercase is
an ordinary word at a sentence start ("Below", "Later") unless it is capitalised
mid-sentence too ("Bill" the man, "bill" the invoice).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from .model import Character, Gender, Segment
from .text.titles import ABBREVIATED, FIRST_NAME_TITLES, HON_CANON, HONORIFICS
from .text.wordlists import (
    census_first_names,
    female_first_names,
    male_first_names,
    nicknames,
)

_HON_ALT = "|".join(sorted(HONORIFICS, key=len, reverse=True))
_WORD = r"[A-Z][a-zA-Z'’]*(?:-[A-Za-z][a-zA-Z'’]*)*"
# A name: optional honorific, then one to three capitalised words ("Mrs. Bennet",
# "Tobias Hale", "Kal-El"). Lowercase particles ("de", "van") are left out on purpose.
_HON_PREFIX = rf"(?:(?:{_HON_ALT.title()}|{_HON_ALT.upper()})\.?\s+)?"
# (A title never sits inside a name: "When Mrs. Hall" is "When" and "Mrs. Hall".)
_ABBREVIATED_ALT = "|".join(sorted((a.title() for a in ABBREVIATED), key=len, reverse=True))
_NOT_TITLE = rf"(?!(?:{_ABBREVIATED_ALT})\.?\s)"
NAME_RE = re.compile(rf"\b{_HON_PREFIX}(?:{_WORD})(?:[ \t]+{_NOT_TITLE}(?:{_WORD})){{0,2}}\b")

# Capitalised words that are never names on their own, whatever the text does.
STOPWORDS = frozenset(
    """a an the and but or nor so yet for if then than when while where what who whom whose
    which why how this that these those there here he she it they we you i me him her
    them us my your his its our their mine yours hers ours theirs myself yourself
    himself herself itself ourselves themselves yes no not oh ah well now just only even
    still all some any every each both either neither none one two three four five six
    seven eight nine ten first second third last next chapter part book prologue
    epilogue volume scene section act monday tuesday wednesday thursday friday saturday
    sunday january february march april june july august september october november
    december god heaven hell christmas easter english french german american british
    spanish italian irish scotch scottish dutch russian mr mrs ms miss dr sir lady lord
    at in on of to from by with without into onto upon after before again once perhaps
    maybe surely indeed though although because since until unless as like dear poor
    good great old young little said says say tell told ask asked please thank thanks
    okay ok hey hello goodbye sorry do does did don't can can't will won't would should
    could mama papa mamma pappa ma'am sir madam o someone somebody anyone anybody everyone
    everybody nobody something anything everything nothing""".split()
)

PRONOUN_GENDER: dict[str, Gender] = {
    "he": "male", "him": "male", "his": "male", "himself": "male",
    "she": "female", "her": "female", "hers": "female", "herself": "female",
}  # fmt: skip

GENDERED_NOUNS: dict[str, Gender] = {
    w: g  # type: ignore[misc]
    for g, ws in (
        ("male", "father man boy brother son husband uncle gentleman king lad papa "
                 "grandfather fellow nephew landlord host"),
        ("female", "mother woman girl sister daughter wife aunt lady queen lass mama "
                   "grandmother niece maid widow matron landlady mistress hostess"),
    )
    for w in ws.split()
}  # fmt: skip

# Verbs only people do; a capitalised word followed by one is a person, not a place.
PERSON_VERBS = frozenset(
    """said says asked replied answered cried whispered shouted laughed smiled nodded
    looked thought felt knew saw heard turned sat stood walked came went took put shook
    sighed frowned grinned wondered muttered added exclaimed continued began returned
    observed remarked told gave got made kept left rose ran stopped waited watched pushed
    pulled opened closed grabbed held lifted dropped picked set shrugged folded knelt
    leaned reached touched kissed hugged glanced stared blinked winked swallowed paused
    hesitated froze rolled rubbed crossed climbed wrapped found met poured wrote ate drank
    slept woke waved pointed tapped sobbed wept listened noticed realized realised decided
    tried hurried rushed stepped moved bent sank jumped shivered trembled murmured lay""".split()
)


def first_name_gender(word: str, *, census: bool = False) -> Gender:
    """The hand-written lists decide whether a word is a known first name; ``census``
    also asks the wider census lists, for a gender only."""
    w = word.lower()
    female, male = w in female_first_names(), w in male_first_names()
    if census and not female and not male:
        female, male = w in census_first_names("female"), w in census_first_names("male")
    if female != male:
        return "female" if female else "male"
    return "unknown"


def known_first_name(word: str) -> bool:
    """On any of the first-name lists, whatever the gender ("Sam", "Kit")."""
    w = word.lower()
    return any(
        w in names
        for names in (
            female_first_names(),
            male_first_names(),
            census_first_names("female"),
            census_first_names("male"),
        )
    )


def split_honorific(surface: str) -> tuple[str | None, list[str]]:
    """``"Mrs. Bennet"`` -> ``("mrs", ["Bennet"])``; titles in their short form."""
    words = [w.rstrip(".") for w in surface.replace(".", ". ").split() if w.rstrip(".")]
    if len(words) > 1 and words[0].lower() in HONORIFICS:
        hon = words[0].lower()
        return HON_CANON.get(hon, hon), words[1:]
    return None, words


def display(hon: str | None, words: Sequence[str]) -> str:
    head = [] if hon is None else [hon.title() + ("." if hon in ABBREVIATED else "")]
    return " ".join([*head, *words])


def norm(name: str) -> str:
    words = name.lower().replace("’", "'").replace(".", " ").split()
    if len(words) > 1 and words[0] in HON_CANON:
        words[0] = HON_CANON[words[0]]
    return " ".join(words)


@dataclass
class Mention:
    start: int
    end: int
    surface: str
    initial: bool  # at a sentence start, where every word is capitalised anyway
    definite: bool = False  # "the Hatter": a character named by a capitalised noun


@dataclass
class WordStats:
    """How the text capitalises each word: decides names vs sentence-initial words."""

    lower: Counter[str] = field(default_factory=Counter)
    mid_caps: Counter[str] = field(default_factory=Counter)

    @classmethod
    def of(cls, text: str) -> WordStats:
        st = cls()
        st.lower.update(re.findall(r"\b[a-z][a-z'’\-]*\b", text))
        for m in re.finditer(r"\b[A-Z][a-zA-Z'’\-]*", text):
            if not _sentence_initial(text, m.start()):
                st.mid_caps[m.group().lower()] += 1
        return st

    def namelike(self, word: str) -> bool:
        w = word.lower()
        # "Where's Cohn", "That's Jane": a contracted function word is no name.
        base = re.split(r"['’]", w)[0] if re.search(r"['’](?:s|ll|re|ve|d|m)$", w) else w
        if w in STOPWORDS or base in STOPWORDS or (len(word) > 1 and word.isupper()):
            return False
        low = self.lower.get(w, 0)
        return low == 0 or self.mid_caps.get(w, 0) >= max(3, 0.1 * low)


def _sentence_initial(text: str, i: int) -> bool:
    j = i - 1
    while j >= 0 and text[j] in " \t\"'“‘(_*[—–-":
        j -= 1
    return j < 0 or text[j] in ".!?\n:;”’" or text[j - 1 : j + 1] == "\n\n"


# What follows a sentence opener that is no name: an object or determiner after an
# imperative or participle ("Forget it.", "Detaining her", "Take the"), a particle
# ("Fighting back tears"), a subject after an adverb ("Tonight she cried"). A name is
# followed by a verb, a comma or "'s", never these.
_AFTER_OPENER = re.compile(
    r"[ \t]+(?:he|she|I|we|they|you"
    r"|it|him|her|them|me|us|the|a|an|this|that|these|those|my|your|his|its|our"
    r"|their|yourself|back|up|down|out|off|away|over|for|to|into|onto|upon|at|with)\b"
)


def _opener(text: str, start: int, word: str, stats: WordStats) -> bool:
    """A sentence-initial word the text never capitalises elsewhere that reads as a
    participle, adverb, imperative or interjection ("Fighting back tears,", "However,",
    "Forget it.", "Hurry!"), not as someone's name."""
    if stats.mid_caps.get(word.lower(), 0) or first_name_gender(word) != "unknown":
        return False  # ("Emily", "Sterling": names that look like an adverb or a participle)
    if not _sentence_initial(text, start):
        return False
    end = start + len(word)
    if len(word) > 4 and word.lower().endswith(("ing", "ly")):
        return True
    after = text[end : end + 12]
    return after.startswith(("!", ", ", ",\n")) or bool(_AFTER_OPENER.match(after))


def find_mentions(text: str, spans: Iterable[tuple[int, int]], stats: WordStats) -> list[Mention]:
    """Capitalised name-like phrases inside ``spans`` (narration), minus ordinary words."""
    out: list[Mention] = []
    for s, e in spans:
        for m in NAME_RE.finditer(text, s, e):
            raw = re.sub(r"['’]s?$", "", m.group())
            hon, words = split_honorific(raw)
            start = m.start()
            while words and not stats.namelike(words[0]) and hon is None:
                start = text.find(words[1], start) if len(words) > 1 else m.end()
                words = words[1:]
            while words and not stats.namelike(words[-1]):
                words = words[:-1]
            shown = raw.split()[0].rstrip(".").lower() if hon else None
            if hon is None and len(words) > 1 and words[0].lower() in HONORIFICS:
                # "I'm Mister Noah": the title after the word that was left out
                hon = shown = words[0].lower()
                words = words[1:]
            if not words or (
                hon is None and len(words) == 1 and _opener(text, start, words[0], stats)
            ):
                continue
            definite = hon is None and text[max(0, start - 4) : start].lower() == "the "
            out.append(
                Mention(
                    start, m.end(), display(shown, words), _sentence_initial(text, start), definite
                )
            )
    return out


@dataclass
class Cluster:
    """A character under construction: every surface form seen for it, with counts."""

    forms: Counter[str] = field(default_factory=Counter)
    gender_votes: Counter[str] = field(default_factory=Counter)
    seen: int = 0  # mentions in the narration
    located: int = 0  # of them after "in", "into", "near", … ("in Coketown")

    @property
    def place(self) -> bool:
        """A name the text is often in or near is a place ("London", "Russell Square",
        "Coketown"), unless a title or a first name says it is someone."""
        if self.located < 2 or self.located < 0.15 * self.seen:
            return False
        return not any(
            split_honorific(f)[0] or first_name_gender(split_honorific(f)[1][0]) != "unknown"
            for f in self.forms
        )

    @property
    def gender_hint(self) -> Gender:
        """Gender from names alone (honorifics, first names): known before votes."""
        for f in self.forms:
            hon = split_honorific(f)[0]
            if hon and HONORIFICS[hon] != "unknown":
                return HONORIFICS[hon]
        for f in self.forms:
            g = first_name_gender(split_honorific(f)[1][0])
            if g != "unknown":
                return g
        return "unknown"

    @property
    def name(self) -> str:
        # The most frequent multi-word form reads best ("Tobias Hale" over "Tobias").
        multi = [f for f in self.forms if len(split_honorific(f)[1]) > 1]
        pool = multi or list(self.forms)
        return max(pool, key=lambda f: (self.forms[f], len(f), f))


def _same_first(a: str, b: str) -> bool:
    a, b = a.lower(), b.lower()
    nick = nicknames()
    return a == b or nick.get(a) == b or nick.get(b) == a


def _compatible(
    hon: str | None, words: list[str], ohon: str | None, owords: list[str], ogender: Gender
) -> bool:
    """May ``hon words`` ("Mrs. Bennet", "Lizzy") be another name for the cluster form
    ``ohon owords`` of a character of gender ``ogender``?"""
    hg = HONORIFICS.get(hon or "", "unknown")
    if hon is None and len(words) > 1:
        hg = first_name_gender(words[0])  # "Charles Musgrove" is no Mrs. Charles Musgrove
    og = HONORIFICS.get(ohon or "", ogender)
    if hg != "unknown" and og != "unknown" and hg != og:
        return False
    if hon and hon == ohon and len(words) == 1 < len(owords):
        # "Mrs. Charles Musgrove" is a wife called by her husband's name; the bare
        # "Mrs. Musgrove" is another (his mother, in the books that do this).
        named = first_name_gender(owords[0])
        if named != "unknown" and named != HONORIFICS[hon]:
            return False
    if _titles_clash(hon, ohon):
        return False  # Mrs. Bennet is not Miss Bennet
    if len(words) == 1:
        w = words[0]
        if hon:  # "Mr. Hale" / "Miss Elizabeth" ~ "Tobias Hale" / "Elizabeth Bennet"
            if len(owords) > 1:
                first = hon in FIRST_NAME_TITLES and _same_first(w, owords[0])
                return owords[-1] == w or first
            return owords[-1] == w and ohon == hon
        if len(owords) > 1:  # "Tobias" / "Hale" / "Lizzy" ~ "Tobias Hale" / "Elizabeth Bennet"
            return _same_first(w, owords[0]) or w == owords[-1]
        if ohon in FIRST_NAME_TITLES and owords == [w] and first_name_gender(w) != "unknown":
            return True  # "Louisa" ~ "Miss Louisa": a title before a first name
        # "Hale" ~ "Mr. Hale"; but a bare surname is rarely a titled woman's ("Braddocks
        # asked" is Mr. Braddocks even when only "Mrs. Braddocks" was seen).
        return bool(ohon) and owords[-1] == w and og != "female"
    if hon and len(owords) > len(words) == 2:  # "Mr. Darcy" vs "Fitzwilliam Darcy" handled above
        return owords[-2:] == words
    return (len(owords) > len(words) and owords[-len(words) :] == words) or (
        len(owords) == len(words) and _same_first(words[0], owords[0]) and owords[1:] == words[1:]
    )


def _titles_clash(hon: str | None, other: str | None) -> bool:
    """Mrs. Hilbery is not the Miss Katharine Hilbery of another form: one woman is
    not called both."""
    return bool(hon and other and hon != other and {hon, other} <= {"mrs", "miss", "ms"})


def one_edit(a: str, b: str) -> bool:
    """Exactly one insertion, deletion or substitution apart."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :] or (len(a) == len(b) and a[i + 1 :] == b[i + 1 :])


# Titles a rank puts before a first name for good: "Sir John" is never plain "John".
_RANK_FIRST = frozenset({"sir", "lord", "lady", "dame", "king", "queen", "prince", "princess"})


def _uses(cluster: Cluster, word: str, *, bare: bool = False) -> int:
    """How often the cluster's forms holding ``word`` were seen; ``bare``: only forms
    without a rank before it, what a bare "John" could be."""
    return sum(
        n
        for f, n in cluster.forms.items()
        if word in (parts := split_honorific(f))[1] and not (bare and parts[0] in _RANK_FIRST)
    )


def _rivals(
    word: str, fits: list[Cluster], heard: AbstractSet[str], bare: bool = False
) -> list[Cluster]:
    """A full name seen once ("Katharine Rodney": a wish, or two names side by side)
    is no rival for one seen often, nor is one only ever said in dialogue ("Loo
    Bounderby", his wife's pet name in another's mouth, beside the narration's many
    "Josiah Bounderby"): the narration says who is who. ``heard``: such forms."""
    # A saint's name is a church or a village ("Styles St. Mary"), no one's rival.
    fits = [c for c in fits if not all(split_honorific(f)[0] == "st" for f in c.forms)]
    if any(_uses(c, word) >= 10 for c in fits):
        return [c for c in fits if _uses(c, word, bare=bare) > 1 and not set(c.forms) <= heard]
    return fits


def _pick_home(
    hon: str | None, words: list[str], fits: list[Cluster], heard: AbstractSet[str]
) -> Cluster | None:
    """One fitting cluster is the home. Among several, a bare surname goes to the one
    man (in most fiction "Bingley" is Mr. Bingley, not his sisters); otherwise the
    form is ambiguous and stays on its own."""
    if (hon is None or HONORIFICS.get(hon) == "male") and len(words) == 1:
        # For "Rodney" or "Mr. Rodney". (Not for women's titles: "Miss Elliot" is
        # whichever sister is eldest, however often Anne's full name appears.)
        fits = _rivals(words[0], fits, heard, bare=hon is None)
    if len(fits) == 1:
        return fits[0]
    if hon in FIRST_NAME_TITLES and len(words) == 1:
        # "Sir John" is the one "Sir John Middleton", not any other John.
        alike = [
            c
            for c in fits
            if any(
                (h, ws[:1]) == (hon, words) and len(ws) > 1
                for h, ws in map(split_honorific, c.forms)
            )
        ]
        if len(alike) == 1:
            return alike[0]
    if len(words) == 1 and len(fits) > 1:
        # "Frances" is Frances Clyne rather than a Frankie: the very name beats a
        # nickname of it.
        exact = [c for c in fits if any(words[0] in split_honorific(f)[1] for f in c.forms)]
        if len(exact) == 1 and hon is None:
            return exact[0]

        # A name seen dozens of times beats a one-off that shares the word ("Robert" is
        # Robert Cohn, not the Robert Prentiss met once; "Fitzwilliam" is Colonel
        # Fitzwilliam, not Mr. Fitzwilliam Darcy, who is called Darcy).
        size = sorted(fits, key=lambda c: -_uses(c, words[0]))
        rest = sum(_uses(c, words[0]) for c in size[1:])
        if hon is None and _uses(size[0], words[0]) >= max(10, 10 * rest):
            return size[0]
    if hon is None and len(words) == 1 and fits:
        men = [c for c in fits if c.gender_hint == "male"]
        # Only titled women ("Miss Bingley"); a named daughter means a family of
        # several, where the bare surname is anyone's.
        # (A full name seen once is no sign of a named daughter: "Caroline Bingley".)
        women_titled = all(
            c.gender_hint == "female"
            and all(split_honorific(f)[0] or n == 1 for f, n in c.forms.items())
            for c in fits
            if c not in men
        )
        if len(men) == 1 and women_titled:
            return men[0]
    return None


def _first_keys(word: str) -> set[str]:
    """Keys under which two first names that ``_same_first`` pairs meet ("lizzy" and
    "elizabeth" both file under "elizabeth")."""
    w = word.lower()
    return {w, nicknames().get(w, w)}


def _deletions(word: str) -> set[str]:
    """The word and every one-letter deletion of it: two words exactly one edit apart
    always share one of these."""
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


@dataclass
class _FormIndex:
    """Clusters filed by the words their forms could be matched on, so that a new form
    is compared only with clusters that might take it, never with all of them (text
    full of capitalised words would otherwise make clustering quadratic)."""

    by_last: defaultdict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    by_first: defaultdict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    multi_last: defaultdict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    by_suffix: defaultdict[tuple[str, ...], set[int]] = field(
        default_factory=lambda: defaultdict(set)
    )
    by_first_rest: defaultdict[tuple[str, tuple[str, ...]], set[int]] = field(
        default_factory=lambda: defaultdict(set)
    )
    titled_near: defaultdict[tuple[str, str], set[int]] = field(
        default_factory=lambda: defaultdict(set)
    )

    def add(self, form: str, home: int) -> None:
        hon, words = split_honorific(form)
        self.by_last[words[-1]].add(home)
        if len(words) > 1:
            self.multi_last[words[-1]].add(home)
            for key in _first_keys(words[0]):
                self.by_first[key].add(home)
                self.by_first_rest[(key, tuple(words[1:]))].add(home)
            for n in range(1, len(words) - 1):
                self.by_suffix[tuple(words[n:])].add(home)
        if hon:
            for key in _deletions(words[-1]):
                self.titled_near[(hon, key)].add(home)

    def could_fit(self, words: list[str]) -> list[int]:
        """Every cluster ``_compatible`` might accept the form for (a superset), in the
        order the clusters were made. A lone word fits a form it ends ("Hale", "Mr.
        Hale") or begins as a first name or nickname ("Lizzy"); a longer name fits a
        longer one it ends ("Fitzwilliam Darcy" ~ "Mr. Fitzwilliam Darcy") or one as
        long that differs only by a nickname ("Lizzy Bennet" ~ "Elizabeth Bennet")."""
        found: set[int] = set()
        if len(words) == 1:
            found |= self.by_last.get(words[0], set())
            for key in _first_keys(words[0]):
                found |= self.by_first.get(key, set())
        else:
            found |= self.by_suffix.get(tuple(words), set())
            for key in _first_keys(words[0]):
                found |= self.by_first_rest.get((key, tuple(words[1:])), set())
        return sorted(found)

    def near_titled(self, hon: str, word: str) -> list[int]:
        found: set[int] = set()
        for key in _deletions(word):
            found |= self.titled_near.get((hon, key), set())
        return sorted(found)


def share_a_name(a: str, b: str) -> bool:
    """Two surface forms share a word of the name itself, titles aside, or a first name
    and its nickname ("Kemp" / "Dr. Kemp", "Lizzy" / "Elizabeth Bennet")."""
    wa, wb = split_honorific(a)[1], split_honorific(b)[1]
    return bool({w.lower() for w in wa} & {w.lower() for w in wb}) or any(
        _same_first(x, y) for x in wa for y in wb
    )


class _Interlocutors:
    """Names that talk to each other are two people: a form never joins a cluster that
    holds its interlocutor, nor the one cluster its interlocutor, seen more often and
    still to be placed, would join ("Miss Steele" talks to "Lucy", who is Lucy Steele;
    so Miss Steele is not, for all that her title and surname fit)."""

    def __init__(
        self, pairs: AbstractSet[frozenset[str]], counts: Counter[str], home_of: dict[str, int]
    ) -> None:
        self.partners: defaultdict[str, set[str]] = defaultdict(set)
        for pair in pairs:
            for a in pair:
                self.partners[a] |= pair - {a}
        self.seen: Counter[str] = Counter()
        self.forms: defaultdict[str, list[str]] = defaultdict(list)
        for f, n in counts.items():
            self.seen[norm(f)] += n
            self.forms[norm(f)].append(f)
        self.home_of = home_of

    def bar(
        self,
        form: str,
        home: int,
        clusters: Sequence[Cluster],
        fitting: Callable[[str | None, list[str]], list[int]],
    ) -> bool:
        key = norm(form)
        partners = self.partners.get(key)
        if not partners:
            return False
        if any(norm(o) in partners for o in clusters[home].forms):
            return True
        return any(
            self.seen[g] > self.seen[key] and fitting(*split_honorific(f)) == [home]
            for g in partners - self.home_of.keys()
            for f in self.forms[g]
        )


def cluster_names(
    counts: Counter[str],
    heard: AbstractSet[str] = frozenset(),
    apart: AbstractSet[frozenset[str]] = frozenset(),
) -> list[Cluster]:
    """Group surface forms into characters: full names first, then titled names, then
    first names, nicknames and surnames join the one character they fit. A form that
    fits several (the Bennet sisters' "Miss Bennet") stays on its own. ``heard``: forms
    only ever said in dialogue; ``apart``: pairs of normalised forms that are two
    people (they talk to each other), never joined."""
    clusters: list[Cluster] = []
    home_of: dict[str, int] = {}  # normalised form -> its cluster's place in ``clusters``
    index = _FormIndex()
    talking = _Interlocutors(apart, counts, home_of)

    def fitting(hon: str | None, words: list[str]) -> list[int]:
        return [
            i
            for i in index.could_fit(words)
            if any(
                _compatible(hon, words, *split_honorific(o), clusters[i].gender_hint)
                for o in clusters[i].forms
            )
            and not any(_titles_clash(hon, split_honorific(o)[0]) for o in clusters[i].forms)
        ]

    def size(f: str) -> tuple[int, bool, int, str]:
        hon, words = split_honorific(f)
        return (-len(words), hon is None, -counts[f], f)

    for form in sorted(counts, key=size):
        key = norm(form)
        hon, words = split_honorific(form)
        if key in home_of:  # same name, other spelling of case or dots
            clusters[home_of[key]].forms[form] += counts[form]
            index.add(form, home_of[key])
            continue
        fits = [i for i in fitting(hon, words) if not talking.bar(form, i, clusters, fitting)]
        # A titled surname shared by several full names (Mrs. Bennet and the Bennet
        # daughters) is a different person from all of them.
        if hon and len(words) == 1 and len(fits) == 1:
            shared = index.multi_last.get(words[0], set())
            titled_alike = any(split_honorific(o)[0] == hon for o in clusters[fits[0]].forms)
            # Not when the others were seen once: "Miss Howard" beside "Evelyn Howard"
            # and a stray "Mr. Hastings Miss Howard" is Evelyn. ("Mrs. Miller" beside
            # one "Annie Miller" and many a "Daisy Miller" is neither.)
            rivals = _rivals(words[0], [clusters[i] for i in shared], heard)
            alone = len(rivals) == 1 and rivals[0] is clusters[fits[0]]
            if len(shared) > 1 and not titled_alike and not alone:
                fits = []
        picked = _pick_home(hon, words, [clusters[i] for i in fits], heard)
        home = next((i for i in fits if clusters[i] is picked), None)
        if home is None and hon and len(words) == 1 and len(words[0]) >= 5:
            # "Mr. Browlow" for "Mr. Brownlow": a one-letter slip of a titled name.
            near = [
                i
                for i in index.near_titled(hon, words[0])
                if any(
                    split_honorific(o)[0] == hon and one_edit(split_honorific(o)[1][-1], words[0])
                    for o in clusters[i].forms
                )
                and not talking.bar(form, i, clusters, fitting)
            ]
            home = near[0] if len(near) == 1 else None
        if home is None:
            home = len(clusters)
            clusters.append(Cluster())
        clusters[home].forms[form] += counts[form]
        home_of[key] = home
        index.add(form, home)
    return clusters


# Ranks that say who holds them, named alone ("the Marquis", "the Duchess").
_TITLE_NOUNS: dict[str, Gender] = {
    w: g  # type: ignore[misc]
    for g, ws in (
        ("male", "marquis marquess viscount baron baronet emperor sultan czar tsar"),
        ("female", "marchioness viscountess baroness empress"),
    )
    for w in ws.split()
}  # fmt: skip


def cluster_gender(cluster: Cluster) -> Gender:
    """A title first ("Mrs.", "the Duchess"), then a known first name and what the
    pronouns about the name say."""
    for form in sorted(cluster.forms, key=lambda f: -cluster.forms[f]):
        hon, words = split_honorific(form)
        if hon and HONORIFICS.get(hon, "unknown") != "unknown":
            return HONORIFICS[hon]
        rank = words[-1].lower() if len(words) == 1 else ""
        for table in (HONORIFICS, GENDERED_NOUNS, _TITLE_NOUNS):
            if table.get(rank, "unknown") != "unknown":
                return table[rank]
    votes = Counter(cluster.gender_votes)
    for form in sorted(cluster.forms, key=lambda f: -cluster.forms[f]):
        g = first_name_gender(split_honorific(form)[1][0], census=True)
        if g != "unknown":
            votes[g] += 3 + sum(votes.values()) // 4
            break
    if votes["male"] > votes["female"]:
        return "male"
    if votes["female"] > votes["male"]:
        return "female"
    return "unknown"


_APPOSITIVE = re.compile(
    r"\b(" + "|".join(GENDERED_NOUNS) + r")(?:,\s*|\s+(?:named|called)\s+)$", re.IGNORECASE
)


# Someone else, between a name and a pronoun, whom the pronoun may stand for ("Theo
# watched the girl push her hair back").
_OTHER_PERSON = re.compile(
    r"\b(?:the|a|an|his|her|their|my|your|our)\s+(?:[a-z]+\s+)?(?:"
    + "|".join(GENDERED_NOUNS)
    + r")\b"
)
# Words after a name that show it is no subject: a possessive ("Theo's hair", "Brandon
# s hand" in texts that lost the apostrophe), a pair ("Theo and Ines", but "Madge and
# her husband" is about Madge), an object's "to" ("induced Brandon to this act").
_NOT_SUBJECT = re.compile(r"(?:['’]s\b|\s+(?:s|or|nor|to|and(?!\s+(?:his|her)\b))\b)")


def _subject(text: str, end: int) -> bool:
    """Might the name ending at ``end`` be the subject of its sentence, so that the
    pronouns after it are about them?"""
    return _NOT_SUBJECT.match(text, end) is None


# ", who had been sitting so still that …, " between a name and its verb.
_RELATIVE_CLAUSE = re.compile(r",\s+(?:who|whose)\b[^.;!?\n]{0,200}?,\s+(?=[a-z])")
# A name after a preposition of place and "the" ("by the Old Quay", "in the Great
# Hall") is a place, not someone a next sentence's "She" could be ("with Maren" is).
_AFTER_PREPOSITION = re.compile(
    r"\b(?:by|at|in|into|from|near|towards?|past|through|across|inside|outside|on|onto)"
    r"\s+the\s+(?:[A-Z]\w*\s+){0,2}$"
)
_NEXT_SUBJECT = re.compile(r"[ \t]*(He|She)\b")
_PRONOUN = re.compile(r"\b(he|him|his|himself|she|her|herself)\b(?:\s+([a-z]+))?")
# Words after "her" that show it is an object ("looked at her and"), not a possessive
# ("her hair"); a determiner makes it an indirect object ("Vale shot her a look").
_NOT_A_NOUN = frozenset(
    """and or but as to at in on of for with from by into onto upon again once too so
    then now there here back away up down out off over when while if that than until
    before after though although because since nor yet a an the this these those some
    his its their my your our""".split()
)


def _pronoun_votes(rest: str) -> list[Gender]:
    """Genders the pronouns of ``rest`` (the words after a name, up to the next person)
    give that name: subject, possessive and reflexive pronouns; not "him" or "her" as
    objects, which stand for someone else ("Marisol smiled at him")."""
    out: list[Gender] = []
    for m in _PRONOUN.finditer(rest.lower()):
        word, nxt = m.group(1), m.group(2)
        if word == "him" or (word == "her" and (nxt is None or nxt in _NOT_A_NOUN)):
            continue
        out.append(PRONOUN_GENDER[word])
    return out[:2]


def vote_gender(text: str, mentions: Sequence[Mention], clusters: list[Cluster]) -> None:
    """Evidence for gender around each mention: an appositive noun right before it
    ("his granddaughter, Wenna"; "a woman named Morwen") counts most; otherwise the
    pronouns that follow a sentence-initial mention within its sentence, before anyone
    else is named there."""
    form_home = {norm(f): c for c in clusters for f in c.forms}
    for i, m in enumerate(mentions):
        c = form_home.get(norm(m.surface))
        if c is None:
            continue
        before = text[max(0, m.start - 30) : m.start]
        ap = _APPOSITIVE.search(before)
        # "his granddaughter, Wenna," is one person; "fetching her mother, Colonel
        # Brandon was invited" is two clauses.
        closed = re.match(r"\s*(?:[,.;:!?)—–]|$)", text[m.end : m.end + 2])
        if ap and (closed or not ap.group(0).rstrip().endswith(",")):
            c.gender_votes[GENDERED_NOUNS[ap.group(1).lower()]] += 3
        # "The Marquis drew his sword": a capitalised noun after a sentence's "The".
        initial = m.initial or (m.definite and _sentence_initial(text, m.start - 4))
        if initial:
            nxt = mentions[i + 1].start if i + 1 < len(mentions) else len(text)
            for g in _votes_after(text, m.end, nxt):
                c.gender_votes[g] += 1


def _votes_after(text: str, end: int, next_name: int) -> list[Gender]:
    """What the pronouns after someone named at a sentence's start, ending at ``end``,
    say of their gender: those in the sentence before anyone else is named (a name at
    ``next_name``, "the girl"), else a next sentence that opens "He"/"She"."""
    if not _subject(text, end):
        return []
    clause = _RELATIVE_CLAUSE.match(text, end)
    if clause:
        # "Penhallow, who had sat so still that Twitch forgot him, cleared his throat":
        # the clause may name someone else; the sentence goes on about Penhallow.
        end = clause.end()
        later = re.search(NAME_RE.pattern, text[end : end + 200])
        next_name = end + later.start() if later else len(text)
    found = re.search(r"[.!?;\n]", text[end : end + 200])
    stop = end + (found.start() if found else 200)
    object_only = False
    if end <= next_name < stop:
        object_only = _AFTER_PREPOSITION.search(text, max(0, next_name - 40), next_name) is not None
        stop = next_name
    rest = text[end:stop]
    other = _OTHER_PERSON.search(rest)
    votes = _pronoun_votes(rest[: other.start()] if other else rest)
    if object_only and not votes and other is None and found:
        stop = end + found.start()
    if not votes and other is None and found and text[stop] in ".!?;":
        # "Marisol Vance hated the harbour. She pulled her coat tighter.": the next
        # sentence goes on about the one this one was about.
        nxt = _NEXT_SUBJECT.match(text, stop + 1)
        votes = [PRONOUN_GENDER[nxt.group(1).lower()]] if nxt else []
    return votes


_THE_PHRASE = re.compile(r"\bThe((?:\s+[a-z][\w'’-]*){1,4})")


def nominal_genders(text: str, phrases: Iterable[str]) -> dict[str, Gender]:
    """Gender of characters the story never names ("the stranger", "the old sailor")
    from the pronouns after the sentences they open ("The stranger pulled his hat
    lower."), one pass over the text however many there are."""
    wanted = {p.lower() for p in phrases}
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for m in _THE_PHRASE.finditer(text):
        if not _sentence_initial(text, m.start()):
            continue
        words = list(re.finditer(r"\S+", m.group(1)))
        for k in range(len(words), 0, -1):
            key = "the " + " ".join(w.group() for w in words[:k]).lower()
            if key in wanted:
                end = m.start(1) + words[k - 1].end()
                nxt = re.search(r"\s[A-Z][a-z]", text[end : end + 200])
                votes[key].update(_votes_after(text, end, end + nxt.start() if nxt else len(text)))
                break
    out: dict[str, Gender] = {}
    for key, v in votes.items():
        if v["male"] >= 2 * v["female"] + 1:
            out[key] = "male"
        elif v["female"] >= 2 * v["male"] + 1:
            out[key] = "female"
    return out


_LOCATIVE = re.compile(
    r"\b(?:in|into|near|outside|inside|through|across|within|towards|toward)\s+(?:the\s+)?$",
    re.IGNORECASE,
)


def note_places(text: str, mentions: Sequence[Mention], clusters: list[Cluster]) -> None:
    """Count, per cluster, the mentions that follow a preposition of place (not "in
    Tobias's room": that one is about a person's room)."""
    form_home = {norm(f): c for c in clusters for f in c.forms}
    for m in mentions:
        c = form_home.get(norm(m.surface))
        if c is None:
            continue
        c.seen += 1
        owned = text[m.end : m.end + 2] in ("'s", "’s")
        c.located += not owned and bool(_LOCATIVE.search(text[max(0, m.start - 16) : m.start]))


def first_person_narrator(narration: Sequence[Segment]) -> bool:
    """A story told in the first person uses "I" and "my" in its narration, not only in
    quotes; a handful of uses per thousand words is enough to tell."""
    words = first = 0
    for seg in narration:
        toks = re.findall(r"[A-Za-z']+", seg.text)
        words += len(toks)
        first += sum(1 for t in toks if t in ("I", "my", "My", "me", "I'm", "I'd", "I'll", "I've"))
    return first >= 3 and first >= 0.004 * max(words, 1)


# Words of a multi-word name that name nobody on their own ("My Dear Jane", "Old
# Sally", "Young Man", "The Waiter").
_NO_PART = (
    STOPWORDS
    | frozenset(GENDERED_NOUNS)
    | frozenset("old young dear little poor good great".split())
)


class NameIndex:
    """Maps a mention (a surface form) to a character name, by normalised alias."""

    def __init__(
        self, characters: Sequence[Character], extra: Mapping[str, Sequence[str]] | None = None
    ) -> None:
        """``extra``: more forms per character, used for resolving only."""
        self.characters = list(characters)
        self._gender = {c.name: c.gender for c in characters}
        self._forms = {
            c.name: [c.name, *c.aliases, *(extra or {}).get(c.name, ())] for c in characters
        }
        self._ix: dict[str, set[str]] = defaultdict(set)
        self._titles: dict[str, set[str]] = defaultdict(set)
        for c in characters:
            for form in self._forms[c.name]:
                self._ix[norm(form)].add(c.name)
        # Unique first names and surnames of multi-word names resolve too, and so does
        # a bare title ("the count") held by one character only.
        parts: dict[str, set[str]] = defaultdict(set)
        for c in characters:
            for form in self._forms[c.name]:
                hon, words = split_honorific(form)
                if hon:
                    self._titles[hon].add(c.name)
                described = words[0].lower() in ("the", "a", "an") and (
                    len(words) > 2 or words[-1].lower() in GENDERED_NOUNS | HONORIFICS
                )
                if len(words) > 1 and not hon and not described:
                    # ("The Old Woman" is a description: "the woman" may be anyone; and
                    # "The" of "The Waiter" is no name of his.)
                    for part in (words[0], words[-1]):
                        if part.lower() not in _NO_PART:
                            parts[norm(part)].add(c.name)
        for key, names in parts.items():
            if key not in self._ix:
                self._ix[key] = names
        # "Miss Miller" for "Miss Daisy Miller": title + surname.
        self._titled: dict[str, set[str]] = defaultdict(set)
        for c in characters:
            for form in self._forms[c.name]:
                hon, words = split_honorific(form)
                if hon and len(words) > 1:
                    self._titled[f"{hon} {norm(words[-1])}"].add(c.name)

    def candidates(self, surface: str) -> set[str]:
        """Everyone a bare form could be ("Harry" with two Harrys in the cast)."""
        return set(self._ix.get(norm(re.sub(r"['’]s?$", "", surface)), ()))

    def resolve(self, surface: str) -> str | None:
        key = norm(re.sub(r"['’]s?$", "", surface))
        names = self._ix.get(key)
        if names:
            return next(iter(names)) if len(names) == 1 else None
        hon, words = split_honorific(surface)
        if hon and words:
            names = self._ix.get(norm(" ".join(words)))
            # "Miss Bennet" is not the Mr. Bennet whom a bare "Bennet" names.
            sex = HONORIFICS.get(hon, "unknown")
            if names and len(names) == 1 and sex in ("unknown", self.gender(next(iter(names)))):
                return next(iter(names))
            names = self._titled.get(f"{hon} {norm(words[-1])}")
            if names and len(names) == 1:
                return next(iter(names))
        bare = re.sub(r"^(?:the|a|an)\s+", "", key)
        if bare != key:
            title = HON_CANON.get(bare, bare)
            if bare in HONORIFICS and len(self._titles.get(title, ())) == 1:
                return next(iter(self._titles[title]))
            names = self._ix.get(bare)
            if names and len(names) == 1:
                return next(iter(names))
        return None

    def gender(self, name: str) -> Gender:
        return self._gender.get(name, "unknown")

    def holders(self, title: str) -> set[str]:
        """Who carries a title ("doctor" -> everyone called "Dr. …" or "Doctor …")."""
        title = title.lower()
        return set(self._titles.get(HON_CANON.get(title, title), ()))

    def forms_of(self, name: str) -> list[str]:
        return self._forms.get(name, [name])
