"""Tag phrases: the speech verbs and how a tag next to a quote names its speaker
(``"…," said Bruce``, ``Bruce said, "…"``, ``…, and said,``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from ..characters import (
    NAME_RE,
    PERSON_VERBS,
    STOPWORDS,
)
from ..text.sentences import clause_texts
from ..text.titles import HONORIFICS


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
# A short phrase that opens a sentence before its subject: "Fighting back tears, she
# threw…", "After a moment, he nodded.", "Slowly, Nora stood."
_OPENING = (
    r"(?:(?:[A-Z][a-z]+(?:ing|ly|ed)|After|Before|When|While|As|With|Without|Still|Instead"
    r"|Finally|Then|Now|Once|For|At|In)(?:\s+[\w'’-]+){0,6},\s+)?"
)
_SUBJECT = re.compile(
    rf"(?:^|[.!?]\s+|;\s+|\b[Tt]hen\s+|\b[Aa]nd\s+|\b[Bb]ut\s+)"
    rf"(?!(?:Then|And|But|So|Yet|Or)\s){_OPENING}{_WHO}{_ADV}"
    rf"\s+(?P<verb>[a-z]+)\b"
)
# `Okoro's voice was thin with static.`, `Her voice cracked.`, `His fingers tightened
# around hers.`: whose voice, face or hands the sentence is about is the one acting.
_VOICE_OF = re.compile(
    rf"(?:^|[.!?]\s+|;\s+|\bthen\s+|\band\s+|\bbut\s+)"
    rf"(?:(?P<who>{NAME_RE.pattern})['’]s|(?P<pronoun>[Hh]is|[Hh]er))\s+"
    r"(?:voice|face|eyes|jaw|mouth|lips|fingers|hands?|shoulders|brows?|gaze|smile)\s+"
    r"(?:[a-z]+ly\s+)?(?:[a-z]+ed|was|went)\b"
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
    r"^[\s,;:—–\-]*was\s+(?:the\s+|(?P<pron>his|her)\s+"
    rf"|(?P<owner>{NAME_RE.pattern})['’]s\s+)?(?:[a-z]+\s+){{0,3}}"
    r"(?:answer|reply|rejoinder|response|retort|inquiry|enquiry|question|remark"
    r"|observation|exclamation|language|comment|cry|greeting)\b"
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
        if reply.group("who") or reply.group("owner"):
            # "was Sir Walter's cold suspicious inquiry"
            return Tag(reply.group("who") or reply.group("owner"), "answered")
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
    # whom the speech is for, as an object: "ask her niece:", "told him:", "asked Jane,"
    r"(?:\s+(?:him|her|them|me|us|(?:his|her|their|the)\s+[a-z]+|[A-Z][a-z]+)(?=\s*[,:]))?"
    r"(?:,?\s+(?:in|with)\s+[^,.;:!?\"“]{1,40})?\s*[,:]?[\s—–\-]*$"
)
_CLAUSE_WHO = re.compile(rf"(?P<who>{NAME_RE.pattern}|\b[Hh]e\b|\b[Ss]he\b|\bI\b)")


# `Then said Mr. Bennet,` / `thus spoke Mary:` — verb first, where nothing before it in
# the clause could be its subject (else `and asked Mary:` would make Mary speak).
_PRE_INVERTED = re.compile(
    rf"(?:^|[.!?;]\s+|\b(?:[Tt]hus|[Tt]hen|[Ss]o|[Hh]ere)\s+)(?P<verb>[a-z]+)\s+"
    rf"(?P<who>{NAME_RE.pattern})\s*[,:]?[\s—–\-]*$"
)


def tag_before(narr: str) -> Tag | None:
    tail = narr[-160:]
    inverted = _PRE_INVERTED.search(tail)
    if (
        inverted
        and inverted.group("verb") in speech_verbs()
        and inverted.group("who").split()[0].lower() not in STOPWORDS
    ):
        return Tag(inverted.group("who"), inverted.group("verb"))
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
    pieces = clause_texts(narr[: end.start()]) or [""]
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
