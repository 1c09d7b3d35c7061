"""Who says each line: ordered sieves, most certain first.

Each dialogue segment gets ``speaker``, ``confidence`` and ``sieve`` (the rule that
decided). Sieves run in order and never overwrite an earlier, surer answer:

1. ``user`` — the reader fixed this line (sidecar); never changed.
2. ``tag-name`` / ``tag-nominal`` / ``tag-pronoun`` / ``tag-first-person`` — a speech
   verb next to the quote names the speaker (``"…," Bruce ordered``, ``said his lady``,
   ``she whispered``, ``I said``). Pronouns go to the most recent referent of that
   gender, but not to whoever spoke the line before (a new paragraph is a new speaker).
3. ``continued`` — the later paragraphs of one long quotation share its speaker.
4. ``paragraph`` — one speaker per paragraph: a tag on one quote covers the others.
5. ``beat`` — the one named subject of the paragraph's narration speaks its quotes
   (``Clark grabbed her hands. "It's not mine."``).
6. ``vocative`` — a reply is spoken by whoever the previous line addressed
   (``"No buts, Dale."`` → the answer is Dale's, so is ``Bill asked me.``'s for "me").
7. ``turn-taking`` — in back-and-forth dialogue the speaker is the one two turns back.
8. ``previous-beat`` — a bare quote after a narration paragraph is its subject's (not
   someone it says kept quiet: ``Cohn said nothing.``).
9. ``conversation`` — runs of replies alternate between two people from every known
   turn; in crowded scenes only gaps the known speakers pin down are filled.

docs/attribution.md has the full table and the measured figures.

A line no sieve can place keeps ``speaker=None``: the narrator reads it, and the TUI
shows it as uncertain.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from importlib.resources import files

from .characters import (
    GENDERED_NOUNS,
    HONORIFICS,
    NAME_RE,
    PERSON_VERBS,
    PRONOUN_GENDER,
    STOPWORDS,
    Cluster,
    Mention,
    NameIndex,
    WordStats,
    cluster_gender,
    cluster_names,
    find_mentions,
    first_name_gender,
    first_person_narrator,
    norm,
    one_edit,
    split_honorific,
    vote_gender,
)
from .model import Character, Segment

NARRATOR_NAME = "Narrator"
BRIDGE = 160  # chars: a narration paragraph this short may sit inside a conversation
CONTINUE_REACH = 1500  # chars: "she added" goes on with a line this close before
SUBJECT_REACH = 250  # chars back from the nearest candidate where a subject still wins
NEWCOMER_REACH = 3000  # chars: "the young lady" may be someone the text names this soon
SALIENT_REACH = 2500  # chars: how far back an unplaced line looks for whom the scene names
OPEN_REACH = 20000  # chars: how far back an unplaced "she said" looks for a woman (or "he", a man)
CONFIDENCE = {
    "user": 1.0, "tag-name": 0.95, "tag-first-person": 0.92, "tag-nominal": 0.85,
    "tag-pronoun": 0.8, "continued": 0.9, "paragraph": 0.8, "beat": 0.65, "vocative": 0.7,
    "turn-taking": 0.6, "conversation": 0.5, "tag-epithet": 0.7,
    "previous-beat": 0.45, "self-named": 0.9, "salient": 0.35, "tag-look-back": 0.6,
    "unnamed": 0.7,
}  # fmt: skip


@cache
def speech_verbs() -> frozenset[str]:
    """Every inflection of the shipped speech verbs ("say", "said", "says", "saying")."""
    raw = files("audiobook").joinpath("data", "speech_verbs.txt").read_text(encoding="utf-8")
    out: set[str] = set()
    for line in raw.splitlines():
        if line.startswith("#"):
            continue
        for item in line.split():
            base, _, past = item.partition("=")
            out.add(base)
            out.add(past or (base + "d" if base.endswith("e") else base + "ed"))
            if base.endswith("y") and base[-2:-1] not in "aeiou":
                out.add(base[:-1] + "ied")
                out.add(base[:-1] + "ies")
            elif base.endswith(("s", "sh", "ch", "x", "z", "o")):
                out.add(base + "es")
            else:
                out.add(base + "s")
            out.add((base[:-1] if base.endswith("e") and base != "see" else base) + "ing")
    return frozenset(out)


# "the keeper", "his lady", "the Hatter", "a little hump-backed man"
_NOMINAL = r"(?:the|a|an|his|her|my|their|our)\s+[A-Za-z][\w'-]*(?:\s+[a-zA-Z][\w'-]*){0,6}"
_EPITHET = r"(?:(?:poor|little|old|young|dear|good|kind|honest)\s+)?"
# "…," she added: the tag of someone going on with their own speech.
_CONTINUING = frozenset(
    "added adds continued continues resumed resumes pursued pursues persisted went".split()
)
BEAT_NOMINAL = frozenset(("tag-nominal",))
_OPEN_DETERMINERS = frozenset(("the", "his", "her"))
_NOMINAL_STOP = frozenset(
    """with to at in on of as and but who which that from for by after before again then
    now still when while into upon over under without once not""".split()
)
_MANNER = frozenset("voice tone manner way same end least course hand door room act".split())
# Nominals that point back at someone rather than name a new speaker.
_ANAPHORIC_HEADS = frozenset(
    """other others former latter first second third same whole rest one two three both
    all each either neither another""".split()
)


def _head_noun(phrase: str) -> str:
    """ "the gentleman in the white waistcoat" -> "gentleman"."""
    return re.split(r" (?:in|of|with) the ", phrase)[0].split()[-1]


def clean_nominal(who: str) -> str | None:
    """``"a little ugly hump-backed man: opening"`` -> ``"the little ugly hump-backed man"``;
    None for possessives and words that refer back ("the other")."""
    words = who.split()
    if not words or words[0].lower() not in ("the", "a", "an"):
        return None
    out: list[str] = []
    verbs = speech_verbs()
    rest = words[1:]
    # "the gentleman in the white waistcoat", "the landlord of the Cripples": a
    # descriptor that picks out one person (but not "in a low voice").
    for k, w in enumerate(rest):
        if w in ("in", "of", "with") and k > 0 and k + 2 < len(rest) and rest[k + 1] == "the":
            tail = []
            for x in rest[k + 2 : k + 5]:  # to the end of the phrase ("beard. The")
                tail.append(x.strip(",;:.!?"))
                if x != tail[-1]:
                    break
            if tail[0].lower() not in _MANNER:
                rest = [*rest[:k], "\0" + w, "\0the", *tail[:3]]
            break
    for w in rest:
        if w.startswith("\0"):
            out.append(w[1:])
            continue
        bare = w.strip(",;:.!?")
        if not bare or bare.lower() in _NOMINAL_STOP or (out and bare.endswith("ing")):
            break
        if out and (bare in verbs or (out[-1][:1].isupper() and bare.islower())):
            break  # "the Gryphon whispered": the name ends where the verb starts
        out.append(bare)
        if bare != w:  # punctuation ends the phrase
            break
    while len(out) > 1 and out[-1].endswith("ly"):
        out.pop()
    if not out or out[-1].lower() in _ANAPHORIC_HEADS:
        return None
    return "the " + " ".join(out)


_WHO = rf"{_EPITHET}(?P<who>{NAME_RE.pattern}|[Hh]e\b|[Ss]he\b|I\b|{_NOMINAL})"
_ADV = r"(?:\s+[a-z]+ly)?"
# Particles that make a speech verb of an ordinary one ("ground out", "snapped back").
_PARTICLE = r"(?:\s+(?:out|off|back|up|on|forth|away))?"
# `"...," said Bruce` / `"...," Bruce said quietly` / `"...," she whispered`
_POST_VERB_FIRST = re.compile(
    rf"^[\s,;:—–\-]*(?:(?:suddenly|then|again|now|presently|at\s+length|at\s+last|[a-z]+ly)\s+)?"
    rf"(?P<verb>[a-z]+){_PARTICLE}{_ADV}\s+{_WHO}"
)
_WHO_BEFORE_VERB = re.compile(rf"[\s,;:—–\-]*{_WHO}{_ADV}\s+(?:had\s+|then\s+)?")
# `Bruce said, "..."` / `Then she asked quietly: "..."` at the end of the narration before.
_PRE = re.compile(
    rf"{_WHO}{_ADV}\s+(?P<verb>[a-z]+)(?:\s+[a-z]+ly|\s+to\s+\w+(?:\s+\w+)?)?\s*[,:]?\s*$"
)
_SUBJECT = re.compile(
    rf"(?:^|[.!?]\s+|;\s+|\bthen\s+|\band\s+|\bbut\s+){_WHO}{_ADV}\s+(?P<verb>[a-z]+)\b"
)
_SPOUSE = re.compile(
    r"^(his|her)\s+(wife|lady|husband|mother|father|mamma|mama|papa|sister|brother)\b"
)
_KIN = re.compile(
    r"^(his|her)\s+(uncle|aunt|nephew|niece|grandfather|grandmother|companion|visitor|guest"
    r"|daughter|son)\b"
)
# "her ladyship", "his lordship": the titles each style of address goes with.
_STYLES = {
    "ladyship": ("lady", "duchess", "countess", "princess", "queen"),
    "lordship": ("lord", "earl", "duke", "count", "baron", "prince", "king"),
    "majesty": ("king", "queen"),
    "grace": ("duke", "duchess"),
    "highness": ("prince", "princess"),
}
_STYLE = re.compile(r"^(his|her)\s+(" + "|".join(_STYLES) + r")\b")
_FAMILY_TITLE = {
    "wife": "mrs",
    "lady": "mrs",
    "mother": "mrs",
    "mamma": "mrs",
    "mama": "mrs",
    "husband": "mr",
    "father": "mr",
    "papa": "mr",
    "sister": "miss",
    "brother": "mr",
}


@dataclass
class Tag:
    who: str
    verb: str


_WAS_REPLY = re.compile(
    r"^[\s,;:—–\-]*was\s+(?:the\s+|(?P<pron>his|her)\s+)?(?:[a-z]+\s+)?"
    r"(?:answer|reply|rejoinder|response|retort)\b"
    rf"(?:\s+of\s+(?P<who>{NAME_RE.pattern}))?"
)


# After a quote that breaks off mid-sentence ("…," / "…!" + lowercase), the verb that
# follows is its tag whatever the verb: `pouted Louisa`, `she ground out`, `Sam trailed
# off`.
_OPEN_VERB_FIRST = re.compile(rf"^[\s,;:—–\-]*(?P<verb>[a-z]+){_PARTICLE}\s+{_WHO}")
_OPEN_WHO_FIRST = re.compile(rf"^[\s,;:—–\-]*{_WHO}{_ADV}\s+(?P<verb>[a-z]+){_PARTICLE}\b")
# "-ed" words that are no past tense, and past forms that say nothing was said.
_NOT_SPOKEN = frozenset("need seed feed bed red shed breed speed indeed was were had did".split())


def _past_tense(word: str) -> bool:
    return word not in _NOT_SPOKEN and (
        word in _PAST or word in _IRREGULAR_SPOKEN or (len(word) > 3 and word.endswith("ed"))
    )


def _open_tag(head: str) -> Tag | None:
    """The tag of a quote that breaks off mid-sentence, with any verb in the past."""
    m = _OPEN_VERB_FIRST.match(head)
    if m and _past_tense(m.group("verb")) and m.group("who")[:1].isupper():
        return Tag(m.group("who"), m.group("verb"))
    m = _OPEN_WHO_FIRST.match(head)
    if m and _past_tense(m.group("verb")):
        who = m.group("who")
        if who.lower() not in STOPWORDS - {"he", "she", "i"}:
            return Tag(who, m.group("verb"))
    return None


def tag_after(narr: str, open_quote: bool = False) -> Tag | None:
    """``open_quote``: the quote broke off mid-sentence (``"…,"``, ``"…!" pouted``)."""
    verbs = speech_verbs()
    head = narr[:120]
    reply = _WAS_REPLY.match(head)
    if reply:
        # '"Not at all," was her answer'; '"Not a farthing more," was the firm reply
        # of Mr. Limbkins'; '"Plummy and slam!" was the reply' (someone unnamed)
        if reply.group("who"):
            return Tag(reply.group("who"), "answered")
        if reply.group("pron"):
            return Tag("he" if reply.group("pron") == "his" else "she", "answered")
        return None
    m = _POST_VERB_FIRST.match(head)
    if m and m.group("verb") in verbs:
        who = m.group("who")
        if who.endswith(("'s", "’s")):
            # "asked Mr. Bumble's good lady": the one of Mr. Bumble's, not him
            noun = re.match(r"(?:\s+[a-z][\w-]*){1,3}", head[m.end() :])
            if noun is not None:
                who += noun.group()
        return Tag(who, m.group("verb"))
    # `the Mock Turtle replied`: the speaker is everything before the first speech verb.
    for vm in re.finditer(r"\b[a-z]+\b", head):
        if vm.group() in verbs:
            pre = _WHO_BEFORE_VERB.fullmatch(head[: vm.start()])
            if pre is None or pre.group("who").lower() in STOPWORDS - {"he", "she", "i"}:
                return None  # "So saying, he sprang over the hedge"
            return Tag(pre.group("who"), vm.group())
    return _open_tag(head) if open_quote else None


_ENDS_WITH_VERB = re.compile(
    r"\b(?P<verb>[a-z]+)(?:\s+out|(?:\s+(?:very|quite|rather|more|most|so))?\s+[a-z]+ly)?"
    r"(?:\s+to\s+(?:him|her|them|me|us|himself|herself|myself|[A-Z][\w.]*))?"
    r"(?:,?\s+(?:in|with)\s+[^,.;:!?\"“]{1,40})?\s*[,:]?[\s—–\-]*$"
)
_CLAUSE_WHO = re.compile(rf"(?P<who>{NAME_RE.pattern}|\b[Hh]e\b|\b[Ss]he\b|\bI\b)")


def tag_before(narr: str) -> Tag | None:
    tail = narr[-160:]
    m = _PRE.search(tail)
    if (
        m
        and m.group("verb") in speech_verbs()
        and not re.match(r"an?\s", m.group("who"))
        # "explained the fact of her being there by saying:" — no subject ends in "by"
        and m.group("who").split()[-1].lower() not in _NOMINAL_STOP | _PREPOSITIONS
    ):
        return Tag(m.group("who"), m.group("verb"))
    # "Mr. Collins, much offended, laid aside his book, and said," — the speaker is the
    # subject of the sentence the speech verb ends ("Maria, who ... cried out," too).
    end = _ENDS_WITH_VERB.search(narr)
    if end is None or end.group("verb") not in speech_verbs():
        return None
    if re.search(r"\b(?:ceased|stopped|finished|done|left\s+off)\s+$", narr[: end.start()]):
        return None  # "…," said he, "when she ceased speaking, …": no speech starts here
    pieces = _SENTENCE_BREAK.split(narr[: end.start()])
    who = _sentence_speaker(pieces[-1])
    if who is None and len(pieces) > 1 and re.match(r"[\s,]*(?:and|but|then)\b", pieces[-1]):
        # "At length he put it down; and, leaning back in his chair, muttered:": the
        # clause goes on with the subject of the one before.
        who = _sentence_speaker(pieces[-2], final=False)
    return Tag(who, end.group("verb")) if who is not None else None


def _sentence_speaker(sentence: str, final: bool = True) -> str | None:
    """Who speaks in the sentence a speech verb ends. ``final``: the sentence runs up
    to the verb (so the one named last before it is its subject)."""
    rel = re.search(
        rf"(?P<who>{NAME_RE.pattern})(?:\s+(?:in|at|on|by|near)\s+[^,;]{{1,30}})?,\s+who\b",
        sentence,
    )
    # The subject nearest the verb, when it is followed by a verb of its own ("when
    # hearing her brother mention Miss Bennet, she turned towards him and said,");
    # else one that a finite verb follows ("and Elizabeth at that instant moving
    # towards them, he was struck … and called out"); else the first person named
    # ("Mr. Collins, much offended, laid aside…").
    found: list[tuple[str, bool, bool, int]] = []
    for first in _CLAUSE_WHO.finditer(sentence):
        who = first.group("who")
        lead = who.split()[0].lower().rstrip(".")
        titled = lead in HONORIFICS and len(who.split()) > 1  # "Lady Catherine began"
        if lead not in STOPWORDS or titled or who in ("He", "She", "I", "he", "she"):
            acts = re.match(r"\s+(?:[a-z]+ly\s+|had\s+|then\s+)?([a-z]+)", sentence[first.end() :])
            verb = acts is not None and (
                acts.group(1) in PERSON_VERBS or acts.group(1) in speech_verbs()
            )
            finite = acts is not None and _finite(acts.group(1))
            # "…, so eagerly that the Gryphon said,": right before the speech verb
            rest = re.sub(r"\b[a-z]+ly\b", "", sentence[first.end() :]).strip()
            finite = finite or (final and not rest)
            before = sentence[: first.start()].split()[-1:]
            if before and before[0].lower() in _COMPLEMENT | _PREPOSITIONS:
                continue  # "Elizabeth saw what he was doing", "turning to Elizabeth, said"
            # "when Mr. Tull, after a glance at his wife, said": a subject set off by
            # a phrase (not "drawing near Elizabeth," an object).
            set_off = sentence[first.end() :].startswith(",") and (
                not before or before[0].endswith(",") or before[0].lower() in _OPENERS
            )
            found.append((who, verb, finite or set_off, first.start()))
    if rel and not any(
        at > rel.end() and (verb or who.lower() in ("he", "she")) for who, verb, _, at in found
    ):
        # "Maria, who … cried out," (but not "Mr. Darcy, who … was not unwilling to
        # receive it, when she instantly drew back, and said")
        return rel.group("who")
    if not found:
        return None
    # The last one named that does something ("As she went up, Mrs. Bennet followed
    # her, saying,"), else the first one named.
    acting = [who for who, verb, finite, _ in found if verb or finite]
    return acting[-1] if acting else found[0][0]


def _finite(word: str) -> bool:
    """A verb in the past or an auxiliary ("was", "drew", "followed")."""
    return word in _FINITE or word in _PAST or (len(word) > 4 and word.endswith("ed"))


# A sentence ends at . ! ? ; but not after a title ("to Mr. Darcy, who…").
_SENTENCE_BREAK = re.compile(
    r"(?<=[.!?;])(?<!\bMr\.)(?<!\bMrs\.)(?<!\bMs\.)(?<!\bDr\.)(?<!\bSt\.)(?:\s+|--|—)"
)
_PREPOSITIONS = frozenset("to at with from of for by on upon towards toward about".split())
_OPENERS = frozenset("and but when then while till until as whereupon so yet".split())
_COMPLEMENT = frozenset("what that whether how why where who whom".split())
_FINITE = frozenset("was were had would could should might must did is has will".split())
# Irregular past tenses that report speech with a particle ("ground out", "bit out").
_IRREGULAR_SPOKEN = frozenset("ground bit shot spat flung threw broke cut".split())
_PAST = frozenset(
    """drew took rose went came stood sat made gave saw felt thought knew left held began
    ran spoke told got put set brought caught found heard kept laid led met sent shook
    struck threw understood woke wrote bent fell hung lay broke chose hid rode rang
    sank tore wore fought bought sought taught slept wept crept knelt leant leapt
    spread shut let""".split()
)


@dataclass
class Turn:
    """A paragraph with dialogue in it: the unit of conversational turn-taking."""

    par: int
    segs: list[Segment]
    follows_turn: bool = False  # the paragraph right before is a turn too
    bridged: bool = False  # only a short narration paragraph since the last turn
    barred: set[str] = field(default_factory=set)  # who cannot be speaking ("her cousin")
    beat_before: list[Segment] = field(default_factory=list)  # narration paragraph before
    lead: Segment | None = None  # the narration that ends the paragraph before

    @property
    def quotes(self) -> list[Segment]:
        return [s for s in self.segs if s.kind == "dialogue"]

    @property
    def speaker(self) -> str | None:
        known = [q for q in self.quotes if q.speaker]
        return max(known, key=lambda q: q.confidence).speaker if known else None

    def assign(self, name: str, sieve: str) -> None:
        if name in self.barred:
            return
        if any(q.sieve == "tag-unresolved" for q in self.quotes):
            return  # the paragraph's speaker is someone we could not name
        for q in self.quotes:
            if q.speaker is None and q.sieve not in ("tag-unresolved", "user"):
                q.speaker, q.sieve, q.confidence = name, sieve, CONFIDENCE[sieve]


# People a story may never name, as it refers to them ("the stranger", "the boy").
_UNNAMED_NOUNS = frozenset(
    """man woman boy girl stranger gentleman lady figure guy kid lad lass youth newcomer
    visitor driver soldier guard officer doctor nurse priest waiter waitress""".split()
)
_PERSON_NOUN = re.compile(r"\b(?:[Aa]n?|[Tt]he)\s+(?:[a-z]+\s+){0,2}?([a-z]+)\b")


@dataclass
class Referent:
    offset: int
    name: str | None  # None: someone we can't name ("my father")
    gender: str
    subject: bool = False
    kin: bool = False  # "my father": the narrator's relative, whom we can't name


@dataclass
class Attributor:
    text: str
    segments: Sequence[Segment]
    index: NameIndex
    narrator: str | None
    recent: list[Referent] = field(default_factory=list)
    hit: Referent | None = None  # whom the last pronoun resolved to
    open_tags: list[Segment] = field(default_factory=list)  # "said the stranger"
    # "said the girl" that found nobody: the line, its sex, and who may not say it
    open_sex: list[tuple[Segment, str, frozenset[str]]] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    breaks: list[int] = field(default_factory=list)  # where chapters and scenes start
    par_start: int = -1  # where the paragraph being tagged starts
    described: re.Pattern[str] | None = None  # "the stranger" as a cast member's alias
    debut: dict[str, int] = field(default_factory=dict)  # where each name first appears
    invent: bool = False  # may give a voice to someone the story never names
    invented: dict[str, Character] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A cast member known by a description ("The Stranger", "the visitor") is
        # mentioned whenever the narration says "the stranger"; nouns that a title or
        # a sex already handle (the doctor, the girl) are left to those rules.
        heads: set[str] = set()
        for c in self.index.characters:
            for form in self.index.forms_of(c.name):
                words = form.split()
                if len(words) != 2 or words[0].lower() != "the":
                    continue
                head = words[1].lower()
                if head in GENDERED_NOUNS or head in HONORIFICS or not head.isalpha():
                    continue
                if self.index.resolve(f"the {head}") == c.name:
                    heads.add(head)
        if heads:
            alt = "|".join(sorted(heads, key=len, reverse=True))
            self.described = re.compile(rf"\b[Tt]he\s+(?:[a-z]+\s+)?({alt})\b")
        for m in NAME_RE.finditer(self.text):
            name = self.index.resolve(m.group())
            if name is not None and name not in self.debut:
                self.debut[name] = m.start()

    def _newcomer(self, gender: str, at: int, exclude: str | None = None) -> str | None:
        """ "said the young lady" before the story has named her: the next person of
        that sex whom the text names for the first time, soon after."""
        near = [
            (first, name)
            for name, first in self.debut.items()
            if at < first <= at + NEWCOMER_REACH
            and name not in (exclude, self.narrator)
            and self.index.gender(name) == gender
        ]
        return min(near)[1] if near else None

    @property
    def unnamed_hit(self) -> bool:
        """The last pronoun resolved to someone without a name."""
        return self.hit is not None and self.hit.name is None

    @property
    def unnamed_kin(self) -> bool:
        """... who is the narrator's relative ("my father")."""
        return self.hit is not None and self.hit.kin

    # -- referents -------------------------------------------------------------
    def _remember(
        self, offset: int, name: str | None, gender: str | None = None, subject: bool = False
    ) -> None:
        g = gender or (self.index.gender(name) if name else "unknown")
        self.recent.append(Referent(offset, name, g, subject))

    def _note_mentions(self, seg: Segment) -> None:
        found: list[Referent] = []
        for m in NAME_RE.finditer(seg.text):
            start, name = m.start(), self.index.resolve(m.group())
            if name is None:
                # "When Jane and Elizabeth …", "Then Mr. Darcy …": a capitalised word
                # glued to the front of a name.
                words = list(re.finditer(r"\S+", m.group()))
                for w in words[1:]:
                    if words[0].group().lower() in _LEADERS:
                        name = self.index.resolve(m.group()[w.start() :])
                        if name is not None:
                            start = m.start() + w.start()
                            break
            if name is not None:
                g = self.index.gender(name)
                subject = _is_subject(seg.text, start, m.end())
                found.append(Referent(seg.start + start, name, g, subject))
        for m in _GENDERED_NOUN.finditer(seg.text):
            at = seg.start + m.start()
            g = GENDERED_NOUNS[m.group(1).lower()]
            name = self.index.resolve(m.group()) or self._relative(m.group(), at)
            if name is None and m.group().split()[0].lower() == "the":
                # "The young girl glanced at him": an epithet for someone on stage,
                # found like "she".
                name = self._pronoun(g, at, None)
                if self.unnamed_hit:
                    name = None
                if name is None:
                    name = self._newcomer(g, at)
            subject = _is_subject(seg.text, m.start(), m.end())
            kin = name is None and m.group().split()[0].lower() in ("my", "our")
            found.append(Referent(at, name, g, subject, kin=kin))
        for m in _NEW_PERSON.finditer(seg.text):
            # "there walked into the room a stout old gentleman": someone the story
            # is about to name, if it names a newcomer of that sex soon. ("like a
            # man possessed", "he was a good man": nobody new.)
            if re.search(
                r"\b(?:like|as|than|such|what|was|is|were|be|been)\s+$", seg.text[: m.start()]
            ):
                continue
            at = seg.start + m.start()
            g = GENDERED_NOUNS[m.group(1).lower()]
            name = self._newcomer(g, at)
            if name is not None:
                subject = _is_subject(seg.text, m.start(), m.end())
                found.append(Referent(at, name, g, subject))
        for m in _TITLE_MENTION.finditer(seg.text):
            # "I said to the count.": the one character who holds that title
            title = m.group(1).lower()
            holders = self.index.holders(title) if title in HONORIFICS else set()
            # (not "the doctor" when the cast also has someone called "The Doctor")
            if len(holders) == 1 and not self.index.candidates(f"the {title}") - holders:
                name = next(iter(holders))
                at = seg.start + m.start()
                subject = _is_subject(seg.text, m.start(), m.end())
                found.append(Referent(at, name, self.index.gender(name), subject))
        if self.described is not None:
            for m in self.described.finditer(seg.text):
                name = self.index.resolve(f"the {m.group(1)}")
                if name is not None:
                    at = seg.start + m.start()
                    subject = _is_subject(seg.text, m.start(), m.end())
                    found.append(Referent(at, name, self.index.gender(name), subject))
        # "When Jane and Elizabeth were alone, the former …": the first or the second
        # of the last two people named.
        for m in _FORMER_LATTER.finditer(seg.text):
            at = seg.start + m.start()
            named = [r.name for r in self.recent[-20:] if at - r.offset < 600]
            named += [r.name for r in sorted(found, key=lambda r: r.offset) if r.offset < at]
            pair: list[str] = []
            for n in reversed([n for n in named if n]):
                if n not in pair:
                    pair.insert(0, n)
                if len(pair) == 2:
                    break
            if len(pair) == 2:
                who = pair[0] if m.group(1).lower() == "former" else pair[1]
                subject = _is_subject(seg.text, m.start(), m.end()) or bool(
                    re.match(r",\s+who\b", seg.text[m.end() : m.end() + 8])
                )
                found.append(Referent(at, who, self.index.gender(who), subject))
        base = len(self.recent)
        self.recent.extend(sorted(found, key=lambda r: r.offset))
        # "She followed her father in. She sat down.": a subject pronoun carries its
        # referent forward, so a tag further on still finds them.
        chain: list[Referent] = []
        for m in _SUBJECT_PRONOUN.finditer(seg.text):
            at = seg.start + m.start("p")
            g = PRONOUN_GENDER[m.group("p").lower()]
            name = self._pronoun(g, at, None)
            if name is not None or self.unnamed_hit:
                chain.append(Referent(at, name, g, True, kin=self.unnamed_kin))
        if chain:
            self.recent[base:] = sorted(self.recent[base:] + chain, key=lambda r: r.offset)

    def _relative(self, phrase: str, at: int) -> str | None:
        """ "their father", "her mother" in narration -> Mr./Mrs. <family surname>, when
        the family is known; else None (someone unnamed)."""
        m = re.match(
            r"(his|her|their)\s+(?:(?:own|affectionate|poor|dear|good|fond|anxious)\s+)?"
            r"(father|mother|husband|wife|papa|mamma|mama)\b",
            phrase.lower(),
        )
        if m is None:
            return None
        if m.group(1) == "their":
            owner = next(
                (
                    r.name
                    for r in reversed(self.recent)
                    if r.offset < at and r.name and at - r.offset < 2000
                ),
                None,
            )
            return None if owner is None else self._family_of(owner, m.group(2))
        return self._spouse(m.group(1), m.group(2), at)

    def _pronoun(
        self, gender: str, at: int, exclude: str | None, addressed: frozenset[str] = frozenset()
    ) -> str | None:
        """The nearest earlier referent of that gender, skipping the last speaker. If
        it is someone we can't name ("my father") the answer is None, not the next name
        back: a wrong voice is worse than the narrator's. With nobody of that gender
        in sight, a named person of unknown gender is the next best reading."""
        unknown: str | None = None
        first: Referent | None = None
        self.hit = None
        for r in reversed(self.recent):
            if r.offset >= at:
                continue
            if at - r.offset > 3000 or (first and first.offset - r.offset > SUBJECT_REACH):
                break
            # The last speaker is skipped, unless this paragraph brings them back
            # ("The Hatter was the first to break the silence. '…,' he said").
            back = r.subject and r.offset >= self.par_start
            if (exclude is not None and r.name == exclude and not back) or r.name in addressed:
                continue
            if r.name is not None and r.name == self.narrator:
                continue  # the narrator is "I", never "he" or "she"
            # The subject of the sentence just before outranks a nearer object
            # ("Mr. Gardiner ... would assist Mr. Bennet. 'Do not...,' added he").
            same_par = first is None or "\n\n" not in self.text[r.offset : first.offset]
            if r.gender == gender and r.subject and same_par:
                self.hit = r
                return r.name
            if r.gender == gender and first is None:
                first = r
            if r.gender == "unknown" and r.name and r.name != self.narrator and unknown is None:
                unknown = r.name
        if first is not None:
            self.hit = first
            return first.name
        return unknown

    def _silent(self, segs: Sequence[Segment]) -> set[str]:
        """Who the narration says keeps quiet ("Cohn said nothing.", "I did not say
        anything.", "He made no answer."): they don't speak the next line."""
        out: set[str] = set()
        for s in segs:
            for m in _SILENT.finditer(s.text):
                who = m.group("who")
                if who == "I":
                    name = self.narrator
                elif who.lower() in ("he", "she"):
                    name = self._pronoun(PRONOUN_GENDER[who.lower()], s.start + m.start(), None)
                else:
                    name = self.index.resolve(who)
                if name is not None:
                    out.add(name)
        return out

    def _someone_else(self, name: str, gender: str, start: int, end: int) -> bool:
        """Whether the narration between ``start`` and ``end`` brings in someone of
        that gender other than ``name`` (``Mrs. Bennet was profuse…`` before ``she
        added``)."""
        return any(
            start <= r.offset < end and r.gender == gender and r.name != name
            for r in reversed(self.recent)
            if r.offset >= start
        )

    def _salient(self, names: set[str], at: int, window: int = 3000) -> str | None:
        """Of ``names``, the one mentioned last before ``at``."""
        for r in reversed(self.recent):
            if r.offset >= at:
                continue
            if at - r.offset > window:
                return None
            if r.name in names:
                return r.name
        return None

    def _away(self, name: str, at: int, window: int = 3000) -> bool:
        """Met before, but not in the last ``window`` characters."""
        if self._on_stage(name, at, window):
            return False
        return any(r.name == name for r in self.recent[: self._index_at(at - window)])

    def _index_at(self, at: int) -> int:
        return bisect.bisect_left(self.recent, at, key=lambda r: r.offset)

    def _on_stage(self, name: str, at: int, window: int = 3000) -> bool:
        for r in reversed(self.recent):
            if r.offset >= at:
                continue
            if at - r.offset > window:
                return False
            if r.name == name:
                return True
        return False

    def _who(
        self, who: str, at: int, exclude: str | None, addressed: frozenset[str] = frozenset()
    ) -> tuple[str | None, str]:
        """``addressed``: whom the quote calls by name; nobody speaks to themselves."""
        w = who.strip()
        if w == "I":
            return self.narrator, "tag-first-person"
        g = PRONOUN_GENDER.get(w.lower())
        if g is not None:
            name = self._pronoun(g, at, exclude, addressed)
            # "My father sat beside me. ... he said": a relative we can't name spoke;
            # "The young lady glanced at him. ... she said": someone on stage did.
            return name, "tag-unnamed" if self.unnamed_kin else "tag-pronoun"
        if re.match(r"their\s+(?:father|mother|papa|mamma|mama)\b", w.lower()):
            # "said their father": the parent of the family last named.
            return self._relative(w, at), "tag-nominal"
        pos = _POSSESSIVE.match(w)
        if pos and self.index.resolve(w) is None and self._described(w) is None:
            # "answered Daisy's mamma", "asked Mr. Bumble's good lady": a relative of the
            # one named (Mrs. Miller), else someone we can't name, never them.
            owner = self.index.resolve(pos.group("owner"))
            noun = pos.group("noun").split()[-1].lower()
            if owner is not None and noun in _FAMILY_TITLE:
                return self._family_of(owner, noun), "tag-nominal"
            return None, "tag-nominal"
        sp = _SPOUSE.match(w.lower())
        if sp:
            # "'Another time, Lizzy,' said her mother": "her" is whom the line calls.
            g = "male" if sp.group(1) == "his" else "female"
            called = [n for n in addressed if self.index.gender(n) == g]
            if len(called) == 1:
                relative = self._family_of(called[0], sp.group(2))
                if relative is not None:
                    return relative, "tag-nominal"
            spouse = self._spouse(sp.group(1), sp.group(2), at)
            if spouse is None:
                # "his wife said" of a husband we can't name: the cast's "The Wife".
                spouse = self.index.resolve(f"the {sp.group(2)}")
            return spouse, "tag-nominal"
        kin = _KIN.match(w.lower())
        if kin:
            # "replied her uncle": the one person of that sex in the scene besides
            # whoever "her" is, if there is just one.
            owner = self._pronoun("male" if kin.group(1) == "his" else "female", at, None)
            known = (
                self.index.resolve(f"the {kin.group(2)}")
                if kin.group(2) in ("companion", "visitor", "guest")
                else None
            )
            if known is not None and known != owner and known not in addressed:
                return known, "tag-nominal"  # "said his visitor": the cast's "The Visitor"
            sex = GENDERED_NOUNS.get(kin.group(2))  # "his companion": either
            kinsfolk = {
                r.name
                for r in self._window(at, 1500)
                if r.name
                and r.name != owner
                and r.name not in addressed  # "'To be sure, Lizzy,' said her aunt"
                and (sex is None or r.gender == sex)
                and r.name != self.narrator
            }
            return (kinsfolk.pop() if len(kinsfolk) == 1 else None), "tag-nominal"
        st = _STYLE.match(w.lower())
        if st:
            # "replied her ladyship": whoever in the scene holds such a title.
            holders = set().union(*(self.index.holders(t) for t in _STYLES[st.group(2)]))
            if len(holders) == 1:
                return holders.pop(), "tag-nominal"
            return self._salient(holders, at) if holders else None, "tag-nominal"
        kind = "tag-name" if w[:1].isupper() else "tag-nominal"
        if kind == "tag-nominal" and w.split()[0].lower() in ("the", "a", "an"):
            phrase = clean_nominal(w)
            if phrase is None:
                return None, kind
            found = self._resolve_words(phrase.split())
            if any(f" {p} the " in phrase for p in ("in", "of", "with")):
                # "the man with the beard" is the cast's "Man With The Black Beard".
                found = self._described(phrase) or found
            # "said the young lady": an epithet for someone already on stage, found
            # like a pronoun. ("said a young lady" is someone new: a minor character.)
            # An alias ("the old lady") names someone only if they are on stage too.
            head = _head_noun(phrase).lower()
            specific = any(f" {p} the " in phrase for p in ("in", "of", "with"))
            common = head.islower()  # "the King" is a name, "the king" a description
            if _head_noun(phrase).islower() and head in HONORIFICS and w.split()[0] == "the":
                # "said the doctor" with a "Doctor Losberne" in the cast as well as
                # someone called just "the doctor": whichever was in the scene last.
                holders = self.index.holders(head) | ({found} if found else set())
                if len(holders) > 1:
                    near = self._salient(holders, at)
                    if near is None and found is not None:
                        # "the doctor" when Doctor Losberne came into the chapter a
                        # while ago: he, before a one-scene "Doctor" of the cast.
                        near = self._salient(holders - {found}, at, 12000)
                    if near is not None:
                        return near, kind
            if w.split()[0].lower() == "the" and head in GENDERED_NOUNS and common and not specific:
                if found is not None and self._on_stage(found, at):
                    return found, kind
                near = self._pronoun(GENDERED_NOUNS[head], at, exclude, addressed)
                if near is None and found is None:
                    near = self._newcomer(GENDERED_NOUNS[head], at, exclude)
                if near is not None or found is None:
                    return near, "tag-epithet"
            if found is not None:
                return found, kind
            w = phrase
        name = self._resolve_words(w.split())
        if name is None and kind == "tag-name":
            # "said Harry" with two Harrys in the cast: the one in the scene.
            cands = self.index.candidates(w)
            name = self._salient(cands, at) if len(cands) > 1 else None
        if name is None and kind == "tag-name" and re.fullmatch(r"[A-Z][a-z]{4,}", w):
            # "said Charly" for Charley: a one-letter slip of the one name it can be.
            slips = {
                c.name
                for c in self.index.characters
                for f in self.index.forms_of(c.name)
                for part in split_honorific(f)[1]
                if part[:1] == w[:1] and one_edit(part, w)
            }
            name = slips.pop() if len(slips) == 1 else None
        return name, kind

    def _described(self, phrase: str) -> str | None:
        """The one character with a descriptive alias holding every word of
        ``phrase`` in order (a tag may leave a word out of the description)."""
        want = norm(phrase).split()
        fits = set()
        for c in self.index.characters:
            for form in self.index.forms_of(c.name):
                words = norm(form).split()
                if words[:1] != ["the"]:
                    continue
                it = iter(words)
                if all(w in it for w in want):
                    fits.add(c.name)
        return fits.pop() if len(fits) == 1 else None

    def _resolve_words(self, words: list[str]) -> str | None:
        """ "the keeper gently" -> "the keeper"; "Councillor Brannock" -> "Brannock";
        "the March Hare" -> "Hare"."""
        for n in range(len(words), 0, -1):
            phrase = " ".join(words[:n])
            name = self.index.resolve(phrase)
            bare = re.sub(r"^(?:the|a|an)\s+", "", phrase, flags=re.I)
            if name is not None and bare.islower():
                # "the old gentleman": a lowercase word names someone through a whole
                # alias ("the keeper") or a title ("the count"), not as a piece of a
                # name ("Old Sally").
                forms = self.index.forms_of(name)
                pieces = {w.lower() for f in forms for w in split_honorific(f)[1]}
                whole = {norm(re.sub(r"^(?:the|a|an)\s+", "", f, flags=re.I)) for f in forms}
                if norm(bare) not in whole and pieces & set(bare.split()):
                    name = None
            if name is not None:
                return name
        for n in range(1, len(words)):
            if words[n][:1].isupper():
                name = self.index.resolve(" ".join(words[n:]))
                if name is not None:
                    return name
        return None

    def _spouse(self, pron: str, noun: str, at: int) -> str | None:
        """ "said his lady" -> Mrs. <his surname>: the spouse shares the surname."""
        partner = self._pronoun("male" if pron == "his" else "female", at, None)
        found = self._family_of(partner, noun) if partner is not None else None
        if found is None and _FAMILY_TITLE[noun] in ("mrs", "mr"):
            # "said her mother" when "her" is someone we can't name ("his second
            # daughter"): the one married man or woman of the scene, if only one.
            here = [r.name for r in self._window(at, 1500) if r.name and r.name != partner]
            near = {n for n in here if self._holds(n, _FAMILY_TITLE[noun])}
            if len(near) > 1 or (near and partner is not None):
                # "said her father" of a Kitty with no surname, Mr. Darcy and Mrs. Bennet
                # in the scene: the one of the family that is there.
                families = {self._surname(n) for n in here if not near >= {n}} - {None}
                kin = {n for n in near if self._surname(n) in families}
                near = kin or (near if partner is None else set())
            found = near.pop() if len(near) == 1 else None
        return found

    def _surname(self, name: str) -> str | None:
        """ "Mrs. Bennet" -> "bennet"; None for a name without one ("Kitty")."""
        for form in self.index.forms_of(name):
            hon, words = split_honorific(form)
            if hon and words:
                return norm(words[-1])
        return None

    def _window(self, at: int, reach: int) -> list[Referent]:
        """The referents mentioned within ``reach`` characters before ``at``."""
        lo = bisect.bisect_left(self.recent, at - reach, key=lambda r: r.offset)
        hi = bisect.bisect_left(self.recent, at, key=lambda r: r.offset)
        return self.recent[lo:hi]

    def _holds(self, name: str, title: str) -> bool:
        return any(split_honorific(f)[0] == title for f in self.index.forms_of(name))

    def _family_of(self, partner: str, noun: str) -> str | None:
        title = _FAMILY_TITLE[noun]
        for form in self.index.forms_of(partner):
            words = split_honorific(form)[1]
            found = (
                self.index.resolve(f"{title} {words[-1]}")
                if len(words) > 1 or split_honorific(form)[0]
                else None
            )
            sex = GENDERED_NOUNS.get(noun)
            if found is None or (sex and self.index.gender(found) not in (sex, "unknown")):
                continue  # (and "her sister" is no Mr. Hurst)
            if found != partner:
                return found
        return None

    # -- sieves ----------------------------------------------------------------
    def _paragraphs(self) -> list[list[Segment]]:
        """The segments by paragraph, in order. In a text whose paragraphs are set
        apart by blank lines, a "paragraph" that starts on the very next line is a
        hard-wrapped line that happened to begin with a quotation mark
        (``…said Mrs. Bennet, smiling.\n"She is my youngest…``): it joins the one
        before."""
        by_par: dict[int, list[Segment]] = defaultdict(list)
        for seg in self.segments:
            by_par[seg.paragraph].append(seg)
        pars = sorted(by_par)
        soft: set[int] = set()
        blank = 0
        for p, q in itertools.pairwise(pars):
            if q != p + 1:
                continue
            gap = self.text[by_par[p][-1].end : by_par[q][0].start]
            if _BLANK_LINE.search(gap):
                blank += 1
            elif "\n" in gap and all(
                s.kind in ("dialogue", "narration") for s in (*by_par[p], *by_par[q])
            ):
                soft.add(q)
        if blank < 4 * len(soft) or not soft:
            return [by_par[p] for p in pars]
        out: list[list[Segment]] = []
        for p in pars:
            if p in soft and out:
                out[-1].extend(by_par[p])
            else:
                out.append(list(by_par[p]))
        return out

    def run(self) -> None:
        scene: tuple[int, int] | None = None
        for seg in self.segments:  # where each chapter and scene starts
            if (seg.chapter, seg.scene) != scene:
                scene = (seg.chapter, seg.scene)
                self.breaks.append(seg.start)
        turns: list[Turn] = []
        prev_segs: list[Segment] = []
        last_turn: list[Segment] | None = None
        prev_speaker: str | None = None
        last_speaker: tuple[str, int] | None = None  # who spoke last, and where
        older: list[Segment] = []
        for segs in self._paragraphs():
            before, prev_segs = prev_segs, segs
            before2, older = older, before
            adjacent = bool(before) and segs[0].paragraph - before[-1].paragraph == 1
            if not any(s.kind == "dialogue" for s in segs):
                for s in segs:
                    if s.kind == "narration":
                        self._note_mentions(s)
                continue
            turn = Turn(segs[0].paragraph, segs, follows_turn=adjacent and last_turn is before)
            if adjacent and before[-1].kind == "narration":
                turn.lead = before[-1]
            if adjacent and all(s.kind == "narration" for s in before):
                turn.beat_before = before
                turn.barred |= self._silent(before)
                # `"Forgive me."` / `I stood there by the door.` / `"I was crazy."`:
                # a short beat between two lines doesn't end the conversation.
                turn.bridged = (
                    last_turn is before2
                    and bool(before2)
                    and before[0].paragraph - before2[-1].paragraph == 1
                    and sum(len(s.text) for s in before) <= BRIDGE
                )
            exclude = prev_speaker if turn.follows_turn else None
            addressee = (
                self._vocative(turns[-1], lead=True) if turn.follows_turn and turns else None
            )
            self._tags(turn, exclude, addressee, last_speaker)
            self._carry_in_paragraph(turn, exclude)
            if turn.follows_turn and turns and turn.quotes[0].continued:
                # The next paragraph of one long quotation is the same turn: the
                # talk doesn't pass to the other person at its paragraph breaks.
                turns[-1].segs.extend(segs)
                turns[-1].barred |= turn.barred
            else:
                turns.append(turn)
            last_turn = segs
            prev_speaker = turn.speaker
            # Unknown so far: nobody can be said to go on with it.
            last_speaker = (prev_speaker, segs[-1].end) if prev_speaker else None
            if prev_speaker:
                self._remember(segs[-1].end, prev_speaker)
        self._unify_quotations()
        if self.invent:
            self._unnamed_speakers(turns)
        self._conversation(turns)
        self._unify_quotations()
        for seg, g, barred in self.open_sex:
            if seg.speaker is None:
                # Nobody in the talk fits: the last person of that sex named before.
                name = self._last_of_sex(seg.start, g, barred)
                if name is not None:
                    seg.speaker, seg.sieve = name, "tag-look-back"
                    seg.confidence = CONFIDENCE["tag-look-back"]
        for seg in self.open_tags:
            if seg.speaker is None:
                seg.sieve = "tag-unresolved"
        self._salient_fallback(turns)

    def _last_of_sex(self, at: int, gender: str, barred: frozenset[str]) -> str | None:
        for r in reversed(self.recent[: self._index_at(at)]):
            if at - r.offset > OPEN_REACH:
                return None
            if r.name and r.gender == gender and r.name not in barred | {self.narrator}:
                return r.name
        return None

    def _unnamed_speakers(self, turns: Sequence[Turn]) -> None:
        """`"Who are you?" he asked.` with no man named anywhere before: someone the
        story never names, who gets a voice of their own ("He", "She") before the
        conversation alternates with them."""
        for seg, g, barred in self.open_sex:
            if seg.speaker is not None or self._last_of_sex(seg.start, g, barred):
                continue
            name = self._unnamed_label(seg.start, g)
            if name not in self.invented:
                self.invented[name] = Character(name=name, gender=g)  # type: ignore[arg-type]
            turn = next((t for t in turns if seg in t.quotes), None)
            if turn is not None:
                turn.assign(name, "unnamed")
            else:
                seg.speaker, seg.sieve, seg.confidence = name, "unnamed", CONFIDENCE["unnamed"]

    def _unnamed_label(self, at: int, gender: str) -> str:
        """How the story refers to someone it never names: the last person-noun of
        their sex in the scene ("A man sat down beside me" -> "the man"), else the
        pronoun itself ("He")."""
        window = self.text[max(self._scene_start(at), at - NEWCOMER_REACH) : at]
        label = "He" if gender == "male" else "She"
        for m in _PERSON_NOUN.finditer(window):
            noun = m.group(1).lower()
            if GENDERED_NOUNS.get(noun, gender) == gender and noun in _UNNAMED_NOUNS:
                label = f"the {noun}"
        return label

    def _salient_fallback(self, turns: Sequence[Turn]) -> None:
        """A line no rule could place is, more often than not, spoken by the person the
        story mentioned last who did not speak the line before and is not spoken to
        (the narrator's voice is wrong for it every time)."""
        barred = {id(q): t.barred for t in turns for q in t.quotes}
        sexed = {id(seg) for seg, _, _ in self.open_sex}  # "she said": had their chance
        prev: Segment | None = None
        by_paragraph: dict[int, str] = {}
        for seg in self.segments:
            if seg.kind != "dialogue":
                continue
            if seg.speaker is None and seg.sieve is None and id(seg) not in sexed:
                name = by_paragraph.get(seg.paragraph)
                if name is None:
                    name = self._last_mentioned(seg, prev, barred.get(id(seg), set()))
                if name is not None:
                    seg.speaker, seg.sieve = name, "salient"
                    seg.confidence = CONFIDENCE["salient"]
                    by_paragraph[seg.paragraph] = name
            if seg.speaker is not None:
                prev = seg

    def _last_mentioned(
        self, seg: Segment, prev: Segment | None, silent: set[str]
    ) -> str | None:
        barred = silent | {
            n for m in _vocatives(seg.text) if (n := self.index.resolve(m.group("name")))
        }
        if prev is not None and prev.paragraph != seg.paragraph and prev.speaker:
            barred.add(prev.speaker)
        for r in reversed(self.recent[: self._index_at(seg.start)]):
            if seg.start - r.offset > SALIENT_REACH or r.offset < self._scene_start(seg.start):
                break
            if r.name and r.name not in barred:
                return r.name
        return None

    def _scene_start(self, at: int) -> int:
        i = bisect.bisect_right(self.breaks, at)
        return self.breaks[i - 1] if i else 0

    def _tags(
        self,
        turn: Turn,
        exclude: str | None,
        addressee: str | None = None,
        last: tuple[str, int] | None = None,
    ) -> None:
        """``addressee``: whom the turn before called by name; a pronoun tag of the
        reply means them (``"…, Fitzwilliam?"`` / ``"Music," said he``). ``last``: who
        spoke the last line before this paragraph, and where it ended; ``she added``
        goes on with their speech."""
        segs = turn.segs
        self.par_start = segs[0].start
        for i, seg in enumerate(segs):
            if seg.kind == "narration":
                self._note_mentions(seg)
                continue
            if seg.kind != "dialogue":
                continue
            if seg.sieve == "user":
                continue
            nxt = segs[i + 1] if i + 1 < len(segs) and segs[i + 1].kind == "narration" else None
            prv = segs[i - 1] if i > 0 and segs[i - 1].kind == "narration" else None
            tag = None
            clause = ""  # the sentence the tag stands in
            if nxt is not None and self._adjacent(seg, nxt):
                # `"…," Name frowned` or `"…!" pouted Name`; after "!" a capital may
                # start a new sentence (`"Stop!" Mary stared.`).
                open_quote = bool(re.search(r"[,—–\-…]\W*$", seg.text)) or bool(
                    re.search(r"[!?]\W*$", seg.text) and re.match(r"\s*[a-z]", nxt.text)
                )
                tag = tag_after(nxt.text, open_quote)
                clause = _SENTENCE_BREAK.split(nxt.text.strip())[0]
            if tag is None and prv is not None and self._adjacent(prv, seg):
                tag = tag_before(prv.text)
            if tag is None and i == 0 and turn.lead is not None:
                # "...laid aside his book, and said,\n\n"I have often observed..."":
                # older texts put the speech in a paragraph of its own.
                lead = turn.lead.text
                if re.search(r"[,:—–\-]\s*$", lead):
                    tag = tag_before(lead)
                    if not turn.beat_before:
                        # "'Certainly,' he replied. … but he soon afterwards said,": the
                        # paragraph before was a turn, and its speaker may go on.
                        exclude = None
            if tag is None:
                self._self_named(seg)
                continue
            # Only a reply excludes the last speaker: not a later quote of this
            # paragraph, nor the next part of one long quotation.
            first = not any(q.kind == "dialogue" for q in segs[:i]) and not seg.continued
            addressed = frozenset(
                n
                for m in _vocatives(seg.text)
                if (n := self.index.resolve(m.group("name"))) is not None
            )
            # `"Going to London?" said the strange boy, when Oliver had concluded`:
            # whoever the tag names besides the speaker is not the speaker.
            others: set[str] = set()
            if tag.who.split()[0].lower() in ("he", "she", "the"):
                rest = clause[clause.find(tag.who) + len(tag.who) :] if tag.who in clause else ""
                others = {
                    n
                    for m in NAME_RE.finditer(rest)
                    if (n := self.index.resolve(m.group())) is not None
                }
                addressed = addressed | others
            name, sieve = self._who(tag.who, seg.start, exclude if first else None, addressed)
            g = PRONOUN_GENDER.get(tag.who.strip().lower())
            if g is not None and tag.verb in _CONTINUING:
                # "…," she added: whoever spoke last goes on, if the pronoun fits.
                spoken = [q for q in segs[:i] if q.kind == "dialogue" and q.speaker]
                prior = (spoken[-1].speaker, spoken[-1].end) if spoken else last
                if (
                    prior is not None
                    and prior[0] is not None
                    and seg.start - prior[1] < CONTINUE_REACH
                    and self.index.gender(prior[0]) == g
                    and prior[0] not in addressed
                    and not self._someone_else(prior[0], g, prior[1], seg.start)
                ):
                    name, sieve = prior[0], "tag-pronoun"
                    first = False
            if sieve == "tag-epithet":  # "said the old lady": found like "she"
                phrase = clean_nominal(tag.who)
                g = GENDERED_NOUNS.get(_head_noun(phrase).lower()) if phrase else None
            if (
                first
                and g is not None
                and addressee is not None
                and addressee != exclude
                and self.index.gender(addressee) == g
            ):
                name, sieve = addressee, "tag-pronoun" if sieve != "tag-epithet" else sieve
            if name is not None:
                seg.speaker, seg.sieve, seg.confidence = name, sieve, CONFIDENCE[sieve]
                self._remember(seg.end, name, subject=True)
            elif sieve == "tag-nominal" and (
                tag.who.split()[0].lower() in _OPEN_DETERMINERS or re.match(r"\S+['’]s\s", tag.who)
            ):
                # "said the stranger", "said her cousin": someone on stage we can't
                # name. The conversation may still place the line, but "her cousin"
                # is not whoever "her" is; a line nobody places stays unresolved.
                self.open_tags.append(seg)
                phrase = clean_nominal(tag.who)
                head = _head_noun(phrase).lower() if phrase else ""
                if head in GENDERED_NOUNS:  # "said the young lady": a woman
                    turn.barred |= self._of_other_sex(GENDERED_NOUNS[head])
                pos = _POSSESSIVE.match(tag.who)
                if pos and (held := self.index.resolve(pos.group("owner"))) is not None:
                    turn.barred.add(held)  # "Oliver's benefactress" is not Oliver
                owner = tag.who.split()[0].lower()
                if owner in ("his", "her"):
                    g = "male" if owner == "his" else "female"
                    possessor = self._pronoun(g, seg.start, None)
                    if possessor is not None:
                        turn.barred.add(possessor)
            elif sieve in ("tag-epithet", "tag-pronoun") and g is not None:
                # "said the young lady", "she said" with nobody of that sex in sight:
                # whoever the conversation gives it to, it is a woman, and not "I".
                turn.barred |= self._of_other_sex(g) | others
                if self.narrator is not None:
                    turn.barred.add(self.narrator)
                skip = addressed | ({exclude} if exclude and first else set())
                self.open_sex.append((seg, g, frozenset(skip)))
            elif sieve in ("tag-nominal", "tag-name", "tag-unnamed"):
                # Someone speaks whom we can't name ("said his lady", "said a tall
                # man"): no later guess may give the line to somebody else.
                seg.sieve = "tag-unresolved"

    def _of_other_sex(self, gender: str | None) -> set[str]:
        """Everyone in the cast of the other sex than ``gender``."""
        other = {"male": "female", "female": "male"}.get(gender or "")
        return {c.name for c in self.index.characters if c.gender == other}

    def _self_named(self, seg: Segment) -> None:
        """ "I am Griffin, of University College" / "My name is Alice": the speaker says
        who they are."""
        m = _SELF_NAMED.search(seg.text)
        name = self.index.resolve(m.group("name")) if m else None
        if name is not None and seg.speaker is None:
            seg.speaker, seg.sieve, seg.confidence = name, "self-named", CONFIDENCE["self-named"]
            self._remember(seg.end, name, subject=True)

    def _adjacent(self, a: Segment, b: Segment) -> bool:
        """A tag belongs to a quote only when nothing but a closing mark and spaces or
        commas separate them (``"Go," she said`` — not across a sentence)."""
        gap = self.text[a.end : b.start]
        return len(gap) <= 4 and "\n\n" not in gap

    def _subjects(self, segs: Sequence[Segment], exclude: str | None) -> set[str | None]:
        """Who the narration's sentences are about: named subjects, and pronoun
        subjects resolved like tags ("She sipped at her glass.")."""
        return set(self._subject_list(segs, exclude))

    def _subject_list(self, segs: Sequence[Segment], exclude: str | None) -> list[str | None]:
        subjects: list[str | None] = []
        for s in segs:
            if s.kind != "narration":
                continue
            for m in _SUBJECT.finditer(s.text):
                who = m.group("who")
                if who == "I":
                    subjects.append(self.narrator)
                elif who.lower() in ("he", "she"):
                    subjects.append(
                        self._pronoun(
                            PRONOUN_GENDER[who.lower()], s.start + m.start("who"), exclude
                        )
                    )
                elif who[:1].isupper():
                    name = self.index.resolve(who)
                    if name is not None:
                        subjects.append(name)
                elif who.split()[0] == "the":
                    # "the count poured my glass full": a title or description the
                    # cast answers to (not an epithet that could be anyone).
                    name, kind = self._who(who, s.start + m.start("who"), exclude)
                    if name is not None and kind in BEAT_NOMINAL:
                        subjects.append(name)
        return subjects

    def _carry_in_paragraph(self, turn: Turn, exclude: str | None = None) -> None:
        """One speaker per paragraph: a tag on one quote covers the others, and a lone
        named subject of the paragraph's narration (an action beat) speaks its quotes."""
        speakers = {q.speaker for q in turn.quotes if q.speaker}
        if len(speakers) == 1:
            # `"Thanks," Krum said. Woolsey shook his head. "I've got to file."`: someone
            # else acting right before a quote speaks it, not the tagged speaker.
            segs = turn.segs
            for i, q in enumerate(segs):
                if q.kind != "dialogue" or q.speaker is not None or i == 0:
                    continue
                near = self._acting_in(segs[i - 1], exclude)
                if near is not None and near not in speakers | turn.barred:
                    q.speaker, q.sieve, q.confidence = near, "beat", CONFIDENCE["beat"]
            turn.assign(next(iter(speakers)), "paragraph")
            return
        if speakers:
            return
        subjects = self._subjects(turn.segs, exclude)
        if len(subjects) == 1 and None not in subjects:
            turn.assign(next(iter(subjects)), "beat")  # type: ignore[arg-type]

    def _acting_in(self, beat: Segment, exclude: str | None) -> str | None:
        """Who acts in the last sentence of a narration segment between two quotes, if
        that sentence is not the tag's own ('"Gadso!" said the undertaker: taking Mr.
        Bumble by the arm') and really does something ("Cohn was gone." does not)."""
        if beat.kind != "narration":
            return None
        text = beat.text.rstrip()
        last = _SENTENCE_BREAK.split(text)[-1]
        if last == text or _has_speech_verb(last):
            return None
        acts = _SUBJECT.match(last.lstrip())
        if acts is None:
            return None
        verb = acts.group("verb")
        if not (verb in PERSON_VERBS or verb in _PAST or verb.endswith("ed")):
            return None
        at = beat.start + text.rfind(last)
        near = self._subject_list([replace(beat, text=last, start=at)], exclude)[-1:]
        return near[0] if near else None

    def _unify_quotations(self) -> None:
        """A quotation running over several paragraphs has one speaker, whichever of
        its parts the tag sits by."""
        chains: list[list[Segment]] = []
        for seg in self.segments:
            if seg.kind != "dialogue":
                continue
            if seg.continued and chains:
                chains[-1].append(seg)
            else:
                chains.append([seg])
        for chain in chains:
            if len(chain) < 2:
                continue
            best = max(chain, key=lambda s: s.confidence if s.speaker else -1.0)
            if best.speaker is None:
                continue
            for seg in chain:
                weaker = seg.speaker is None or seg.confidence < best.confidence
                if seg.sieve != "user" and weaker:
                    seg.speaker, seg.sieve = best.speaker, "continued"
                    seg.confidence = min(best.confidence, CONFIDENCE["continued"])

    def _vocative(self, turn: Turn, lead: bool = False) -> str | None:
        """Someone the turn's quotes address by name ("Jake," / ", Mr. Bennet."), and
        who does not speak in it themselves (`Bill said to Madame Lecomte. She raised
        her hand. "Oh, my God!"`)."""
        speaking = {q.speaker for q in turn.quotes} | {turn.speaker}
        called = False  # the line calls someone we can't place: not whom it turns to
        for q in turn.quotes:
            for m in _vocatives(q.text):
                if m.group("name").lower().rstrip(".") in HONORIFICS:
                    continue  # "Yes, Sir.", "Madam": a form of address, not a name
                name = self.index.resolve(m.group("name"))
                # "Miss Bennet" said to Elizabeth, with her sister Jane miles away: a
                # title and family name fits the whole family, so only someone in the
                # scene is meant.
                if name and split_honorific(m.group("name"))[0] and self._away(name, q.start):
                    called = True
                    continue
                if name is not None and name not in speaking:
                    return name
        if called:
            return None
        # "Bill asked me.", "He turned to Mike.", "said Elizabeth to her sister"; with
        # ``lead``, also in the beat that leads into the line, for whom its reply comes
        # from ("She turned to Frances." / "No, I don't like Paris." / "Really?").
        for seg in [*turn.segs, *(turn.beat_before[-1:] if lead else [])]:
            if seg.kind != "narration":
                continue
            for m in _ADDRESS.finditer(seg.text):
                who = m.group("who")
                name = self.narrator if who == "me" else self.index.resolve(who)
                if name is not None and name not in speaking:
                    return name
        return None

    def _conversation(self, turns: list[Turn]) -> None:
        """Back-and-forth dialogue: replies go to the addressee, then speakers alternate
        (A, B, A, B) through runs of adjacent turns."""
        for i in range(1, len(turns)):
            t, prev = turns[i], turns[i - 1]
            if t.speaker is None and t.follows_turn and prev.speaker:
                voc = self._vocative(prev, lead=True)
                if voc is not None:
                    t.assign(voc, "vocative")
        changed = True
        while changed:
            changed = False
            for i, t in enumerate(turns):
                if t.speaker is not None:
                    continue
                prev = turns[i - 1]
                if i and t.follows_turn and prev.speaker:
                    # A line placed by turn-taking may address someone too.
                    voc = self._vocative(prev, lead=True)
                    if voc is not None:
                        t.assign(voc, "vocative")
                        if t.speaker is not None:
                            changed = True
                            continue
                back = _alternate(turns, i, -1)
                fwd = _alternate(turns, i, +1)
                guess = back or fwd
                # Nobody calls themselves by name: "…, Jake" is not Jake's line.
                if guess is not None and guess != self._vocative(t):
                    t.assign(guess, "turn-taking")
                    changed = changed or t.speaker is not None  # a pinned line may refuse
        for i, t in enumerate(turns):
            asked = turns[i - 1].speaker if i else None
            # "…?" / "Cohn said nothing." / "…": no answer came, so the one who spoke
            # goes on.
            if (
                t.speaker is None
                and t.bridged
                and asked is not None
                and t.barred
                and asked not in t.barred
                and self._silent(t.beat_before)
            ):
                t.assign(asked, "previous-beat")
            if t.speaker is None and t.beat_before:
                guess = self._beat_guess(t)
                if guess is not None:
                    t.assign(guess, "previous-beat")
        self.turns = turns
        runs = _runs(turns)
        for run in runs:
            self._two_party(run)
        for earlier, run in itertools.pairwise(runs):
            self._bridge(earlier, run)

    def _beat_guess(self, t: Turn) -> str | None:
        """Who the narration paragraph just before a bare quote is about."""
        # "She sipped at her glass." then a bare quote: she says it.
        subjects = self._subjects(t.beat_before[-1:], None) - {self.narrator}
        seq = self._subject_list(t.beat_before[-1:], None)
        if self.narrator and seq and seq[-1] == self.narrator:
            # "Bill was on the balcony. I stood beside him.": I speak next.
            subjects = {self.narrator}
        if len(subjects) == 1 and None not in subjects and self._vocative(t) not in subjects:
            return next(iter(subjects))
        if len(subjects) > 1:
            # "Elizabeth smiled; but Mrs. Bennet was disappointed.": the last
            # one the narration turned to speaks.
            last = seq[-1] if seq else None
            if last is not None and last != self.narrator and last != self._vocative(t):
                return last
        return None

    def _bridge(self, earlier: list[Turn], run: list[Turn]) -> None:
        """A run nobody could place, after only a short beat (``I stood there by the
        door.``), carries on the alternation of the run before it."""
        if not run[0].bridged or any(t.speaker for t in run) or len(earlier) < 2:
            return
        a, b = earlier[-1].speaker, earlier[-2].speaker
        if a is None or b is None or a == b:
            return
        for k, t in enumerate(run):
            t.assign(b if k % 2 == 0 else a, "conversation")

    def _bracketed(self, run: list[Turn]) -> None:
        """In a crowded scene, a gap between A and B that only strict alternation can
        bridge (A ? ? B, A ? ? ? ? B) alternates A, B."""
        idx = [i for i, t in enumerate(run) if t.speaker]
        for i, j in itertools.pairwise(idx):
            a, b = run[i].speaker, run[j].speaker
            if a is None or b is None or j - i < 2:
                continue
            if a == b and (j - i) % 2 == 0:
                # A ? ? ? A: A talks with whoever spoke with them on both sides of
                # the gap, when that is one person.
                earlier = [*self._turns_before(run[0]), *run[:i]]
                before = next((t.speaker for t in reversed(earlier) if t.speaker != a), None)
                after = next((t.speaker for t in run[j + 1 :] if t.speaker != a), None)
                if before is None or before != after:
                    continue
                b = before
            elif j - i < 3 or a == b or (j - i) % 2 == 0:
                continue
            for k in range(i + 1, j):
                run[k].assign(b if (k - i) % 2 else a, "conversation")

    def _with_narrator(self, run: list[Turn]) -> None:
        """A crowded scene told in the first person: the narrator is in it, so a line
        nobody could place beside someone else's is the narrator's answer, and one
        after the narrator's is the answer to them (by whoever spoke before them)."""
        me = self.narrator
        if me is None:
            return
        for i, t in enumerate(run):
            if t.speaker is not None or i == 0:
                continue
            prev = run[i - 1].speaker
            if prev is not None and prev != me:
                t.assign(me, "conversation")
            elif prev == me and i >= 2 and run[i - 2].speaker not in (None, me):
                t.assign(run[i - 2].speaker, "conversation")  # type: ignore[arg-type]

    def _turns_before(self, turn: Turn) -> list[Turn]:
        """The few turns just before ``turn``."""
        i = next(k for k, t in enumerate(self.turns) if t is turn)
        return self.turns[max(0, i - 6) : i]

    def _other_voice(self, run: list[Turn], one: str) -> str | None:
        """Whom ``one`` talks with in a run of replies: whom their lines call by name;
        else the first-person narrator; else the last person who acts in the narration
        just before it ("Jane and Elizabeth were alone"); else whoever spoke last before
        it; else the last person named there. Not across a chapter heading or a scene
        break that sets a new scene with people of its own (one that only goes on with
        the talk does not). In the annotated novels the one who last acted was the other
        voice far more often than the last speaker (who has often left the talk)."""
        called = (
            v for t in run if t.speaker == one and (v := self._vocative(t, lead=True)) and v != one
        )
        other = next(called, None)
        if other is not None:
            return other
        if self.narrator and one != self.narrator:
            return self.narrator  # a first-person narrator is in every scene
        at = run[0].quotes[0].start
        since = max((b for b in self.breaks if b < at), default=-1)
        lo = bisect.bisect_left(self.recent, since, key=lambda r: r.offset)
        hi = bisect.bisect_left(self.recent, at, key=lambda r: r.offset)
        if not any(r.name for r in self.recent[lo:hi]):
            since = -1
        named = [
            r
            for r in self._window(at, 1500)
            if r.name and r.name != one and r.name != self.narrator and r.offset >= since
        ]
        acting = [r for r in named if r.subject]
        if acting:
            return acting[-1].name
        spoke = (
            t.speaker
            for t in reversed(self._turns_before(run[0]))
            if t.speaker
            and t.speaker != one
            and t.speaker != self.narrator
            and at - t.segs[-1].end < 3000
            and t.segs[-1].end > since
        )
        other = next(spoke, None)
        if other is None and named:
            other = named[-1].name
        return other

    def _two_party(self, run: list[Turn]) -> None:
        """A run of replies between two people alternates from every known turn. With
        one speaker known, the other is found by ``_other_voice``."""
        known = [t.speaker for t in run if t.speaker]
        people = list(dict.fromkeys(known))
        if len(people) > 2:
            self._bracketed(run)
            self._with_narrator(run)
            return
        if not known or all(t.speaker for t in run):
            return
        if len(people) == 1:
            other = self._other_voice(run, people[0])
            if other is None:
                return
            people.append(other)
        a, b = people
        idx = [i for i, t in enumerate(run) if t.speaker]
        for i, t in enumerate(run):
            if t.speaker is not None:
                continue
            j = min(idx, key=lambda k: (abs(k - i), k))
            if i > 0 and run[i - 1].speaker in (a, b) and j < i:
                j = i - 1  # a line just placed answers the one before it
            anchor = run[j].speaker
            same = (i - j) % 2 == 0
            guess = anchor if same else (b if anchor == a else a)
            if guess == self._vocative(t):  # "…, Jake": the other one says it
                guess = b if guess == a else a
            t.assign(guess, "conversation")  # type: ignore[arg-type]


