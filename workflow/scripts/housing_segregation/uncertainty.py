"""Monte Carlo over ACS margins of error: simulated tract counts and interval summaries.

Each ACS count is drawn from a gamma distribution with the published estimate as its mean
and MOE / 1.645 as its standard error (the ACS MOEs are 90% intervals; Census Bureau,
*Understanding and Using American Community Survey Data*, 2020, ch. 7). A gamma keeps draws
non-negative and, for counts well above their standard error, is close to the normal that
the published interval implies; it matches the estimate's mean and variance exactly. Only
the parts of a partition are
drawn; every total is the sum of its drawn parts, so counts stay consistent with totals.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

#: Z of a two-sided 90% interval: ACS MOE = 1.645 x standard error.
ACS_MOE_Z = 1.645

#: Partitions drawn part by part; the key is the total the parts add up to.
RACE_PARTS = (
    "white_nh",
    "black_nh",
    "aian_nh",
    "asian_nh",
    "nhpi_nh",
    "other_nh",
    "two_or_more_nh",
    "hispanic",
)
POVERTY_PARTS = (
    "poverty_ratio_under_0_50",
    "poverty_ratio_0_50_to_0_99",
    "poverty_ratio_1_00_to_1_24",
    "poverty_ratio_1_25_to_1_49",
    "poverty_ratio_1_50_to_1_84",
    "poverty_ratio_1_85_to_1_99",
    "poverty_ratio_2_00_and_over",
)

#: Counts built from drawn parts: name -> parts summed (a subset of one partition).
COMPOSITES: dict[str, tuple[str, ...]] = {
    "total": RACE_PARTS,
    "nonwhite": RACE_PARTS[1:],
    "other_race_nh": ("aian_nh", "nhpi_nh", "other_nh", "two_or_more_nh"),
    "poverty_universe": POVERTY_PARTS,
    "below_poverty": POVERTY_PARTS[:2],
    "above_poverty": POVERTY_PARTS[2:],
    "below_150_poverty": POVERTY_PARTS[:4],
    "above_150_poverty": POVERTY_PARTS[4:],
}


def draw_counts(
    estimates: np.ndarray, moes: np.ndarray, *, draws: int, rng: np.random.Generator
) -> np.ndarray:
    """Draw ``draws`` replicates of counts with the given estimates and 90% MOEs.

    ``estimates`` and ``moes`` have the same shape; the result has shape
    ``(draws, *estimates.shape)``. A zero estimate stays zero (the ACS MOE of a zero cell
    is a model-based bound, not a sampling error of the cell); a zero or missing MOE
    keeps the estimate fixed.
    """
    estimates = np.asarray(estimates, dtype=np.float64)
    moes = np.nan_to_num(np.asarray(moes, dtype=np.float64), nan=0.0)
    if estimates.shape != moes.shape:
        raise ValueError(f"estimates {estimates.shape} and moes {moes.shape} differ in shape")
    if not np.isfinite(estimates).all() or (estimates < 0).any():
        raise ValueError("estimates: must be finite and non-negative")
    if (moes < 0).any():
        raise ValueError("moes: must be non-negative")
    standard_error = moes / ACS_MOE_Z
    varies = (estimates > 0) & (standard_error > 0)
    shape = np.where(varies, (estimates / np.where(varies, standard_error, 1)) ** 2, 1.0)
    scale = np.where(varies, standard_error**2 / np.where(varies, estimates, 1), 0.0)
    drawn = rng.gamma(shape, scale, size=(draws, *estimates.shape))
    return np.where(varies, drawn, estimates)


#: Values drawn at once (draws × tracts × parts; 32 MB): the replicates are drawn a few at
#: a time into the counts asked for, so a large state never holds every part's draws twice.
_DRAW_CHUNK_VALUES = 2**22


def simulate_tract_counts(
    tracts: pd.DataFrame,
    *,
    draws: int,
    seed: Sequence[int] | int,
    names: Sequence[str] | None = None,
    dtype: type = np.float64,
) -> dict[str, np.ndarray]:
    """Simulated counts of every part and composite (or only of ``names``), each of shape
    (draws, n_tracts) and contiguous, of ``dtype``: drawn in double precision, then kept as
    asked (single precision keeps 7 significant digits of each simulated count in half
    the memory).

    The seed may be a sequence (e.g. [config seed, year, state]) so each state-year has
    its own reproducible stream whatever the order jobs run in. Every part is drawn
    whatever ``names`` asks for, so a count's draws do not depend on which are kept; nor
    do they depend on the chunks the replicates are drawn in (numpy fills the stream in
    order).
    """
    rng = np.random.default_rng(seed)
    n_tracts = len(tracts)
    simulated: dict[str, np.ndarray] = {}
    for parts in (RACE_PARTS, POVERTY_PARTS):
        missing = [c for p in parts for c in (p, f"{p}_moe") if c not in tracts]
        if missing:
            raise ValueError(f"tract table: missing column(s) {', '.join(missing)}")
        unknown_moe = int(tracts[[f"{p}_moe" for p in parts]].isna().sum().sum())
        if unknown_moe:
            log.info(
                "%d missing MOE(s) among %s...: those counts are held fixed", unknown_moe, parts[0]
            )
        estimates = tracts[list(parts)].to_numpy()
        moes = tracts[[f"{p}_moe" for p in parts]].to_numpy()
        # Each count of this partition: the positions of the parts it sums.
        sums = {part: [index] for index, part in enumerate(parts)}
        sums.update(
            {name: [parts.index(p) for p in members] for name, members in COMPOSITES.items()
             if members[0] in parts}
        )  # fmt: skip
        kept = {name: positions for name, positions in sums.items()
                if names is None or name in names}  # fmt: skip
        out = {name: np.empty((draws, n_tracts), dtype=dtype) for name in kept}
        chunk = max(1, _DRAW_CHUNK_VALUES // max(1, n_tracts * len(parts)))
        for start in range(0, draws, chunk):
            stop = min(start + chunk, draws)
            drawn = draw_counts(estimates, moes, draws=stop - start, rng=rng)
            for name, positions in kept.items():
                out[name][start:stop] = sum(drawn[:, :, index] for index in positions)
        simulated.update(out)
    return simulated


def point_counts(tracts: pd.DataFrame, names: Sequence[str]) -> dict[str, np.ndarray]:
    """The published counts for ``names``, composites built the same way as in draws."""
    counts = {}
    for name in names:
        parts = COMPOSITES.get(name)
        values = tracts[list(parts)].sum(axis=1) if parts else tracts[name]
        counts[name] = values.to_numpy(dtype=np.float64)
    return counts


def interval(
    values: np.ndarray, level: float, centre: float, floor: float | None = 0.0
) -> tuple[float, float, float]:
    """Standard error and interval of an index from its simulated values.

    Adding sampling noise to counts makes tracts look more different than they are, so
    unevenness indices drawn from noisy counts sit above the published-data value (Allen
    et al. 2015, "More reliable inference for the dissimilarity index of segregation",
    *Econometrics Journal* 18: 40-66). A plain percentile interval of the draws can then
    miss the published value altogether. The interval is therefore the draws' spread about
    their own mean, re-centred on ``centre`` (the value from the published counts):
    ``centre + quantile(draws - mean(draws))``, clipped at 0 (no index is negative).
    Draws where the index is undefined (NaN) are left out; with fewer than two defined
    draws, or an undefined ``centre``, the result is all NaN.
    """
    floors = np.array([np.nan if floor is None else floor])
    se, low, high = intervals(
        np.asarray(values, dtype=np.float64)[None], level, np.array([centre]), floors
    )
    return float(se[0]), float(low[0]), float(high[0])


def intervals(
    values: np.ndarray, level: float, centres: np.ndarray, floors: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`interval` of each row of ``values`` (rows, draws) at once: standard errors,
    lower and upper bounds, each of shape (rows,). ``centres`` holds each row's published
    value, ``floors`` its floor (NaN: no floor)."""
    values = np.asarray(values, dtype=np.float64)
    centres = np.asarray(centres, dtype=np.float64)
    floors = np.asarray(floors, dtype=np.float64)
    se, low, high = (np.full(len(values), np.nan) for _ in range(3))
    defined = np.isfinite(values)
    complete = defined.all(axis=1) & (values.shape[1] >= 2)
    tail = (1 - level) / 2
    rows = np.flatnonzero(complete)
    if rows.size:
        # Rows with every draw defined (nearly all) in one vectorised pass.
        se[rows], low[rows], high[rows] = _spread(values[rows], tail)
    for row in np.flatnonzero(~complete & (defined.sum(axis=1) >= 2)):
        spread = _spread(values[row, defined[row]][None], tail)
        se[row], low[row], high[row] = (part[0] for part in spread)
    # Discrete indices (delta in a 3-tract town) can put both quantiles of the deviations on
    # one side of zero: the interval is widened to hold the published value.
    low, high = np.fmin(centres, centres + low), np.fmax(centres, centres + high)
    low = np.where(np.isnan(floors), low, np.fmax(floors, low))
    unknown = np.isnan(se) | ~np.isfinite(centres)
    return tuple(np.where(unknown, np.nan, part) for part in (se, low, high))


def _spread(values: np.ndarray, tail: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standard deviation and the ``tail`` and 1 − ``tail`` quantiles of each row's
    deviations from its mean."""
    deviations = values - values.mean(axis=1, keepdims=True)
    low, high = np.quantile(deviations, [tail, 1 - tail], axis=1)
    return values.std(axis=1, ddof=1), low, high
