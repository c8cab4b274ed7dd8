"""Getis-Ord Gi* hot and cold spots on a square grid, and emerging hot spots.

Plain numpy over arrays that SQL feeds (:mod:`gis.hotspots`): testable without
a database, checked against PySAL esda's ``G_Local`` (``star=True``,
``transform="B"``) in ``tests/test_hotspots.py`` and
``scripts/bench_leadership.py``.

Weights: a bin's neighbourhood is itself and its eight surrounding squares
(queen contiguity on the grid, binary weights, self weight 1), as esda's
``G_Local(y, w, transform="B", star=True)`` uses them.

Inference (:func:`gi_star`):

- ``z``: the analytic Gi* z-score (Getis & Ord 1992/1995; the same moments as
  esda).
- ``p_sim``: conditional permutation, as esda's: each bin keeps its own value
  and draws its neighbours' values at random from the other bins, ``P``
  times; ``p_sim`` is the share of draws as extreme as observed in the
  observed direction, ``(min(larger, P - larger) + 1) / (P + 1)``.  The draws
  are shared by all bins (esda's trick too), which makes the whole run one
  sort and a searchsorted: a draw of ``k`` values from all ``n`` bins in
  which the bin itself was drawn uses the next value drawn instead, so every
  bin still gets a uniform draw from the others.  Seeded: the same data and
  seed give the same answer.
- ``z_sim``, ``p``: the observed value against the mean and standard
  deviation of the draws (esda's ``z_sim``), and its two-sided normal p.
- ``q``: Benjamini-Hochberg false-discovery-rate adjusted ``p``.  Not of
  ``p_sim``: with 999 draws no pseudo p is below 0.001, and over 10,000 bins
  BH then passes nothing unless 200 bins reach that floor.
- ``level``: +3/+2/+1 hot spot with 99/95/90 % confidence (``q`` at most
  0.01/0.05/0.10 and ``z_sim > 0``), -3/-2/-1 cold spot, 0 not significant.

Emerging hot spots (:func:`emerging`): a space-time cube of bins by months;
Gi* z per bin and month (analytic, with the FDR correction per month, as
ArcGIS's Emerging Hot Spot Analysis does), a Mann-Kendall trend test of each
bin's z series, and the categories of ArcGIS Pro's "How Emerging Hot Spot
Analysis works" (see :data:`CATEGORIES`).  ArcGIS also counts the previous
time step's bins as neighbours; here the neighbourhood is spatial only.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

# The eight surrounding squares: queen contiguity.
_OFFSETS = [(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if dx or dy]
CONFIDENCE = ((3, 0.01), (2, 0.05), (1, 0.10))
"""(level, largest FDR-adjusted p) for 99, 95 and 90 % confidence."""


def neighbours(cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
    """Index of each bin's queen neighbours among the bins, ``-1`` where that
    square is not a bin: an ``(n, 8)`` integer array.

    >>> neighbours(np.array([0, 1, 5]), np.array([0, 0, 5])).max(axis=1).tolist()
    [1, 0, -1]
    """
    cx, cy = np.asarray(cx, np.int64), np.asarray(cy, np.int64)
    if cx.shape != cy.shape or cx.ndim != 1:
        raise ValueError(
            f"cx and cy must be 1-d of one length, got {cx.shape} {cy.shape}"
        )
    key = (cx << 32) + (cy & 0xFFFFFFFF)
    order = np.argsort(key)
    keys = key[order]
    if len(keys) > 1 and (np.diff(keys) == 0).any():
        raise ValueError("bins must be distinct squares (a (cx, cy) repeats)")
    out = np.full((len(cx), len(_OFFSETS)), -1, dtype=np.int64)
    for k, (dx, dy) in enumerate(_OFFSETS):
        want = ((cx + dx) << 32) + ((cy + dy) & 0xFFFFFFFF)
        at = np.searchsorted(keys, want)
        at[at == len(keys)] = 0
        found = keys[at] == want
        out[found, k] = order[at[found]]
    return out


def _lag(y: np.ndarray, nb: np.ndarray) -> np.ndarray:
    """Sum of each bin's neighbours' values (itself excluded)."""
    padded = np.append(y, 0)  # index -1 reads the 0
    return padded[nb].sum(axis=-1)


def _z(y: np.ndarray, nb: np.ndarray, lag: np.ndarray) -> np.ndarray:
    """Analytic Gi* z-scores (binary weights, self included): esda's moments.
    ``y`` may be ``(n,)`` or ``(t, n)`` (one row per period)."""
    n = y.shape[-1]
    total = y.sum(axis=-1, keepdims=True)
    card = (nb >= 0).sum(axis=1) + 1.0
    mean = total / n
    variance = (y**2).sum(axis=-1, keepdims=True) / n - mean**2
    with np.errstate(divide="ignore", invalid="ignore"):
        g = (lag + y) / total
        expected = card / n
        var = card * (n - card) / (n - 1) / n**2 * variance / mean**2
        z = (g - expected) / np.sqrt(var)
    return np.where(np.isfinite(z), z, 0.0)


def bh_adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values) of a 1-d array.

    >>> bh_adjust(np.array([0.01, 0.04, 0.03, 0.5])).round(3).tolist()
    [0.04, 0.053, 0.053, 0.5]
    """
    p = np.asarray(p, dtype=float)
    n = len(p)
    if n == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(q, 1.0)
    return out


