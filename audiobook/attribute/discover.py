"""The cast from the text alone: names that act as people, their aliases and gender,
plus the names a reviewed roster may lend for resolving."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from functools import lru_cache

from ..characters import (
    GENDERED_NOUNS,
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
    known_first_name,
    nominal_genders,
    norm,
    note_places,
    share_a_name,
    split_honorific,
    vote_gender,
)
from ..model import Character, Segment
from ..text.titles import HONORIFICS
from .scene import _vocatives
from .tags import (
    _ANAPHORIC_HEADS,
    Tag,
    _head_noun,
    clean_nominal,
    speech_verbs,
    tag_after,
    tag_before,
)

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
    heard = {m.surface for m in quoted} - set(counts)  # never in the narration
    for m in quoted:
        if len(split_honorific(m.surface)[1]) > 1 or split_honorific(m.surface)[0]:
            counts[m.surface] += 1
    person = _acting_people(text, mentions)
    # Every narration segment's tags, and the names their subjects hold, read once for
    # the passes that use them.
    placed = [
        (s.paragraph, t) for s in narration for t in (tag_after(s.text), tag_before(s.text)) if t
    ]
    tags = [t for _, t in placed]
    names = [_subject_names(t, stats) for t in tags]
    _count_tag_subjects(names, counts, person)
    # Cluster every name-like form, then keep the clusters that show a person: a person
    # verb or honorific, a known first name, or pronouns that follow the name.
    clusters: list[Cluster] = cluster_names(counts, heard, _answering(placed, names))
    vote_gender(text, mentions, clusters)
    note_places(text, mentions, clusters)
    clusters = [
        c
        for c in clusters
        if not c.place
        and (
            any(norm(f) in person for f in c.forms)
            or sum(c.gender_votes.values()) >= 2
            or any(first_name_gender(split_honorific(f)[1][0]) != "unknown" for f in c.forms)
            # A first name only the census lists know ("Otis") needs a pronoun too.
            or (sum(c.gender_votes.values()) >= 1 and any(map(_census_first, c.forms)))
        )
    ]
    out = _named_characters(clusters, mentions)
    _add_roles(text, narration, out)
    return out + _unnamed_speakers(text, tags, NameIndex(out))


def _census_first(form: str) -> bool:
    return known_first_name(split_honorific(form)[1][0])


def _acting_people(text: str, mentions: Sequence[Mention]) -> set[str]:
    """Names (normalised) that carry a title or do what people do."""
    person: set[str] = set()
    verbs = speech_verbs()
    for m in mentions:
        # "Nora sat", "Nora quietly said", "Ansel and Nora sat": a person's verb.
        nxt = re.match(
            rf"(?:\s+and\s+{NAME_RE.pattern})?\s+(?:[a-z]+ly\s+)?([a-z]+)", text[m.end : m.end + 60]
        )
        if (
            split_honorific(m.surface)[0]
            or (nxt and (nxt.group(1) in PERSON_VERBS or nxt.group(1) in verbs))
            or _BODY_OF.match(text, m.end - 2 if text[m.end - 2 : m.end] in ("'s", "’s") else m.end)
        ):
            person.add(norm(m.surface))
    return person


# "Okoro's voice", "Corvin's jaw": only a person has one (a town has streets, not eyes).
_BODY_OF = re.compile(
    r"['’]s\s+(?:voice|face|eyes|jaw|mouth|lips|shoulders?|fingers|brow|gaze|cheeks)\b"
)


def _subject_names(tag: Tag, stats: WordStats) -> list[Mention]:
    """The names a tag's subject holds (`"Yes," said Ruth`, `said the Gryphon`); none
    for a pronoun or a lower-case description."""
    who = re.sub(r"^the\s+", "", tag.who)
    if not who[:1].isupper() or who.lower() in PRONOUN_GENDER:
        return []
    found = find_mentions(who, [(0, len(who))], stats)
    if not found and who != tag.who:
        # "said the Duck": capitalised after "the", a name even if the text also has
        # ducks.
        name = " ".join(w for w in who.split() if w[:1].isupper())
        found = [Mention(0, len(name), name, False, True)] if name else []
    return found


def _count_tag_subjects(
    named: Sequence[list[Mention]], counts: Counter[str], person: set[str]
) -> None:
    """Tag subjects are people even when named once (`"Yes," said Ruth`, `said the
    Gryphon`)."""
    for found in named:
        for m in found:
            counts[m.surface] += 1
            person.add(norm(m.surface))


REPLIES_APART = 2  # names whose tags reply to each other this often are two people


def _answering(
    placed: Sequence[tuple[int, Tag]], names: Sequence[list[Mention]]
) -> set[frozenset[str]]:
    """Pairs of names (normalised) whose tags reply to each other, one paragraph
    straight after the other, at least twice (A then B then A is two replies): one is
    talking to the other, so they are two people even where the names could be one
    ("Miss Steele" and "Lucy", beside a "Lucy Steele"). ``placed``: each tag and its
    paragraph; ``names``: the names each tag's subject holds."""
    named: dict[int, set[str]] = defaultdict(set)
    for (par, tag), found in zip(placed, names, strict=True):
        if tag.who[:1].isupper():  # not a description ("said the Duck")
            named[par].update(m.surface for m in found)
    replies: Counter[frozenset[str]] = Counter()
    for par, here in named.items():
        after = named.get(par + 1, set())
        if len(here) == 1 == len(after):
            (first,), (second,) = here, after
            # Not "Kemp" and "Dr. Kemp", nor "Lizzy" and "Elizabeth": a narrator varies
            # one man's name while he talks on alone.
            if not share_a_name(first, second):
                replies[frozenset((norm(first), norm(second)))] += 1
    return {pair for pair, k in replies.items() if k >= REPLIES_APART}