@cache
def _speaking_only() -> frozenset[str]:
    """Verbs of speaking only ("nodded", "laughed" are things people do as well)."""
    return speech_verbs() - PERSON_VERBS


def _has_speech_verb(text: str) -> bool:
    verbs = _speaking_only()
    return any(w in verbs for w in re.findall(r"[a-z]+", text))


def _runs(turns: list[Turn]) -> list[list[Turn]]:
    """Maximal stretches of back-to-back dialogue paragraphs."""
    runs: list[list[Turn]] = []
    for t in turns:
        if runs and t.follows_turn:
            runs[-1].append(t)
        else:
            runs.append([t])
    return runs


def _alternate(turns: list[Turn], i: int, step: int) -> str | None:
    """Speaker two turns away when the two neighbouring turns differ and the run of
    adjacent turns is unbroken."""
    j, k = i + step, i + 2 * step
    if not (0 <= k < len(turns)):
        return None
    a, b = turns[j], turns[k]
    adjacent = (
        (turns[i].follows_turn and a.follows_turn)
        if step < 0
        else (a.follows_turn and b.follows_turn)
    )
    if not adjacent or a.speaker is None or b.speaker is None or a.speaker == b.speaker:
        return None
    return b.speaker


def _is_subject(text: str, i: int, end: int) -> bool:
    """Sentence-initial, or followed by a verb a person does ("..., and Tom said")."""
    j = i - 1
    while j >= 0 and text[j] in " \t\"'“‘\n":  # a line break alone is a wrapped line
        if text[j : j + 2] == "\n\n" or text[j : j + 3] == "\n \n":
            return True
        j -= 1
    if j < 0 or text[j] in ".!?;":
        return True
    if _PASSIVE_BY.search(text[max(0, i - 40) : i]):
        return True  # "was scarcely heard by Darcy": the one who acts
    before = text[max(0, i - 12) : i].split()[-1:]
    if before and before[0].lower() in _PREPOSITIONS - {"by"}:
        return False  # "The loss of her daughter made Mrs. Bennet very dull"
    nxt = re.match(r"\s+(?:[a-z]+ly\s+|had\s+|then\s+)?([a-z]+)", text[end : end + 30])
    if nxt is None:
        return False
    return nxt.group(1) in PERSON_VERBS or nxt.group(1) in speech_verbs()


