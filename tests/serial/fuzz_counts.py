"""Counts of hypothesis examples actually executed, reported at the end of the run."""

from collections import Counter

COUNTS: Counter[str] = Counter()
