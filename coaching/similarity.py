"""Which texts say the same kind of thing: rapidfuzz's token-set ratio (0-100; word order
and repeats do not matter), which runs offline in the worker, with no model to download.
A group is a greedy "leader" cluster: the text with most neighbours above the threshold
takes them, then the next.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from rapidfuzz import fuzz, process

SIMILAR = 50  # token-set ratio from which two texts are "the same kind of message"
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "after",
        "again",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "hello",
        "hey",
        "hi",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "just",
        "me",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "please",
        "regards",
        "so",
        "some",
        "than",
        "thank",
        "thanks",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "up",
        "us",
        "was",
        "we",
        "were",
        "what",
        "when",
        "which",
        "who",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "best",
        "dear",
        "kind",
        "team",
    ]
)


def clusters(texts: Sequence[str], *, threshold: int = SIMILAR) -> list[list[int]]:
    """Greedy leader clustering of `texts` by token-set ratio, leaders taken by how many
    neighbours they have; largest group first. O(n²) comparisons, in C."""
    if not texts:
        return []
    scores = process.cdist(
        [t.lower() for t in texts], [t.lower() for t in texts], scorer=fuzz.token_set_ratio
    )
    close = scores >= threshold
    degree = close.sum(axis=1)
    unassigned = set(range(len(texts)))
    groups = []
    for leader in sorted(range(len(texts)), key=lambda i: (-int(degree[i]), i)):
        if leader not in unassigned:
            continue
        members = sorted(i for i in unassigned if close[leader][i])
        groups.append(members)
        unassigned -= set(members)
    return sorted(groups, key=lambda g: (-len(g), g[0]))


def medoid(texts: Sequence[str]) -> int:
    """Index of the text most similar to all the others."""
    scores = process.cdist(texts, texts, scorer=fuzz.token_set_ratio)
    return int(scores.sum(axis=1).argmax())


def suggested_name(texts: Sequence[str]) -> str:
    """Two words that most of the texts share, as an intent name (e.g. referral_intro)."""
    counts: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    for text in texts:
        words = [w for w in re.findall(r"[a-z]{4,}", text.lower()) if w not in STOPWORDS]
        for word in words:
            first_seen.setdefault(word, len(first_seen))
        counts.update(set(words))
    ranked = sorted(counts, key=lambda w: (-counts[w], first_seen[w]))[:2]
    return "_".join(ranked or ["unnamed"])[:90]