_PASSIVE_BY = re.compile(r"\b(?:was|were|been|being)\s+(?:\w+ly\s+)?\w+\s+by\s*$")
_SUBJECT_PRONOUN = re.compile(r"(?:^|[.!?;]\s+|\band\s+)[\"“]?(?P<p>[Hh]e|[Ss]he)\b")
# Sentence openers that are no part of a name.
_LEADERS = frozenset(
    """when whenever while then but and so though although once meanwhile whereupon if
    now yet still""".split()
)
# Whom a line is said to: "asked me", "turned to Mike", "said to Elizabeth".
_ADDRESS = re.compile(
    r"\b(?:asked|told|(?:said|turned|turning|whispered|called|replied|answered|cried|shouted"
    r"|spoke|muttered|murmured|nodded|smiled|added|continued|went\s+on)"
    rf"(?:\s+(?:he|she|I|{NAME_RE.pattern}))?(?:\s+[a-z]+ly)?\s+to)\s+"
    rf"(?P<who>me\b|{NAME_RE.pattern})"
)
_SILENT = re.compile(
    rf"(?P<who>{NAME_RE.pattern}|\b[Hh]e\b|\b[Ss]he\b|\bI\b)\s+(?:[a-z]+ly\s+)?"
    r"(?:said nothing|said no more|made no (?:answer|reply)|(?:was|remained|kept) silent"
    r"|(?:did not|didn't|could not|couldn't) (?:say anything|answer|reply|speak))\b"
)
# "Daisy's mamma", "the undertaker's wife": an owner and what is theirs.
_POSSESSIVE = re.compile(rf"(?P<owner>{NAME_RE.pattern}|the\s+[a-z]+)['’]s\s+(?P<noun>.+)$")
_TITLE_MENTION = re.compile(r"\b[Tt]he\s+([a-z]+)\b")
_SELF_NAMED = re.compile(
    r"(?:^|[.!?,;]\s+)(?:I\s+am|I'm|I’m|[Mm]y\s+name\s+is)\s+_?"
    rf"(?P<name>{NAME_RE.pattern})_?\s*(?=[,.!?;—–]|$)"
)
_FORMER_LATTER = re.compile(r"\b[Tt]he\s+(former|latter)\b(?!\s+(?:part|half|case|place)\b)")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_GENDERED_ALT = "|".join(sorted(GENDERED_NOUNS, key=len, reverse=True))
_GENDERED_NOUN = re.compile(
    rf"\b(?:[Tt]he|[Hh]is|[Hh]er|[Mm]y|[Tt]heir|[Oo]ur|[Yy]our)\s+(?:[a-z]+\s+)?({_GENDERED_ALT})\b"
)
_NEW_PERSON = re.compile(rf"\b(?:[Aa]n?)\s+(?:[a-z-]+,?\s+){{0,3}}?({_GENDERED_ALT})\b")
# "Jake, …" at the start, or ", Jake." / ", my dear Mr. Bennet?" inside a quote.
_VOCATIVE = re.compile(
    rf"(?:^|[,;!?]\s+)(?:(?:my\s+)?(?:dear|darling|poor|good)\s+)?(?P<name>{NAME_RE.pattern})"
    r"\s*(?=[,.!?;—–]|$)"
)


