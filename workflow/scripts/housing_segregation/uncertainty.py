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


def simulate_tract_counts(
    tracts: pd.DataFrame, *, draws: int, seed: Sequence[int] | int
) -> dict[str, np.ndarray]:
    """Simulated counts of every part and composite, each of shape (draws, n_tracts).

    The seed may be a sequence (e.g. [config seed, year, state]) so each state-year has
    its own reproducible stream whatever the order jobs run in.
    """
    rng = np.random.default_rng(seed)
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
        drawn = draw_counts(
            tracts[list(parts)].to_numpy(),
            tracts[[f"{p}_moe" for p in parts]].to_numpy(),
            draws=draws,
            rng=rng,
        )
        for index, part in enumerate(parts):
            simulated[part] = drawn[:, :, index]
    for name, parts in COMPOSITES.items():
        simulated[name] = sum(simulated[part] for part in parts)
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
    draws the result is all NaN.
    """
    defined = np.asarray(values, dtype=np.float64)
    defined = defined[np.isfinite(defined)]
    if defined.size < 2:
        return (np.nan, np.nan, np.nan)
    tail = (1 - level) / 2
    low, high = np.quantile(defined - defined.mean(), [tail, 1 - tail])
    # Discrete indices (delta in a 3-tract town) can put both quantiles of the deviations on
    # one side of zero: the interval is widened to hold the published value.
    low, high = min(centre, centre + float(low)), max(centre, centre + float(high))
    if floor is not None:
        low = max(floor, low)
    return float(defined.std(ddof=1)), low, high
