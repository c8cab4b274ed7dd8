"""Covering models over sparse coverage sets, solved exactly by HiGHS.

The two classic location models of Church and ReVelle, as spopt states them
(``spopt/locate/coverage.py``), but fed a *sparse* coverage relation instead of
a dense cost matrix:

MCLP, maximal covering
    Open at most ``k`` of the candidates so that the demand within reach of an
    open one is as large as possible::

        max  sum_i w_i y_i
        s.t. y_i <= sum_{j in N(i)} x_j      for every demand point i
             sum_j x_j <= k
             x_j in {0, 1},  0 <= y_i <= 1

    ``y`` may stay continuous: with ``x`` integral, the best ``y_i`` is
    ``min(1, sum x_j)``, which is 0 or 1, so the MILP has ``|J|`` integers only.
LSCP, set covering
    Open as few candidates as possible so that every demand point is within
    reach of one::

        min  sum_j x_j
        s.t. sum_{j in N(i)} x_j >= 1        for every demand point i
             (sum_j x_j <= k, when a budget is given)
             x_j in {0, 1}

Both are handed to HiGHS (``highspy``) whole, as arrays: one ``passModel``
with the constraint matrix in compressed rows, never a Python loop per
variable or per constraint (spopt's PuLP build does one per pair, which is
what makes it slow).  These functions know nothing of villages or PostGIS;
:mod:`gis.siting` feeds them.

Examples
--------
Three demand points in a row, two candidates each reaching two of them:

>>> import numpy as np
>>> problem = CoverageProblem(
...     weights=np.array([10.0, 20.0, 30.0]),
...     demand=np.array([0, 1, 1, 2]),
...     candidate=np.array([0, 0, 1, 1]),
...     n_candidates=2,
... )
>>> problem.mclp(1).chosen.tolist()
[1]
>>> problem.lscp().chosen.tolist()
[0, 1]
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import highspy
import numpy as np

logger = logging.getLogger(__name__)

_ROWWISE = 2  # HiGHS's MatrixFormat.kRowwise
_MINIMIZE, _MAXIMIZE = 1, -1  # HiGHS's ObjSense
_INTEGER = 1  # HiGHS's HighsVarType.kInteger
_FEASIBLE = 2  # HiGHS's SolutionStatus.kSolutionStatusFeasible


@dataclass(frozen=True)
class Solution:
    """What HiGHS found, and how sure it is.

    Attributes
    ----------
    chosen : numpy.ndarray
        Indices of the candidates opened, ascending (empty when HiGHS found no
        feasible solution).
    status : str
        HiGHS's own model status, as it names it (``"Optimal"``, ``"Time limit
        reached"``, ``"Infeasible"``, ...).
    optimal : bool
        True only when HiGHS proved the solution optimal.  A run stopped by the
        time limit is never optimal, whatever its gap.
    objective, bound : float or None
        The objective of the solution found and the best bound proven; both
        None without a solution.
    gap : float or None
        HiGHS's relative MIP gap, ``|objective - bound| / |objective|``.
    seconds : float
        Time spent in ``Highs.run``.
    """

    chosen: np.ndarray
    status: str
    optimal: bool
    objective: float | None
    bound: float | None
    gap: float | None
    seconds: float

    @property
    def feasible(self) -> bool:
        return self.objective is not None


@dataclass(frozen=True)
class CoverageProblem:
    """A coverage relation: demand point ``demand[p]`` is within reach of
    candidate ``candidate[p]``, for every pair ``p``.

    Parameters
    ----------
    weights : numpy.ndarray
        Demand per point (residents, or residents weighted by disputes).
    demand, candidate : numpy.ndarray
        The pairs, as two integer arrays of the same length.  Demand points
        with no pair cannot be covered and are left out of the models.
    n_candidates : int
        How many candidates there are (some may cover nothing).
    time_limit : float
        Seconds HiGHS may search before it stops with what it has.
    """

    weights: np.ndarray
    demand: np.ndarray
    candidate: np.ndarray
    n_candidates: int
    time_limit: float = 60.0

    def mclp(self, k: int) -> Solution:
        """Open at most ``k`` candidates covering the most weight."""
        rows, cols, n_rows = self._cover_rows()
        n_x = self.n_candidates
        n_y = n_rows
        # Row r: y_r - sum x_j <= 0; then one row sum x_j <= k.
        rows = np.concatenate([rows, np.arange(n_y), np.full(n_x, n_y)])
        cols = np.concatenate([cols, n_x + np.arange(n_y), np.arange(n_x)])
        values = np.concatenate(
            [np.full(len(self.demand), -1.0), np.ones(n_y), np.ones(n_x)]
        )
        upper = np.concatenate([np.zeros(n_y), [float(k)]])
        cost = np.concatenate([np.zeros(n_x), self.weights[self._rows_demand()]])
        return self._solve(
            sense=_MAXIMIZE,
            cost=cost,
            col_upper=np.ones(n_x + n_y),
            n_integer=n_x,
            rows=rows,
            cols=cols,
            values=values,
            row_lower=np.full(n_y + 1, -highspy.kHighsInf),
            row_upper=upper,
        )

    def lscp(self, k: int | None = None) -> Solution:
        """Open the fewest candidates so every coverable point is covered
        (with ``k``, at most ``k``: HiGHS then says "Infeasible" if that is
        too few)."""
        rows, cols, n_rows = self._cover_rows()
        values = np.ones(len(rows))
        lower, upper = np.ones(n_rows), np.full(n_rows, highspy.kHighsInf)
        if k is not None:
            rows = np.concatenate([rows, np.full(self.n_candidates, n_rows)])
            cols = np.concatenate([cols, np.arange(self.n_candidates)])
            values = np.ones(len(rows))
            lower = np.append(lower, -highspy.kHighsInf)
            upper = np.append(upper, float(k))
        return self._solve(
            sense=_MINIMIZE,
            cost=np.ones(self.n_candidates),
            col_upper=np.ones(self.n_candidates),
            n_integer=self.n_candidates,
            rows=rows,
            cols=cols,
            values=values,
            row_lower=lower,
            row_upper=upper,
        )

    def _rows_demand(self) -> np.ndarray:
        """The demand points that have a pair, ascending: one row each."""
        return np.unique(self.demand)

    def _cover_rows(self) -> tuple[np.ndarray, np.ndarray, int]:
        """The pairs as (row, column) entries, rows renumbered densely."""
        present = self._rows_demand()
        rows = np.searchsorted(present, self.demand)
        return rows, np.asarray(self.candidate, dtype=np.int64), len(present)

    def _solve(
        self,
        *,
        sense: int,
        cost: np.ndarray,
        col_upper: np.ndarray,
        n_integer: int,
        rows: np.ndarray,
        cols: np.ndarray,
        values: np.ndarray,
        row_lower: np.ndarray,
        row_upper: np.ndarray,
    ) -> Solution:
        n_cols, n_rows = len(cost), len(row_lower)
        order = np.lexsort((cols, rows))  # compressed rows: sorted by row
        start = np.zeros(n_rows + 1, dtype=np.int32)
        np.cumsum(np.bincount(rows, minlength=n_rows), out=start[1:])
        integrality = np.zeros(n_cols, dtype=np.int32)
        integrality[:n_integer] = _INTEGER
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        highs.setOptionValue("time_limit", float(self.time_limit))
        # Proven optimal means optimal: no 0.01 % slack (HiGHS's default).
        highs.setOptionValue("mip_rel_gap", 0.0)
        highs.passModel(
            n_cols,
            n_rows,
            len(values),
            _ROWWISE,
            sense,
            0.0,
            cost.astype(np.float64),
            np.zeros(n_cols),
            col_upper.astype(np.float64),
            row_lower.astype(np.float64),
            row_upper.astype(np.float64),
            start,
            cols[order].astype(np.int32),
            values[order].astype(np.float64),
            integrality,
        )
        began = time.perf_counter()
        highs.run()
        seconds = time.perf_counter() - began
        return _solution(highs, n_integer, seconds)


def _solution(highs: highspy.Highs, n_integer: int, seconds: float) -> Solution:
    status = highs.getModelStatus()
    info = highs.getInfo()
    found = info.primal_solution_status == _FEASIBLE
    chosen = np.empty(0, dtype=np.int64)
    objective = bound = gap = None
    if status == highspy.HighsModelStatus.kModelEmpty:
        # Nothing left to cover or to choose: optimal by definition.
        status, objective, bound, gap = highspy.HighsModelStatus.kOptimal, 0.0, 0.0, 0.0
    elif found:
        x = np.asarray(highs.getSolution().col_value[:n_integer])
        chosen = np.flatnonzero(x > 0.5)
        objective = float(info.objective_function_value)
        bound = float(info.mip_dual_bound)
        gap = float(info.mip_gap) if math.isfinite(info.mip_gap) else None
    return Solution(
        chosen=chosen,
        status=highs.modelStatusToString(status),
        optimal=status == highspy.HighsModelStatus.kOptimal,
        objective=objective,
        bound=bound,
        gap=gap,
        seconds=seconds,
    )