def _vocatives(text: str) -> Iterator[re.Match[str]]:
    """Names a quote calls someone by. A name alone before a full stop at the start
    is an answer, not a call (``"Georgette." / "What are you called?"``)."""
    for m in _VOCATIVE.finditer(text):
        if m.start("name") == 0 and not re.match(r"\s*[,!?;—–]", text[m.end("name") :]):
            continue
        yield m


_ROLE = r"(?:the\s+)?(?P<role>[a-z]+|[A-Z][a-z]+)"
_APPOS_AFTER = re.compile(
    rf"(?P<name>{NAME_RE.pattern}),\s+{_ROLE}(?:\s+of\s+[^,.;]{{1,40}})?[,.;]"
)
_APPOS_BEFORE = re.compile(rf"\b[Tt]he\s+(?P<role>[a-z]+),\s+(?P<name>{NAME_RE.pattern}),")


def _appositives(text: str, narration: Sequence[Segment]) -> list[tuple[str, str]]:
    """(name, "the role") pairs from appositions in the narration."""
    out: list[tuple[str, str]] = []
    for seg in narration:
        for rx in (_APPOS_AFTER, _APPOS_BEFORE):
            for m in rx.finditer(seg.text):
                role = m.group("role")
                if role.lower() in STOPWORDS or role.lower() in _ANAPHORIC_HEADS:
                    continue
                if rx is _APPOS_AFTER and not (
                    m.group(0).split(",")[1].strip().startswith(("the ", "The "))
                    or " of " in m.group(0)
                ):
                    continue  # "Tobias, slow" is not a role; "Tobias, keeper of..." is
                if _acts(text, role):
                    out.append((m.group("name"), f"the {role}"))
    return out


