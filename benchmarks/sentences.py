"""How long splitting a novel into sentences takes: ours, and nltk's Punkt if installed.

Punkt is what the sentence splitter would be if it learnt the story's abbreviations
itself: trained on the story at load (no data download), seeded with our titles, then
asked for offsets. The bar it had to meet was 0.5 s on Pride and Prejudice, training
and splitting together. Prints the seconds (CPU time, the fastest of ``--runs``) and
the sentences each found, and how many of ours Punkt splits the same way.

    python benchmarks/sentences.py ../shared/pdnc/PrideAndPrejudice/novel_text.txt
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from audiobook.text.sentences import sentence_spans
from audiobook.text.titles import ABBREVIATED


def _punkt(text: str) -> list[tuple[int, int]]:
    from nltk.tokenize.punkt import PunktSentenceTokenizer, PunktTrainer

    trainer = PunktTrainer()
    trainer.train(text, finalize=True)
    params = trainer.get_params()
    params.abbrev_types.update(ABBREVIATED)
    return list(PunktSentenceTokenizer(params).span_tokenize(text))


def _time(
    split: Callable[[str], list[tuple[int, int]]], text: str, runs: int
) -> tuple[float, list[tuple[int, int]]]:
    best, spans = float("inf"), []
    for _ in range(runs):
        t = time.process_time()
        spans = split(text)
        best = min(best, time.process_time() - t)
    return best, spans


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("text", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    text = a.text.read_text(encoding="utf-8")
    ours_s, ours = _time(sentence_spans, text, a.runs)
    print(f"ours   {ours_s:6.3f} s  {len(ours)} sentences  ({len(text)} characters)")
    try:
        punkt_s, punkt = _time(_punkt, text, a.runs)
    except ImportError:
        print("punkt  (nltk is not installed: pip install nltk)")
        return
    same = len(set(ours) & set(punkt))
    print(f"punkt  {punkt_s:6.3f} s  {len(punkt)} sentences  ({same} identical spans to ours)")


if __name__ == "__main__":
    main()
