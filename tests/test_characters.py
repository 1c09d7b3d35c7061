"""Name discovery and clustering: who the characters are, apart from who speaks."""

from __future__ import annotations

import random
import time
from collections import Counter

from audiobook.characters import cluster_names


def _pseudo_names(n: int) -> Counter[str]:
    """``n`` distinct invented names, bare, titled and full, as a story with a huge cast
    (or a page of capitalised noise) would give."""
    rng = random.Random(7)
    syllables = "ka ri mo ven tal os bri du lan fe gor ith ul ze phar nim ast cor".split()
    out: Counter[str] = Counter()
    while len(out) < n:
        word = "".join(rng.choice(syllables) for _ in range(4)).title()
        other = "".join(rng.choice(syllables) for _ in range(4)).title()
        form = rng.choice([word, f"Mr. {word}", f"{word} {other}", f"Miss {word} {other}"])
        out[form] += rng.randint(1, 5)
    return out


def test_clustering_many_distinct_names_is_not_quadratic() -> None:
    # Comparing every name with every other took about 16 s for 2,000 forms; filed by
    # their words, they take a few hundredths of a second.
    counts = _pseudo_names(2000)
    start = time.process_time()
    clusters = cluster_names(counts)
    assert time.process_time() - start < 0.5
    assert sum(len(c.forms) for c in clusters) == len(counts)


def test_indexed_clustering_still_joins_what_it_should() -> None:
    counts = Counter(
        {"Elizabeth Bennet": 5, "Lizzy": 9, "Miss Elizabeth": 2, "Mr. Brownlow": 30,
         "Mr. Browlow": 1, "Fitzwilliam Darcy": 1, "Mr. Darcy": 40, "Darcy": 50,
         "Mrs. Bennet": 20, "Jane Bennet": 4, "Miss Bennet": 6}
    )  # fmt: skip
    home = {f: i for i, c in enumerate(cluster_names(counts)) for f in c.forms}
    assert home["Lizzy"] == home["Miss Elizabeth"] == home["Elizabeth Bennet"]
    assert home["Mr. Browlow"] == home["Mr. Brownlow"]  # a one-letter slip
    assert home["Darcy"] == home["Mr. Darcy"] == home["Fitzwilliam Darcy"]
    # A surname several Bennets share names none of them.
    assert len({home["Mrs. Bennet"], home["Miss Bennet"], home["Jane Bennet"]}) == 3