def _named_characters(clusters: Sequence[Cluster], mentions: Sequence[Mention]) -> list[Character]:
    """A character per cluster; one the text calls "the Hatter" is named so ("Hatter"
    stays an alias)."""
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
    return out


def _add_roles(text: str, narration: Sequence[Segment], out: list[Character]) -> None:
    """Roles in apposition are other names for the person: "Tobias Hale, keeper of the
    light," / "the keeper, Tobias Hale," / "Fagin, the Jew"."""
    index = NameIndex(out)
    for a, b in _appositives(text, narration):
        owner = index.resolve(a)
        aliases = next(c for c in out if c.name == owner).aliases if owner else []
        if owner is not None and index.resolve(b) is None and b not in aliases:
            aliases.append(b)  # (once: a role repeated a thousand times is one alias)


def _unnamed_speakers(text: str, tags: Sequence[Tag], index: NameIndex) -> list[Character]:
    """Unnamed speakers a tag points at ("said the tinker") are minor characters."""
    nominal: Counter[str] = Counter()
    for tag in tags:
        phrase = clean_nominal(tag.who)
        head = _head_noun(phrase) if phrase else ""
        definite = tag.who.split()[0].lower() == "the"
        if phrase and head.islower() and not (definite and head in GENDERED_NOUNS):
            nominal[phrase] += 1
    told = nominal_genders(text, nominal)
    out = []
    for phrase in sorted(nominal):
        if index.resolve(phrase) is None:
            head = _head_noun(phrase).lower()
            gender = GENDERED_NOUNS.get(head) or told.get(phrase.lower(), "unknown")
            out.append(Character(name=phrase, gender=gender))
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


def _calendar(word: str) -> bool:
    """ "Tuesdays," opening an answer is a day, not whom the line is said to."""
    w = word.lower()
    return w in STOPWORDS or w.removesuffix("s") in STOPWORDS


NARRATOR_CALL_EVERY = 25_000  # chars of text per call that names a first-person narrator


def _narrator_name(text: str, segments: Sequence[Segment], index: NameIndex) -> str | None:
    """The name a first-person narrator goes by: a name the quotes address someone by
    at least five times (once in a short story, one more per 25,000 characters) that
    the narration, told as "I", hardly ever uses (at most one time in ten). A
    character's name when the cast has one, else the bare word."""
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
            elif " " not in word and stats.namelike(word) and not _calendar(word):
                called[word] += 1
    told: Counter[str] = Counter()
    for seg in segments:
        if seg.kind == "narration":
            for m in NAME_RE.finditer(seg.text):
                told[index.resolve(m.group()) or m.group()] += 1
    # A short story calls its narrator by name once or twice, a novel dozens of times.
    enough = min(5, 1 + len(text) // NARRATOR_CALL_EVERY)
    # Called only a few times, it must at least be a first name ("Kit", not "Landlord?").
    fits = [
        (n, k)
        for n, k in called.items()
        if k >= enough and 10 * told[n] <= k and (k >= 5 or known_first_name(n.split()[-1]))
    ]
    return max(fits, key=lambda f: f[1])[0] if fits else None