@lru_cache(maxsize=4)
def _person_nouns(text: str) -> frozenset[str]:
    """Nouns the text uses for people: "the keeper said", "the Jew nodded" (often
    enough: "the house heard" once in a hundred houses is a figure of speech)."""
    verbs = speech_verbs()
    seen: Counter[str] = Counter()
    acts: Counter[str] = Counter()
    for m in re.finditer(
        r"\b(?:([a-z]+)\s+)?[Tt]he\s+([A-Za-z]+)\s+(?:[a-z]+ly\s+)?([a-z]+)", text
    ):
        noun = m.group(2).lower()
        seen[noun] += 1
        # "the keeper nodded", or a tag: "said the keeper gently"
        acts[noun] += m.group(3) in PERSON_VERBS or m.group(3) in verbs or m.group(1) in verbs
    return frozenset(n for n, k in acts.items() if k and 10 * k >= seen[n])


def _acts(text: str, role: str) -> bool:
    """A role is a person's only if the text has one do what people do (not "the
    house, Mrs. Gardiner, …")."""
    role = role.lower()
    return role in GENDERED_NOUNS or role in HONORIFICS or role in _person_nouns(text)


def discover_characters(text: str, segments: Sequence[Segment]) -> list[Character]:
    """Candidate cast from the narration: names that are people (they speak in tags,
    carry honorifics, or do what people do). Those that end up with no line are
    dropped after attribution."""
    stats = WordStats.of(text)
    narration = [s for s in segments if s.kind == "narration"]
    mentions = find_mentions(text, ((s.start, s.end) for s in narration), stats)
    counts: Counter[str] = Counter(m.surface for m in mentions)
    # Full names said in dialogue ("Mike Campbell") join the aliases too.
    quoted = find_mentions(
        text, ((s.start, s.end) for s in segments if s.kind == "dialogue"), stats
    )
    for m in quoted:
        if len(split_honorific(m.surface)[1]) > 1 or split_honorific(m.surface)[0]:
            counts[m.surface] += 1
    person: set[str] = set()
    verbs = speech_verbs()
    for m in mentions:
        # "Nora sat", "Nora quietly said", "Ansel and Nora sat": a person's verb.
        nxt = re.match(
            rf"(?:\s+and\s+{NAME_RE.pattern})?\s+(?:[a-z]+ly\s+)?([a-z]+)", text[m.end : m.end + 60]
        )
        if split_honorific(m.surface)[0] or (
            nxt and (nxt.group(1) in PERSON_VERBS or nxt.group(1) in verbs)
        ):
            person.add(norm(m.surface))
    # Tag subjects are people even when named once (`"Yes," said Ruth`, `said the
    # Gryphon`).
    for seg in narration:
        for tag in (tag_after(seg.text), tag_before(seg.text)):
            who = re.sub(r"^the\s+", "", tag.who) if tag else ""
            if who[:1].isupper() and who.lower() not in PRONOUN_GENDER:
                found = find_mentions(who, [(0, len(who))], stats)
                if not found and tag and who != tag.who:
                    # "said the Duck": capitalised after "the", a name even if the text
                    # also has ducks.
                    name = " ".join(w for w in who.split() if w[:1].isupper())
                    found = [Mention(0, len(name), name, False, True)] if name else []
                for m in found:
                    counts[m.surface] += 1
                    person.add(norm(m.surface))
    # Cluster every name-like form, then keep the clusters that show a person: a person
    # verb or honorific, a known first name, or pronouns that follow the name.
    clusters: list[Cluster] = cluster_names(counts)
    vote_gender(text, mentions, clusters)
    clusters = [
        c
        for c in clusters
        if any(norm(f) in person for f in c.forms)
        or sum(c.gender_votes.values()) >= 2
        or any(first_name_gender(split_honorific(f)[1][0]) != "unknown" for f in c.forms)
    ]
    # Unnamed speakers a tag points at ("said the tinker") are minor characters.
    nominal: Counter[str] = Counter()
    for seg in narration:
        for tag in (tag_after(seg.text), tag_before(seg.text)):
            phrase = clean_nominal(tag.who) if tag else None
            head = _head_noun(phrase) if phrase else ""
            definite = bool(tag) and tag.who.split()[0].lower() == "the"  # type: ignore[union-attr]
            if phrase and head.islower() and not (definite and head in GENDERED_NOUNS):
                nominal[phrase] += 1
    # Characters the text calls "the Hatter" are named so ("Hatter" stays an alias).
    definite = Counter(norm(m.surface) for m in mentions if m.definite)
    out = []
    for c in clusters:
        name, aliases = c.name, sorted(f for f in c.forms if f != c.name)
        the = sum(definite[norm(f)] for f in c.forms)
        if the and not split_honorific(name)[0]:
            if 2 * the > sum(c.forms.values()):
                aliases, name = sorted([*aliases, name]), f"the {name}"
            else:
                aliases = sorted([*aliases, f"the {name}"])
        out.append(Character(name=name, aliases=aliases, gender=cluster_gender(c)))
    index = NameIndex(out)
    # "Tobias Hale, keeper of the light," / "the keeper, Tobias Hale," / "Fagin, the
    # Jew": the role is another name for that person.
    for a, b in _appositives(text, narration):
        owner = index.resolve(a)
        if owner is not None and index.resolve(b) is None:
            next(c for c in out if c.name == owner).aliases.append(b)
    index = NameIndex(out)
    for phrase in sorted(nominal):
        if index.resolve(phrase) is None:
            head = _head_noun(phrase).lower()
            out.append(Character(name=phrase, gender=GENDERED_NOUNS.get(head, "unknown")))
    return out


