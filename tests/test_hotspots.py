"""Gi* hot spots and emerging hot spots (gis.analysis.hotspots): planted
clusters found, uniform noise not, and the numbers checked against PySAL
esda's G_Local on the same bins."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from gis.analysis import hotspots as hs

SIDE = 20


def grid(side=SIDE):
    cx, cy = np.meshgrid(np.arange(side), np.arange(side))
    return cx.ravel(), cy.ravel()


def block(cx, cy, x0, y0, size=3):
    return (cx >= x0) & (cx < x0 + size) & (cy >= y0) & (cy < y0 + size)


def ring(mask, cx, cy):
    """``mask`` and every square touching it."""
    near = np.zeros_like(mask)
    for x, y in zip(cx[mask], cy[mask], strict=True):
        near |= (abs(cx - x) <= 1) & (abs(cy - y) <= 1)
    return near


def test_neighbours_are_the_queen_squares_present():
    cx, cy = np.array([0, 1, 0, 5]), np.array([0, 0, 1, 5])
    nb = hs.neighbours(cx, cy)
    assert [sorted(j for j in row if j >= 0) for row in nb] == [[1, 2], [0, 2],
                                                              [0, 1], []]
    with pytest.raises(ValueError, match="distinct"):
        hs.neighbours(np.array([1, 1]), np.array([2, 2]))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_planted_cluster_is_exactly_the_hot_spot(seed):
    cx, cy = grid()
    rng = np.random.default_rng(seed)
    y = rng.poisson(2, cx.size).astype(float)
    cluster = block(cx, cy, 8, 11)
    y[cluster] += 12
    result = hs.gi_star(y, cx, cy, permutations=999, seed=seed)
    hot = result.level >= 2  # 95 % and more, after the FDR correction
    # Every planted square is hot; nothing is hot that does not hold or touch
    # one (Gi* counts a square's neighbours: the ring shares the cluster);
    # there is no cold spot.
    assert hot[cluster].all()
    assert not (hot & ~ring(cluster, cx, cy)).any()
    assert not (result.level < 0).any()


@pytest.mark.parametrize("seed", range(5))
def test_uniform_noise_has_no_significant_hot_spot_beyond_the_fdr_rate(seed):
    cx, cy = grid(40)
    y = np.random.default_rng(100 + seed).poisson(5, cx.size).astype(float)
    result = hs.gi_star(y, cx, cy, permutations=999, seed=seed)
    # Under the null every discovery is false.  Uncorrected, about 5 % of the
    # 1,600 squares pass p <= 0.05 (60-100 here); BH at 5 % keeps the chance
    # of any discovery at about 5 %: at most a handful, even at 90 %.
    assert (result.p <= 0.05).sum() > 30
    assert (result.q <= 0.05).sum() <= 2
    assert (result.level != 0).sum() <= 5


def test_seeded_runs_repeat_and_other_seeds_differ_only_in_p():
    cx, cy = grid()
    y = np.random.default_rng(5).poisson(3, cx.size).astype(float)
    a, b = hs.gi_star(y, cx, cy, seed=7), hs.gi_star(y, cx, cy, seed=7)
    c = hs.gi_star(y, cx, cy, seed=8)
    assert np.array_equal(a.p_sim, b.p_sim) and np.array_equal(a.level, b.level)
    assert np.array_equal(a.z, c.z) and not np.array_equal(a.p_sim, c.p_sim)


def test_bad_input_is_named():
    cx, cy = grid(3)
    with pytest.raises(ValueError, match="not negative"):
        hs.gi_star(-np.ones(9), cx, cy)
    with pytest.raises(ValueError, match="values for"):
        hs.gi_star(np.ones(8), cx, cy)


def test_agrees_with_esda_g_local_star():
    esda = pytest.importorskip("esda")  # requirements-dev.txt pins it
    from libpysal.weights import W

    cx, cy = grid(50)
    rng = np.random.default_rng(11)
    y = rng.poisson(3, cx.size).astype(float)
    y[block(cx, cy, 20, 20, 4)] += 8
    nb = hs.neighbours(cx, cy)
    w = W({i: [int(j) for j in row if j >= 0] for i, row in enumerate(nb)},
          silence_warnings=True)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = esda.G_Local(y, w, transform="B", star=True, permutations=999,
                           seed=3, n_jobs=1)  # fmt: skip
    mine = hs.gi_star(y, cx, cy, permutations=999, seed=3)
    assert np.abs(ref.Zs - mine.z).max() < 1e-9
    # Both p are Monte Carlo estimates from 999 draws: they agree within the
    # draws' error.  A pseudo p of 0.3 has a binomial sd of 0.0145; the
    # difference of two independent estimates 0.02, whose mean size is 0.016.
    dp = np.abs(ref.p_sim - mine.p_sim)
    assert dp.mean() < 0.025 and dp.max() < 0.1
    dz = np.abs(ref.z_sim - mine.z_sim) / np.maximum(1, np.abs(ref.z_sim))
    assert dz.mean() < 0.08
    same = (hs.bh_adjust(2 * ref.p_z_sim) <= 0.05) == (mine.q <= 0.05)
    assert same.mean() > 0.99


def test_benjamini_hochberg_by_hand():
    q = hs.bh_adjust(np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074,
                               0.205, 0.212, 0.216]))  # fmt: skip
    # p_(i) * m / i, then the running minimum from the top.
    assert q.round(4).tolist() == [0.01, 0.04, 0.084, 0.084, 0.084, 0.1, 0.1057,
                                   0.216, 0.216, 0.216]  # fmt: skip


def test_mann_kendall_by_hand():
    z, p = hs.mann_kendall(np.array([[1.0, 3, 2, 4], [4, 3, 2, 1], [1, 1, 1, 1]]))
    # Row 0: S = 5 - 1 = 4, var = 4*3*13/18 = 8.667, z = (4-1)/2.944 = 1.019;
    # row 1: S = -6, z = (-6+1)/2.944 = -1.698; row 2 all tied: no trend.
    assert z.round(3).tolist() == [1.019, -1.698, 0.0]
    assert p[2] == 1.0


MONTHS = 24


def cube(seed, plant=None):
    """Months x bins of Poisson(2) counts, with ``plant(month)`` extra in a
    3x3 block."""
    cx, cy = grid()
    rng = np.random.default_rng(seed)
    counts = rng.poisson(2, (MONTHS, cx.size)).astype(float)
    where = block(cx, cy, 8, 8)
    if plant:
        for m in range(MONTHS):
            counts[m, where] += plant(m)
    return counts, cx, cy, where


@pytest.mark.parametrize("seed", [1, 2])
def test_a_cluster_that_starts_in_the_last_month_is_new(seed):
    counts, cx, cy, where = cube(seed, lambda m: 14 if m == MONTHS - 1 else 0)
    result = hs.emerging(counts, cx, cy)
    centre = block(cx, cy, 9, 9, 1)
    assert result.category[centre][0] == "new"


@pytest.mark.parametrize("seed", [1, 2])
def test_a_growing_cluster_is_intensifying_and_a_fading_one_diminishing(seed):
    counts, cx, cy, where = cube(seed, lambda m: 6 + m)
    grow = hs.emerging(counts, cx, cy)
    assert set(grow.category[where]) <= {"intensifying", "new", "consecutive"}
    assert grow.category[block(cx, cy, 9, 9, 1)][0] == "intensifying"
    counts, cx, cy, where = cube(seed, lambda m: 30 - m)
    fade = hs.emerging(counts, cx, cy)
    assert fade.category[block(cx, cy, 9, 9, 1)][0] == "diminishing"
    far = ~ring(where, cx, cy)
    # Away from the clusters: no pattern almost everywhere.
    assert (fade.category[far] == "").mean() > 0.9


def test_a_steady_cluster_is_persistent_and_one_that_stopped_historical():
    counts, cx, cy, where = cube(4, lambda m: 10)
    centre = block(cx, cy, 9, 9, 1)
    assert hs.emerging(counts, cx, cy).category[centre][0] == "persistent"
    counts, cx, cy, where = cube(4, lambda m: 10 if m < MONTHS - 1 else 0)
    counts[-1, where] = 0
    assert hs.emerging(counts, cx, cy).category[centre][0] == "historical"
