"""The scene model: who was mentioned where, and whom a name, a description or a
pronoun points at."""

from __future__ import annotations

import bisect
import itertools
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

from ..characters import (
    GENDERED_NOUNS,
    NAME_RE,
    PERSON_VERBS,
    PRONOUN_GENDER,
    NameIndex,
    norm,
    one_edit,
    split_honorific,
)
from ..model import Character, Segment
from ..text.sentences import clause_texts
from ..text.titles import HONORIFICS
from .scene import (
    _BLANK_LINE,
    _FORMER_LATTER,
    _GENDERED_NOUN,
    _LEADERS,
    _NEW_PERSON,
    _POSSESSIVE,
    _SILENCE_ENDS,
    _SILENT,
    _SUBJECT_PRONOUN,
    _TITLE_MENTION,
    NEWCOMER_REACH,
    SUBJECT_REACH,
    Referent,
    Turn,
    _has_speech_verb,
    _is_subject,
    _vocatives,
)
from .tags import (
    _FAMILY_TITLE,
    _KIN,
    _PAST,
    _SPOUSE,
    _STYLE,
    _STYLES,
    _SUBJECT,
    _VOICE_OF,
    BEAT_NOMINAL,
    _head_noun,
    clean_nominal,
)


@dataclass
class SceneModel:
    """The story as attribution sees it: who was mentioned where (the referents, in
    order), who is on stage, whom a pronoun or a description points at."""

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
    # (scene start, sex) -> the one person of that sex the scene never names
    unnamed: dict[tuple[int, str], str] = field(default_factory=dict)
    spoken: list[str | None] = field(default_factory=list)  # each turn's speaker so far

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
        """Everyone the narration segment mentions, in order, onto ``recent``: names,
        descriptions, titles, "the former"/"the latter", then the pronouns that carry
        them forward."""
        found = self._names_in(seg) + self._descriptions_in(seg) + self._titles_in(seg)
        found += self._former_latter_in(seg, found)
        base = len(self.recent)
        self.recent.extend(sorted(found, key=lambda r: r.offset))
        self._carry_pronouns(seg, base)

    def _names_in(self, seg: Segment) -> list[Referent]:
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
        return found

    def _descriptions_in(self, seg: Segment) -> list[Referent]:
        """Mentions by description: "the young girl", "my father", "a stout old gentleman
        came in"."""
        found: list[Referent] = []
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
        return found

    def _titles_in(self, seg: Segment) -> list[Referent]:
        """Mentions by title ("the count": the one character who holds it) and of a cast
        member known by a description ("the stranger")."""
        found: list[Referent] = []
        for m in _TITLE_MENTION.finditer(seg.text):
            # "I said to the count.": the one character who holds that title
            title = m.group(1).lower()
            holders = self.index.holders(title) if title in HONORIFICS else set()
            # (not "the doctor" when the cast also has someone called "The Doctor")
            if len(holders) == 1 and not self.index.candidates(f"the {title}") - holders:
                holder = next(iter(holders))
                at = seg.start + m.start()
                subject = _is_subject(seg.text, m.start(), m.end())
                found.append(Referent(at, holder, self.index.gender(holder), subject))
        if self.described is not None:
            for m in self.described.finditer(seg.text):
                name = self.index.resolve(f"the {m.group(1)}")
                if name is not None:
                    at = seg.start + m.start()
                    subject = _is_subject(seg.text, m.start(), m.end())
                    found.append(Referent(at, name, self.index.gender(name), subject))
        return found

    def _former_latter_in(self, seg: Segment, found: list[Referent]) -> list[Referent]:
        out: list[Referent] = []
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
                out.append(Referent(at, who, self.index.gender(who), subject))
        return out

    def _carry_pronouns(self, seg: Segment, base: int) -> None:
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
        # The scene has someone of that sex it never names ("the girl", "She"): a
        # pronoun with nobody named in sight is them.
        unnamed = self.unnamed.get((self._scene_start(at), gender))
        if first is not None:
            self.hit = first
            return unnamed if first.name is None and not first.kin and unnamed else first.name
        return unknown or unnamed

    def _silent(self, segs: Sequence[Segment]) -> set[str]:
        """Who the narration says keeps quiet ("Cohn said nothing.", "I did not say
        anything.", "He made no answer."): they don't speak the next line."""
        out: set[str] = set()
        for s in segs:
            for m in _SILENT.finditer(s.text):
                if _SILENCE_ENDS.search(_sentence_around(s.text, m.start(), m.end())):
                    continue
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
        related = self._who_related(w, at, addressed)
        if related is not None:
            return related
        kind = "tag-name" if w[:1].isupper() else "tag-nominal"
        if kind == "tag-nominal" and w.split()[0].lower() in ("the", "a", "an"):
            described = self._who_described(w, at, exclude, addressed)
            if not isinstance(described, str):
                return described
            w = described
        return self._who_named(w, at, kind), kind

    def _who_related(
        self, w: str, at: int, addressed: frozenset[str]
    ) -> tuple[str | None, str] | None:
        """A tag that names someone by their tie to another ("their father", "Daisy's
        mamma", "his wife", "her uncle", "her ladyship"); None if it does not."""
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
            return self._who_kin(kin, at, addressed), "tag-nominal"
        st = _STYLE.match(w.lower())
        if st:
            # "replied her ladyship": whoever in the scene holds such a title.
            holders = set().union(*(self.index.holders(t) for t in _STYLES[st.group(2)]))
            if len(holders) == 1:
                return holders.pop(), "tag-nominal"
            return self._salient(holders, at) if holders else None, "tag-nominal"
        return None

    def _who_kin(self, kin: re.Match[str], at: int, addressed: frozenset[str]) -> str | None:
        """Whom "replied her uncle" means: the one person of that sex in the scene besides
        whoever "her" is, if there is just one."""
        owner = self._pronoun("male" if kin.group(1) == "his" else "female", at, None)
        known = (
            self.index.resolve(f"the {kin.group(2)}")
            if kin.group(2) in ("companion", "visitor", "guest")
            else None
        )
        if known is not None and known != owner and known not in addressed:
            return known  # "said his visitor": the cast's "The Visitor"
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
        return kinsfolk.pop() if len(kinsfolk) == 1 else None

    def _who_described(
        self, w: str, at: int, exclude: str | None, addressed: frozenset[str]
    ) -> tuple[str | None, str] | str:
        """``said the young lady`` / ``said a tall man``: the decision, or the cleaned
        phrase to look up as a name when the description decides nothing."""
        kind = "tag-nominal"
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
        return phrase

    def _who_named(self, w: str, at: int, kind: str) -> str | None:
        """A tag's name (or what is left of a description) looked up in the cast."""
        name = self._resolve_words(w.split())
        if name is None and kind == "tag-name":
            # "said Harry" with two Harrys in the cast: the one in the scene.
            cands = self.index.candidates(w)
            name = self._salient(cands, at) if len(cands) > 1 else None
        if name is None and kind == "tag-name" and re.fullmatch(r"[A-Z][a-z]{4,}", w):
            # "said Charly" for Charley: a one-letter slip of the one name it can be.
            slips = {
                owner
                for key in _one_deleted(w)
                for part, owner in self._name_parts.get(key, ())
                if part[:1] == w[:1] and one_edit(part, w)
            }
            name = slips.pop() if len(slips) == 1 else None
        return name

    @cached_property
    def _name_parts(self) -> dict[str, set[tuple[str, str]]]:
        """Every word of every cast name, filed under itself and each form of it with
        one letter left out: two words one edit apart share a key, so a slip is found
        without comparing it with the whole cast."""
        out: dict[str, set[tuple[str, str]]] = defaultdict(set)
        for c in self.index.characters:
            for form in self.index.forms_of(c.name):
                for part in split_honorific(form)[1]:
                    for key in _one_deleted(part):
                        out[key].add((part, c.name))
        return out

    @cached_property
    def _descriptions_by_word(self) -> dict[str, list[tuple[str, list[str]]]]:
        """Each cast member's descriptive aliases ("the man with the black beard"),
        filed under each of their words."""
        out: dict[str, list[tuple[str, list[str]]]] = defaultdict(list)
        for c in self.index.characters:
            for form in self.index.forms_of(c.name):
                words = norm(form).split()
                if words[:1] == ["the"]:
                    for w in set(words):
                        out[w].append((c.name, words))
        return out

    def _described(self, phrase: str) -> str | None:
        """The one character with a descriptive alias holding every word of
        ``phrase`` in order (a tag may leave a word out of the description)."""
        want = norm(phrase).split()
        by_word = self._descriptions_by_word
        # Only descriptions holding the phrase's rarest word can hold all of it.
        rarest = min(want, key=lambda w: len(by_word.get(w, ())), default=None)
        fits = set()
        for name, words in by_word.get(rarest, []) if rarest is not None else []:
            it = iter(words)
            if all(w in it for w in want):
                fits.add(name)
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

    def _addressed(self, quote: str) -> frozenset[str]:
        """Whom a quote calls by name: nobody speaks to themselves."""
        return frozenset(
            n for m in _vocatives(quote) if (n := self.index.resolve(m.group("name"))) is not None
        )

    def _scene_start(self, at: int) -> int:
        i = bisect.bisect_right(self.breaks, at)
        return self.breaks[i - 1] if i else 0

    def _subjects(self, segs: Sequence[Segment], exclude: str | None) -> set[str | None]:
        """Who the narration's sentences are about: named subjects, and pronoun
        subjects resolved like tags ("She sipped at her glass.")."""
        return set(self._subject_list(segs, exclude))

    def _subject_list(self, segs: Sequence[Segment], exclude: str | None) -> list[str | None]:
        subjects: list[str | None] = []
        for s in segs:
            if s.kind != "narration":
                continue
            found = sorted(
                [*_SUBJECT.finditer(s.text), *_VOICE_OF.finditer(s.text)], key=lambda m: m.start()
            )
            for m in found:
                who = m.group("who") or _VOICE_PRONOUN[m.group("pronoun").lower()]
                at = s.start + m.start("who" if m.group("who") else "pronoun")
                if who == "I":
                    subjects.append(self.narrator)
                elif who.lower() in ("he", "she"):
                    subjects.append(self._pronoun(PRONOUN_GENDER[who.lower()], at, exclude))
                elif who[:1].isupper():
                    name = self.index.resolve(who)
                    if name is not None:
                        subjects.append(name)
                elif who.split()[0] == "the":
                    # "the count poured my glass full": a title or description the
                    # cast answers to (not an epithet that could be anyone).
                    name, kind = self._who(who, at, exclude)
                    if name is not None and kind in BEAT_NOMINAL:
                        subjects.append(name)
        return subjects

    def _acting_in(self, beat: Segment, exclude: str | None) -> str | None:
        """Who acts in the last sentence of a narration segment between two quotes, if
        that sentence is not the tag's own ('"Gadso!" said the undertaker: taking Mr.
        Bumble by the arm') and really does something ("Cohn was gone." does not)."""
        if beat.kind != "narration":
            return None
        text = beat.text.rstrip()
        pieces = clause_texts(text)
        last = pieces[-1] if len(pieces) > 1 else text
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


# "His voice", "her voice": the pronoun subject whose voice it is.
_VOICE_PRONOUN = {"his": "he", "her": "she"}


def _sentence_around(text: str, start: int, end: int) -> str:
    """The sentence of ``text`` that holds ``text[start:end]``."""
    before = max(text.rfind(c, 0, start) for c in ".!?")
    after = [i for i in (text.find(c, end) for c in ".!?") if i >= 0]
    return text[before + 1 : min(after) if after else len(text)]


def _one_deleted(word: str) -> set[str]:
    """The word and every form of it with one letter left out."""
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}