def _enrich(roster: Sequence[Character], found: Sequence[Character]) -> dict[str, list[str]]:
    """Names the text uses for a reviewed character that the roster doesn't list
    ("Elizabeth Bennet" for a roster "Elizabeth"), for resolving only: a discovered
    cluster that shares an alias with exactly one roster character lends it its forms."""
    index = NameIndex(roster)
    out: dict[str, list[str]] = defaultdict(list)
    for c in found:
        owners = {index.resolve(f) for f in [c.name, *c.aliases]} - {None}
        if len(owners) == 1:
            owner = owners.pop()
            assert owner is not None
            out[owner].extend(f for f in [c.name, *c.aliases] if index.resolve(f) is None)
    return dict(out)


def _narrator_name(text: str, segments: Sequence[Segment], index: NameIndex) -> str | None:
    """The name a first-person narrator goes by: a name the quotes address someone by
    at least five times that the narration, told as "I", hardly ever uses (at most one
    time in ten). A character's name when the cast has one, else the bare word."""
    stats = WordStats.of(text)
    called: Counter[str] = Counter()
    for seg in segments:
        if seg.kind != "dialogue":
            continue
        for m in _vocatives(seg.text):
            word = m.group("name")
            who = index.resolve(word)
            if who is not None:
                called[who] += 1
            elif " " not in word and stats.namelike(word):
                called[word] += 1
    told: Counter[str] = Counter()
    for seg in segments:
        if seg.kind == "narration":
            for m in NAME_RE.finditer(seg.text):
                told[index.resolve(m.group()) or m.group()] += 1
    fits = [(n, k) for n, k in called.items() if k >= 5 and 10 * told[n] <= k]
    return max(fits, key=lambda f: f[1])[0] if fits else None