def _levels(z: np.ndarray, q: np.ndarray) -> np.ndarray:
    level = np.zeros(z.shape, dtype=np.int8)
    for value, alpha in reversed(CONFIDENCE):
        level[q <= alpha] = value
    return np.where(z > 0, level, -level).astype(np.int8)


@dataclass
class GiStar:
    """One Gi* run: arrays aligned with the bins given."""

    z: np.ndarray  # analytic
    z_sim: np.ndarray  # against the permutations' mean and deviation
    p_sim: np.ndarray  # pseudo p, one-sided in the observed direction
    p: np.ndarray  # two-sided, of z_sim: what the FDR correction adjusts
    q: np.ndarray
    level: np.ndarray
    permutations: int
    seed: int


def _draws(rng, n: int, permutations: int, k: int) -> np.ndarray:
    """``permutations`` rows of ``k`` distinct bin indices, uniform."""
    draws = rng.integers(0, n, size=(permutations, k))
    while True:
        s = np.sort(draws, axis=1)
        repeat = (s[:, 1:] == s[:, :-1]).any(axis=1)
        if not repeat.any():
            return draws
        draws[repeat] = rng.integers(0, n, size=(int(repeat.sum()), k))


def gi_star(
    y, cx, cy, permutations: int = 999, seed: int = 12345
) -> GiStar:
    """Getis-Ord Gi* of ``y`` on the squares ``(cx, cy)``, with conditional
    permutation inference and the FDR correction (see the module docstring).

    Parameters
    ----------
    y : array_like
        The value of each bin (counts, or rates), ``n >= 3``.
    cx, cy : array_like of int
        Each bin's square on the grid: distinct.
    permutations : int
        Random draws per bin (0: analytic z only, ``p_sim`` from the normal
        distribution).
    seed : int
        Seed of the draws.

    Returns
    -------
    GiStar
    """
    y = np.asarray(y, dtype=float)
    if y.ndim != 1 or len(y) < 3:
        raise ValueError(f"y must be 1-d with at least 3 bins, got shape {y.shape}")
    if not np.isfinite(y).all() or (y < 0).any():
        raise ValueError("y must be finite and not negative")
    if permutations < 0:
        raise ValueError(f"permutations must be >= 0, got {permutations}")
    nb = neighbours(cx, cy)
    if len(nb) != len(y):
        raise ValueError(f"{len(y)} values for {len(nb)} bins")
    lag = _lag(y, nb)
    z = _z(y, nb, lag)
    if permutations:
        p_sim, z_sim = _permute(y, nb, lag, permutations,
                                np.random.default_rng(seed))  # fmt: skip
    else:
        p_sim, z_sim = normal_sf(np.abs(z)), z
    p = normal_sf(np.abs(z_sim))  # two-sided
    q = bh_adjust(p)
    return GiStar(z, z_sim, p_sim, p, q, _levels(z_sim, q), permutations, seed)


