"""Segregation indices as pure, vectorised functions over per-unit counts.

Each function takes aligned 1-d arrays of counts (one value per unit, e.g. tract) and
returns a float. Formulas follow Massey & Denton (1988); docs/methods.md gives them.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def _counts(values: ArrayLike, name: str) -> NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name}: expected one count per unit (a 1-d array)")
    if not np.isfinite(array).all():
        raise ValueError(f"{name}: contains missing or infinite counts")
    if (array < 0).any():
        raise ValueError(f"{name}: contains negative counts")
    return array


def _aligned(**arrays: ArrayLike) -> dict[str, NDArray[np.float64]]:
    checked = {name: _counts(values, name) for name, values in arrays.items()}
    lengths = {name: len(values) for name, values in checked.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"counts have different numbers of units: {lengths}")
    if next(iter(lengths.values())) == 0:
        raise ValueError("no units")
    return checked


def _positive_sum(values: NDArray[np.float64], name: str) -> float:
    total = float(values.sum())
    if total <= 0:
        raise ValueError(f"{name}: the group has no members in any unit")
    return total


def dissimilarity(group: ArrayLike, other: ArrayLike) -> float:
    """Pairwise index of dissimilarity D = ½ Σ |g_i/G − o_i/O|.

    The share of either group that would have to move for both to be spread alike.
    """
    c = _aligned(group=group, other=other)
    g, o = c["group"], c["other"]
    return float(0.5 * np.abs(g / _positive_sum(g, "group") - o / _positive_sum(o, "other")).sum())


def isolation(group: ArrayLike, total: ArrayLike) -> float:
    """Isolation xPx = Σ (g_i/G)(g_i/t_i): the group share in the average member's unit."""
    c = _aligned(group=group, total=total)
    g, t = c["group"], c["total"]
    if (g > t).any():
        raise ValueError("group: exceeds total in some unit")
    populated = t > 0
    return float((g[populated] / _positive_sum(g, "group") * g[populated] / t[populated]).sum())


def interaction(group: ArrayLike, other: ArrayLike, total: ArrayLike) -> float:
    """Interaction xPy = Σ (g_i/G)(o_i/t_i): the other group's share in the average
    group member's unit, using the unit's whole population as the denominator."""
    c = _aligned(group=group, other=other, total=total)
    g, o, t = c["group"], c["other"], c["total"]
    if (g + o > t).any():
        raise ValueError("group and other: together exceed total in some unit")
    populated = t > 0
    return float((g[populated] / _positive_sum(g, "group") * o[populated] / t[populated]).sum())