def attribute(
    text: str,
    segments: Sequence[Segment],
    roster: Sequence[Character] | None = None,
    fixed: Mapping[tuple[int, int], str | None] | None = None,
) -> list[Character]:
    """Fill ``speaker``/``confidence``/``sieve`` on dialogue segments; return the cast.

    With a ``roster`` (a reviewed cast) speakers come only from it; otherwise the cast is
    discovered and trimmed to those who speak. ``fixed`` maps a dialogue span to the
    speaker the user chose; those lines are kept and steer their neighbours.
    """
    narration = [s for s in segments if s.kind == "narration"]
    fixed = fixed or {}
    for s in segments:  # attribution may run again (the TUI re-runs it): start clean
        if s.kind == "dialogue":
            s.continued = s.continued or s.sieve == "continued"
            s.speaker, s.confidence, s.sieve = None, 0.0, None
            if (s.start, s.end) in fixed:
                s.speaker, s.confidence, s.sieve = fixed[(s.start, s.end)], 1.0, "user"
    extra: dict[str, list[str]] = {}
    if roster is not None:
        chars = [Character(c.name, list(c.aliases), c.gender, c.narrator) for c in roster]
        extra = _enrich(chars, discover_characters(text, segments))
    else:
        chars = discover_characters(text, segments)
    known = {c.name for c in chars}
    for name in {v for v in fixed.values() if v and v not in known}:
        chars.append(Character(name=name))
    narrator = next((c.name for c in chars if c.narrator), None)
    if narrator is None and first_person_narrator(narration):
        # The narrator's name is the one the others call them by and the narration
        # never uses ("Jake" in the quotes, "I" outside them): a reviewed cast names
        # them, a discovered one learns the name as an alias.
        named = _narrator_name(text, segments, NameIndex(chars, extra))
        owner = next((c for c in chars if c.name == named), None)
        if owner is not None:
            owner.narrator, narrator = True, owner.name
        else:
            narrator = NARRATOR_NAME
            chars.append(
                Character(name=NARRATOR_NAME, aliases=[named] if named else [], narrator=True)
            )
    attributor = Attributor(
        text, segments, NameIndex(chars, extra), narrator, invent=roster is None
    )
    attributor.run()
    chars.extend(c for c in attributor.invented.values() if c.name not in known)
    lines = Counter(s.speaker for s in segments if s.kind == "dialogue" and s.speaker)
    for c in chars:
        c.lines = lines.get(c.name, 0)
    if roster is None:
        chars = [c for c in chars if c.lines or c.narrator]
    chars.sort(key=lambda c: (not c.narrator, -c.lines, c.name))
    return chars


__all__ = ["CONFIDENCE", "NARRATOR_NAME", "attribute", "discover_characters", "speech_verbs"]