def _permute(y, nb, lag, permutations: int, rng):
    """Conditional permutation (module docstring): ``(p_sim, z_sim)``, the
    pseudo p and the z of the observed neighbourhood sum against the mean and
    standard deviation of the draws (esda's ``p_sim`` and ``z_sim``)."""
    n = len(y)
    card = (nb >= 0).sum(axis=1)
    kmax = int(card.max())
    if kmax == 0:
        return np.ones(n), np.zeros(n)
    draws = _draws(rng, n, permutations, kmax + 1)
    values = y[draws]
    sums = np.concatenate(
        [np.zeros((permutations, 1)), np.cumsum(values, axis=1)], axis=1
    )  # sums[p, k]: the first k drawn
    larger = np.zeros(n, dtype=np.int64)
    s1, s2 = np.zeros(n), np.zeros(n)
    for k in np.unique(card):
        bins = np.flatnonzero(card == k)
        column = np.sort(sums[:, k])
        larger[bins] = permutations - np.searchsorted(column, lag[bins], "left")
        s1[bins], s2[bins] = column.sum(), (column**2).sum()
    # Draws in which a bin drew itself among its first k: its own value is
    # replaced by the next one drawn.  Correct those draws one by one.
    rows, cols = np.nonzero(draws[:, :kmax] >= 0)
    who = draws[rows, cols]
    mine = cols < card[who]
    rows, who = rows[mine], who[mine]
    before = sums[rows, card[who]]
    after = before - y[who] + values[rows, card[who]]
    np.add.at(larger, who, (after >= lag[who]).astype(np.int64)
              - (before >= lag[who]).astype(np.int64))  # fmt: skip
    np.add.at(s1, who, after - before)
    np.add.at(s2, who, after**2 - before**2)
    larger = np.minimum(larger, permutations - larger)
    mean = s1 / permutations
    sd = np.sqrt(np.maximum(s2 / permutations - mean**2, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        z_sim = np.where(sd > 0, (lag - mean) / sd, 0.0)
    return (larger + 1) / (permutations + 1), z_sim


def normal_sf(x: np.ndarray) -> np.ndarray:
    """Two-sided p of a standard normal |x| (no scipy at run time)."""
    return np.vectorize(lambda v: math.erfc(v / math.sqrt(2.0)), otypes=[float])(x)


# --- Mann-Kendall and emerging hot spots ---------------------------------------


def mann_kendall(series: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mann-Kendall trend test of each row of ``series`` ``(n, t)``: (z, p),
    the normal approximation with the tie correction; z > 0 an upward trend.

    >>> z, p = mann_kendall(np.array([[1, 2, 3, 4, 5, 6, 7, 8.0]]))
    >>> bool(z[0] > 3 and p[0] < 0.001)
    True
    """
    x = np.asarray(series, dtype=float)
    t = x.shape[1]
    i, j = np.triu_indices(t, k=1)
    s = np.sign(x[:, j] - x[:, i]).sum(axis=1)
    same = (x[:, :, None] == x[:, None, :]).sum(axis=2)  # group size of each
    ties = (same - 1) * (2 * same + 5)  # t(t-1)(2t+5)/t per member
    var = (t * (t - 1) * (2 * t + 5) - ties.sum(axis=1)) / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(s > 0, (s - 1) / np.sqrt(var),
                     np.where(s < 0, (s + 1) / np.sqrt(var), 0.0))  # fmt: skip
    z = np.where(np.isfinite(z), z, 0.0)
    return z, normal_sf(np.abs(z))


CATEGORIES = {
    # code: (Chinese label, ArcGIS Pro's category)
    "new": ("新热点", "New Hot Spot"),
    "consecutive": ("连续热点", "Consecutive Hot Spot"),
    "intensifying": ("加剧热点", "Intensifying Hot Spot"),
    "persistent": ("持续热点", "Persistent Hot Spot"),
    "diminishing": ("减弱热点", "Diminishing Hot Spot"),
    "sporadic": ("零星热点", "Sporadic Hot Spot"),
    "oscillating": ("振荡热点", "Oscillating Hot Spot"),
    "historical": ("历史热点", "Historical Hot Spot"),
}
"""The hot spot categories, as ArcGIS Pro defines them (cold spots mirror
them: "new_cold", ...; ``""`` is no pattern):

- new: significant hot spot in the final month, never before;
- consecutive: one uninterrupted run of at least two hot months ending in the
  final month, never hot before the run, hot in under 90 % of months;
- intensifying: hot in at least 90 % of months including the final one, and
  the Gi* z-scores rise significantly (Mann-Kendall, p <= 0.05);
- persistent: hot in at least 90 % of months including the final one, with no
  significant trend;
- diminishing: as intensifying, with a significant fall;
- sporadic: hot in the final month, on and off before, in under 90 % of
  months, never a cold spot;
- oscillating: hot in the final month, a cold spot in some earlier month, hot
  in under 90 % of months;
- historical: not hot in the final month, hot in at least 90 % of months.
"""


@dataclass
class Emerging:
    """Emerging hot spot categories of each bin, and the cube's z and level."""

    category: np.ndarray  # str codes ("", "new", "new_cold", ...)
    trend_z: np.ndarray
    trend_p: np.ndarray
    z: np.ndarray  # (t, n)
    level: np.ndarray  # (t, n)


def emerging(counts, cx, cy, alpha: float = 0.05) -> Emerging:
    """Emerging hot spot categories of bins ``(cx, cy)`` from ``counts``
    ``(t, n)`` (months by bins, oldest first).

    Each month's Gi* z is analytic, its p two-sided normal, FDR-adjusted per
    month; a bin is a hot (cold) spot in a month when ``q <= alpha`` and
    ``z > 0`` (``z < 0``).
    """
    y = np.asarray(counts, dtype=float)
    if y.ndim != 2 or y.shape[0] < 2:
        raise ValueError(
            f"counts must be months x bins, at least 2 months: {y.shape}"
        )
    nb = neighbours(cx, cy)
    if nb.shape[0] != y.shape[1]:
        raise ValueError(f"{y.shape[1]} bins of counts for {nb.shape[0]} squares")
    padded = np.concatenate([y, np.zeros((y.shape[0], 1))], axis=1)
    lag = padded[:, nb].sum(axis=-1)
    z = _z(y, nb, lag)
    p = normal_sf(np.abs(z))
    q = np.vstack([bh_adjust(row) for row in p])
    hot = (q <= alpha) & (z > 0)
    cold = (q <= alpha) & (z < 0)
    trend_z, trend_p = mann_kendall(z.T)
    category = _classify(hot, cold, trend_z, trend_p, alpha)
    cold_category = _classify(cold, hot, -trend_z, trend_p, alpha)
    cold_named = np.array([f"{c}_cold" if c else "" for c in cold_category])
    out = np.where(category != "", category, cold_named)
    level = np.where(hot, 1, np.where(cold, -1, 0)).astype(np.int8)
    return Emerging(out.astype(object), trend_z, trend_p, z, level)


def _classify(hot, cold, trend_z, trend_p, alpha) -> np.ndarray:
    """ArcGIS's hot spot categories from ``hot``/``cold`` (months x bins)."""
    t = hot.shape[0]
    final = hot[-1]
    share = hot.mean(axis=0)
    ever_before = hot[:-1].any(axis=0)
    mostly = share >= 0.9
    # The run of hot months ending in the final one, and whether any hot
    # month came before it.
    run = np.zeros(hot.shape[1], dtype=np.int64)
    alive = np.ones(hot.shape[1], dtype=bool)
    for m in range(t - 1, -1, -1):
        alive &= hot[m]
        run += alive
    before_run = np.array([hot[: t - r, b].any() if r else False
                           for b, r in enumerate(run)])  # fmt: skip
    rising = (trend_p <= alpha) & (trend_z > 0)
    falling = (trend_p <= alpha) & (trend_z < 0)
    ever_cold = cold[:-1].any(axis=0)
    out = np.full(hot.shape[1], "", dtype=object)
    rules = [  # first match wins
        (final & mostly & rising, "intensifying"),
        (final & mostly & falling, "diminishing"),
        (final & mostly, "persistent"),
        (~final & mostly, "historical"),
        (final & ~ever_before, "new"),
        (final & (run >= 2) & ~before_run & ~mostly, "consecutive"),
        (final & ever_cold & ~mostly, "oscillating"),
        (final & ~mostly & ~ever_cold, "sporadic"),
    ]
    for mask, name in reversed(rules):
        out[mask] = name
    return out
