"""Conversation: lines placed from the turns around them."""

from __future__ import annotations

import bisect
import itertools
import re
from collections import Counter
from collections.abc import Mapping
from functools import cached_property

from ..characters import (
    GENDERED_NOUNS,
    split_honorific,
)
from ..model import Character, Segment
from ..text.titles import HONORIFICS
from .confidence import Weights, load_weights
from .model import SceneModel
from .partner import choose_other_voice, count_partners
from .scene import (
    _ADDRESS,
    _PERSON_NOUN,
    _UNNAMED_NOUNS,
    CONFIDENCE,
    NEWCOMER_REACH,
    OPEN_REACH,
    SALIENT_REACH,
    Turn,
    _alternate,
    _runs,
    _vocatives,
)

# Speech the narration reports ("said that she did not know", "asked whether it was
# far"): its speaker has just had a turn.
_REPORTED = re.compile(
    r"\b(?:said|replied|answered|observed|remarked|declared|explained|admitted|agreed"
    r"|added|protested|assured \w+)(?:,?\s+[^.;!?\"“”]{0,40}?,)?\s+that\b"
    r"|\basked(?:\s+\w+)?\s+(?:whether|if)\b"
)


class Conversation(SceneModel):
    """Turns between tagged lines: replies, alternation, the other voice of a run."""

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
        for k, q in enumerate(turn.quotes):
            for m in _vocatives(q.text, after_tag=k > 0):
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
                guess = self._beat_guess(t, asked)
                if guess is not None:
                    t.assign(guess, "previous-beat")
        self.turns = turns
        runs = _runs(turns)
        for run in runs:
            self._two_party(run)
        for earlier, run in itertools.pairwise(runs):
            self._bridge(earlier, run)

    def _beat_guess(self, t: Turn, asked: str | None = None) -> str | None:
        """Who the narration paragraph just before a bare quote is about (``asked``:
        who spoke the turn before it)."""
        # "She sipped at her glass." then a bare quote: she says it.
        subjects = self._subjects(t.beat_before[-1:], None) - {self.narrator}
        seq = self._subject_list(t.beat_before[-1:], None)
        if self.narrator and seq and seq[-1] == self.narrator:
            # "Bill was on the balcony. I stood beside him.": I speak next.
            subjects = {self.narrator}
        if _REPORTED.search(t.beat_before[-1].text):
            # "Helen … said that she did not know." has had her say: the quote after
            # it answers her, from whoever spoke before her.
            reporter = seq[-1] if len(subjects) == 1 and seq else None
            if reporter is None or asked in (None, reporter) or asked == self._vocative(t):
                return None
            return asked
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

    @cached_property
    def turn_index(self) -> dict[int, int]:
        """Where each turn stands in ``self.turns``, by identity (read once the turns
        are all known: the conversation sieves are the first to ask)."""
        return {id(t): k for k, t in enumerate(self.turns)}

    @cached_property
    def partner_counts(self) -> dict[str, Counter[str]]:
        """Who traded tagged lines with whom, counted when the other-voice choice
        first asks (after the tag sieves, before the conversation fills gaps)."""
        return count_partners(self.turns)

    def _turns_before(self, turn: Turn) -> list[Turn]:
        """The few turns just before ``turn``."""
        i = self.turn_index[id(turn)]
        return self.turns[max(0, i - 6) : i]

    def _other_voice(self, run: list[Turn], one: str) -> str | None:
        """Whom ``one`` talks with in a run of replies: the hand rule's pick weighed
        against the other cues by the fitted table (``partner.py``)."""
        rule = self._other_voice_rule(run, one)
        return choose_other_voice(self, run, one, rule, self.choice_weights.other_voice)

    @cached_property
    def choice_weights(self) -> Weights:
        """The fitted tables, read once per attribution run (not once per decision)."""
        return load_weights()

    def _other_voice_rule(self, run: list[Turn], one: str) -> str | None:
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
        since = self._scene_start(at - 1)  # the last break before the run
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
        # Parity runs from the lines a tag placed when there are any: a guessed line
        # (a beat, a vocative) that is wrong would carry its error into the gap.
        idx = [i for i in idx if _tagged_turn(run[i])] or idx
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

    def _last_of_sex(
        self, at: int, gender: str, barred: frozenset[str], reach: int = OPEN_REACH
    ) -> str | None:
        for r in reversed(self.recent[: self._index_at(at)]):
            if at - r.offset > reach:
                return None
            if r.name and r.gender == gender and r.name not in barred | {self.narrator}:
                return r.name
        return None

    def _unnamed_speakers(self, turn_of: Mapping[int, Turn]) -> None:
        """`"Who are you?" he asked.` with no man named anywhere before: someone the
        story never names, who gets a voice of their own ("He", "She") before the
        conversation alternates with them."""
        for seg, g, barred in self.open_sex:
            if seg.speaker is not None or self._last_of_sex(seg.start, g, barred):
                continue
            untold = self._last_of_sex(seg.start, "unknown", barred, SALIENT_REACH)
            if untold is not None:
                # "the younger man protested" beside a Jun and a Kaito whose sex the
                # text never told: one of them, not a stranger.
                seg.speaker, seg.sieve = untold, "tag-sex-untold"
                seg.confidence = CONFIDENCE["tag-sex-untold"]
                continue
            # One scene's unnamed man is one man, however the text goes on to call him.
            scene = (self._scene_start(seg.start), g)
            name = self.unnamed.get(scene) or self._unnamed_label(seg.start, g)
            self.unnamed[scene] = name
            if name not in self.invented:
                self.invented[name] = Character(name=name, gender=g)  # type: ignore[arg-type]
            turn = turn_of.get(id(seg))
            if turn is not None:
                turn.assign(name, "unnamed")
            else:
                seg.speaker, seg.sieve, seg.confidence = name, "unnamed", CONFIDENCE["unnamed"]
        if self.unnamed:
            self._unnamed_beats(turn_of)

    def _unnamed_beats(self, turn_of: Mapping[int, Turn]) -> None:
        """`"Hey." She bumps my shoulder.`: now that the scene's unnamed woman has a
        voice, a beat whose one subject is her says the line is hers (the beat sieve
        could not tell whom "She" meant while nobody of her sex had a name)."""
        invented = set(self.unnamed.values())
        for turn in {id(t): t for t in turn_of.values()}.values():
            if turn.speaker is not None:
                continue
            subjects = set(self._subject_list(turn.segs, None))
            if len(subjects) == 1 and subjects <= invented:
                turn.assign(subjects.pop(), "beat")  # type: ignore[arg-type]

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

    def _salient_fallback(self, turn_of: Mapping[int, Turn]) -> None:
        """A line no rule could place is, more often than not, spoken by the person the
        story mentioned last who did not speak the line before and is not spoken to
        (the narrator's voice is wrong for it every time)."""
        sexed = {id(seg) for seg, _, _ in self.open_sex}  # "she said": had their chance
        prev: Segment | None = None
        by_paragraph: dict[int, str] = {}
        for seg in self.segments:
            if seg.kind != "dialogue":
                continue
            if seg.speaker is None and seg.sieve is None and id(seg) not in sexed:
                name = by_paragraph.get(seg.paragraph)
                if name is None:
                    turn = turn_of.get(id(seg))
                    name = self._last_mentioned(seg, prev, turn.barred if turn else set())
                if name is not None:
                    seg.speaker, seg.sieve = name, "salient"
                    seg.confidence = CONFIDENCE["salient"]
                    by_paragraph[seg.paragraph] = name
            if seg.speaker is not None:
                prev = seg

    def _last_mentioned(self, seg: Segment, prev: Segment | None, silent: set[str]) -> str | None:
        barred = silent | self._addressed(seg.text)
        if prev is not None and prev.paragraph != seg.paragraph and prev.speaker:
            barred.add(prev.speaker)
        for r in reversed(self.recent[: self._index_at(seg.start)]):
            if seg.start - r.offset > SALIENT_REACH or r.offset < self._scene_start(seg.start):
                break
            if r.name and r.name not in barred:
                return r.name
        return None


def _tagged_turn(turn: Turn) -> bool:
    """A turn whose speaker a tag (or the user) gave."""
    return any((q.sieve or "").startswith(("tag", "user")) for q in turn.quotes if q.speaker)
