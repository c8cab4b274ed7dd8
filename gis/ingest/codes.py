"""Duplicate codes across a whole file, in a few bytes a row.

A file of a million rows must not hold a million strings in memory just to
tell that row 812,345 repeats the code of row 17.  :class:`SeenCodes` keeps
two independent 64-bit hashes of each code and the row it was first seen on:
20 bytes a row, sorted for lookups, checked a chunk at a time with no Python
step per row.  Two different codes would have to agree on both hashes (128
bits; about one chance in 10^26 for a million codes) to be taken for one.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

_KEY = "pingan-codes-2nd"  # pandas' hash key: 16 bytes, fixed


class SeenCodes:
    """The codes of the rows read so far, with the row each was first on."""

    def __init__(self):
        self._first = np.empty(0, dtype=np.uint64)  # sorted
        self._second = np.empty(0, dtype=np.uint64)
        self._row = np.empty(0, dtype=np.uint32)  # line numbers

    def __len__(self) -> int:
        return len(self._first)

    def duplicates(self, codes, numbers) -> list[tuple[int, str, str]]:
        """``(position, 'code', reason)`` for each code of this chunk already
        seen (earlier in the file or in the chunk); remembers the new ones.

        Parameters
        ----------
        codes : array of str or None
            None (an empty cell) is never a duplicate.
        numbers : sequence of int
            Row numbers of the chunk, for the message and for later chunks.
        """
        codes = np.asarray(codes, dtype=object)
        present = np.flatnonzero(np.not_equal(codes, None))
        if not present.size:
            return []
        text = codes[present]
        first = np.fromiter(map(hash, text), dtype=np.int64, count=len(text))
        first = first.view(np.uint64)
        second = pd.util.hash_array(text, hash_key=_KEY, categorize=False)
        rows = np.asarray(numbers, dtype=np.uint32)[present]
        # Within the chunk: group equal codes, the earliest row first.
        order = np.lexsort((rows, second, first))
        f, s, r = first[order], second[order], rows[order]
        lead = np.ones(len(order), dtype=bool)
        lead[1:] = (f[1:] != f[:-1]) | (s[1:] != s[:-1])
        group = np.cumsum(lead) - 1
        original = r[lead][group]  # row of each group's first occurrence
        # Against earlier chunks: a group whose code was seen points there.
        before = self._lookup(f[lead], s[lead])
        seen = before >= 0
        original = np.where(seen[group], before[group], original)
        repeat = ~lead | seen[group]
        new = lead & ~seen[group]
        self._remember(f[new], s[new], r[new])
        problems = []
        for k in np.flatnonzero(repeat):
            i = int(present[order[k]])
            code, row = codes[i], int(original[k])
            problems.append((i, "code", (
                f"编码 {code} 重复（第一次在第 {row} 行） / duplicate code "
                f"{code} (first at row {row})"
            )))  # fmt: skip
        return problems

    def _lookup(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """Row of each (first, second) hash pair seen before, else -1."""
        found = np.full(len(first), -1, dtype=np.int64)
        low = np.searchsorted(self._first, first, side="left")
        high = np.searchsorted(self._first, first, side="right")
        for i in np.flatnonzero(high > low):  # a 64-bit match: rare but for repeats
            match = np.flatnonzero(self._second[low[i] : high[i]] == second[i])
            if match.size:
                found[i] = self._row[low[i] + match[0]]
        return found

    def _remember(self, first, second, rows) -> None:
        """Merge new codes in (sorted already by ``first``): one copy, no sort
        of what was there."""
        at = np.searchsorted(self._first, first)
        self._first = np.insert(self._first, at, first)
        self._second = np.insert(self._second, at, second)
        self._row = np.insert(self._row, at, rows)
