"""The sieves in order: tags, paragraphs, beats, then the conversation."""

from __future__ import annotations

import re

from ..characters import (
    GENDERED_NOUNS,
    NAME_RE,
    PRONOUN_GENDER,
)
from ..model import Segment
from ..text.sentences import clause_texts
from .conversation import Conversation
from .pronoun import PronounTag, choose_pronoun
from .scene import _POSSESSIVE, _SELF_NAMED, BRIDGE, CONFIDENCE, CONTINUE_REACH, Turn
from .tags import (
    _CONTINUING,
    _OPEN_DETERMINERS,
    Tag,
    _head_noun,
    clean_nominal,
    tag_after,
    tag_before,
)


class Attributor(Conversation):
    """Runs the sieves over the paragraphs in order (see the package docstring)."""

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
            self.spoken.append(prev_speaker)
            # Unknown so far: nobody can be said to go on with it.
            last_speaker = (prev_speaker, segs[-1].end) if prev_speaker else None
            if prev_speaker:
                self._remember(segs[-1].end, prev_speaker)
        self._unify_quotations()
        turn_of = {id(q): t for t in turns for q in t.quotes}  # each quote's turn
        if self.invent:
            self._unnamed_speakers(turn_of)
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
        self._salient_fallback(turn_of)

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
            tag, clause, goes_on = self._find_tag(turn, i)
            if goes_on:
                exclude = None
            if tag is None:
                self._self_named(seg)
                continue
            # Only a reply excludes the last speaker: not a later quote of this
            # paragraph, nor the next part of one long quotation.
            first = not any(q.kind == "dialogue" for q in segs[:i]) and not seg.continued
            addressed = self._addressed(seg.text)
            # `"Going to London?" said the strange boy, when Oliver had concluded`:
            # whoever the tag names besides the speaker is not the speaker.
            others = self._named_after(tag, clause)
            addressed = addressed | others
            name, sieve = self._who(tag.who, seg.start, exclude if first else None, addressed)
            g = PRONOUN_GENDER.get(tag.who.strip().lower())
            if g is not None and tag.verb in _CONTINUING:
                # "…," she added: whoever spoke last goes on, if the pronoun fits.
                spoken = [q for q in segs[:i] if q.kind == "dialogue" and q.speaker]
                prior = (spoken[-1].speaker, spoken[-1].end) if spoken else last
                who, end = prior if prior is not None else (None, 0)
                if who is not None and self._goes_on(who, end, g, seg.start, addressed):
                    name, sieve = who, "tag-pronoun"
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
            if name is not None and sieve == "tag-pronoun" and g is not None:
                tag_of = PronounTag(seg.start, seg.end, g, exclude, addressee, frozenset(addressed))
                name = choose_pronoun(self, tag_of, name, self.choice_weights.pronoun)
            if name is not None:
                seg.speaker, seg.sieve, seg.confidence = name, sieve, CONFIDENCE[sieve]
                self._remember(seg.end, name, subject=True)
            elif sieve == "tag-nominal" and (
                tag.who.split()[0].lower() in _OPEN_DETERMINERS or re.match(r"\S+['’]s\s", tag.who)
            ):
                self._someone_on_stage(seg, tag, turn)
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

    def _named_after(self, tag: Tag, clause: str) -> set[str]:
        """Cast members the tag names after "he"/"she"/"the …" (``said the strange boy,
        when Oliver had concluded``): someone other than the speaker."""
        if tag.who.split()[0].lower() not in ("he", "she", "the"):
            return set()
        rest = clause[clause.find(tag.who) + len(tag.who) :] if tag.who in clause else ""
        return {n for m in NAME_RE.finditer(rest) if (n := self.index.resolve(m.group()))}

    def _find_tag(self, turn: Turn, i: int) -> tuple[Tag | None, str, bool]:
        """The tag of the turn's ``i``-th segment (a quote), the sentence it stands in,
        and whether the one who spoke the turn before may be going on."""
        segs, seg = turn.segs, turn.segs[i]
        nxt = segs[i + 1] if i + 1 < len(segs) and segs[i + 1].kind == "narration" else None
        prv = segs[i - 1] if i > 0 and segs[i - 1].kind == "narration" else None
        clause = ""  # the sentence after the quote, where a tag after it stands
        if nxt is not None and self._adjacent(seg, nxt):
            # `"…," Name frowned` or `"…!" pouted Name`; after "!" a capital may
            # start a new sentence (`"Stop!" Mary stared.`).
            open_quote = bool(re.search(r"[,—–\-…]\W*$", seg.text)) or bool(
                re.search(r"[!?]\W*$", seg.text) and re.match(r"\s*[a-z]", nxt.text)
            )
            clause = (clause_texts(nxt.text.strip()) or [""])[0]
            tag = tag_after(nxt.text, open_quote)
            if tag is not None:
                return tag, clause, False
        if prv is not None and self._adjacent(prv, seg):
            tag = tag_before(prv.text)
            if tag is not None:
                return tag, clause, False
        if i == 0 and turn.lead is not None:
            # "...laid aside his book, and said,\n\n"I have often observed..."":
            # older texts put the speech in a paragraph of its own.
            lead = turn.lead.text
            if re.search(r"[,:—–\-]\s*$", lead):
                # "'Certainly,' he replied. … but he soon afterwards said,": the
                # paragraph before was a turn, and its speaker may go on.
                return tag_before(lead), clause, not turn.beat_before
        return None, clause, False

    def _goes_on(
        self, name: str, end: int, gender: str, at: int, addressed: frozenset[str]
    ) -> bool:
        """Whether "she added" at ``at`` is ``name`` (who spoke last, up to ``end``) going
        on: close by, of that sex, not spoken to, and nobody else of that sex came in
        between."""
        return (
            at - end < CONTINUE_REACH
            and self.index.gender(name) == gender
            and name not in addressed
            and not self._someone_else(name, gender, end, at)
        )

    def _someone_on_stage(self, seg: Segment, tag: Tag, turn: Turn) -> None:
        """ "said the stranger", "said her cousin": someone on stage we can't name. The
        conversation may still place the line, but "her cousin" is not whoever "her"
        is; a line nobody places stays unresolved."""
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
            possessor = self._pronoun("male" if owner == "his" else "female", seg.start, None)
            if possessor is not None:
                turn.barred.add(possessor)

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
