"""Where new affordable units go: fair-share allocation across towns, and siting within towns.

Pure functions over tidy tables; the scenario steps (:mod:`scenarios`) call them.

**Fair share.** A region's N units are split among its towns in proportion to a score,
A_m = N · s_m / Σ s_m, with s_m = Σ_k w_k · f̃_km over factors normalised to sum to 1 over
the region's eligible towns (f̃_km = f_km / Σ_m f_km):

- ``households``: the town's households (its share of the region's);
- ``income_capacity``: the town's median household income minus the region's lowest;
- ``low_poverty``: the region's highest poverty rate minus the town's;
- ``deficit``: the assisted units the town lacks to reach 10% of its housing,
  max(0, 0.10 · U_m − assisted_m).

The factors follow Open Communities Alliance (2020), *Fair Share Housing Model for
Connecticut*, and New Jersey's 2024 fair-share formula (P.L. 2024, c. 2, the "A4" law):
need is spread by size, wealth and lack of affordable homes. Towns can be excluded (already
at 10%, hosting an R/ECAP, or above a poverty rate). Caps (a share of the town's households,
an absolute number) are enforced by water-filling: capped towns keep their cap and the rest
is re-spread over the others, until no town is over its cap or every town is capped (the
remainder is reported as unplaced).

**Gap to 10%.** A_m = max(0, ⌈0.10 · U_m − assisted_m⌉): every town brought to the 8-30g
threshold.

Units are whole: real-valued allocations are rounded by largest remainder, so each region's
total is kept and no cap is exceeded.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .siting import APPEALS_THRESHOLD, appeals_gap

log = logging.getLogger(__name__)

#: Fair-share factors: name -> what it measures (see the module docstring).
FACTORS = {
    "households": "the town's households",
    "income_capacity": "median household income above the region's lowest",
    "low_poverty": "poverty rate below the region's highest",
    "deficit": "assisted units short of 10% of housing",
}

#: Columns of fair_share_allocation.csv, in order (docs/outputs.md).
ALLOCATION_COLUMNS = [
    "scenario",
    "year",
    "geography_level",
    "town_geoid",
    "town_name",
    "region_geoid",
    "households",
    "housing_units",
    "assisted_units",
    "assisted_percent",
    "eligible",
    "exclusion",
    "score",
    "cap",
    "units",
    "assisted_percent_after",
    "step",
    "step_number",
]

#: Scenario steps that allocate units by town (each adds a town table to the scenario's
#: fair_share_allocation.csv rows, marked with ``step`` and ``step_number``).
ALLOCATION_STEPS = ("fair_share", "gap_to_threshold")

TOWN_COLUMNS = (
    "town_geoid",
    "town_name",
    "region_geoid",
    "households",
    "housing_units",
    "assisted_units",
    "median_household_income",
    "poverty_rate",
    "has_recap",
)


def capped_proportional(
    total: float, weights: Sequence[float], caps: Sequence[float]
) -> np.ndarray:
    """Split ``total`` in proportion to ``weights`` without exceeding ``caps`` (water-filling).

    Entries whose proportional share exceeds their cap get the cap; the rest of the total
    is re-split over the others by their weights, until no share exceeds its cap. Entries
    with zero weight get nothing. If the caps of every entry with weight add up to less
    than ``total``, each gets its cap and the shortfall is left unplaced (the result sums to
    less than ``total``). Caps may be ``inf``.
    """
    w = np.asarray(weights, dtype=np.float64)
    cap = np.asarray(caps, dtype=np.float64)
    if w.shape != cap.shape or w.ndim != 1:
        raise ValueError("weights and caps: expected two 1-d arrays of one length")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("weights: must be finite and non-negative")
    if np.isnan(cap).any() or (cap < 0).any():
        raise ValueError("caps: must be non-negative")
    if not np.isfinite(total) or total < 0:
        raise ValueError(f"total: must be finite and non-negative, got {total}")
    share = np.zeros_like(w)
    open_ = w > 0
    remaining = float(total)
    while open_.any() and remaining > 0:
        proposal = remaining * w[open_] / w[open_].sum()
        over = proposal >= cap[open_] - share[open_]
        if not over.any():
            share[open_] += proposal
            break
        # Fill the capped entries and re-split what is left over the others.
        indices = np.flatnonzero(open_)[over]
        remaining -= float((cap[indices] - share[indices]).sum())
        share[indices] = cap[indices]
        open_[indices] = False
    return share


def whole_units(values: Sequence[float], caps: Sequence[float] | None = None) -> np.ndarray:
    """Round non-negative values to integers keeping their (rounded) sum: floor each, then
    give the remaining units to the largest remainders (ties to the first). With ``caps``,
    no entry is rounded above its floor-ed cap."""
    x = np.asarray(values, dtype=np.float64)
    if (x < 0).any() or not np.isfinite(x).all():
        raise ValueError("values: must be finite and non-negative")
    floor = np.floor(x + 1e-9)
    target = round(float(x.sum()))
    room = np.full(x.shape, np.inf) if caps is None else np.floor(np.asarray(caps) + 1e-9) - floor
    remainder = np.where(room >= 1, x - floor, -np.inf)
    extra = target - int(floor.sum())
    order = np.argsort(-remainder, kind="stable")[: max(extra, 0)]
    order = order[np.isfinite(remainder[order])]
    floor[order] += 1
    return floor.astype(np.int64)


def _normalised(values: pd.Series) -> pd.Series:
    total = values.sum()
    return values / total if total > 0 else values * 0.0


def fair_share(
    towns: pd.DataFrame,
    regional_units: Mapping[str, float],
    *,
    weights: Mapping[str, float],
    exclude_at_threshold: bool = True,
    exclude_recap_towns: bool = True,
    max_poverty_rate: float | None = None,
    cap_share_of_households: float | None = None,
    cap_units: float | None = None,
) -> pd.DataFrame:
    """Each town's whole units of its region's total, by the fair-share score.

    ``towns``: one row per town with :data:`TOWN_COLUMNS`. ``regional_units``: region ID ->
    units to allocate there. Returns ``towns`` with ``eligible``, ``exclusion`` (why a
    town is left out: ``at_threshold``, ``recap``, ``poverty``; empty if eligible),
    ``score`` (s_m; it sums to 1 over a region's eligible towns unless a factor is the same
    for all of them, e.g. a single eligible town, which then adds nothing), ``cap`` and
    ``units``.
    """
    _require(towns, TOWN_COLUMNS)
    unknown = sorted(set(weights) - set(FACTORS))
    if unknown:
        raise ValueError(f"fair share: unknown factor(s) {unknown}; known: {sorted(FACTORS)}")
    if not any(value > 0 for value in weights.values()):
        raise ValueError("fair share: at least one factor weight must be positive")
    missing_regions = sorted(set(regional_units) - set(towns["region_geoid"]))
    if missing_regions:
        raise ValueError(f"fair share: region(s) {missing_regions} have no town")
    table = towns.reset_index(drop=True).copy()
    share = table["assisted_units"] / table["housing_units"].where(table["housing_units"] > 0)
    exclusion = pd.Series("", index=table.index)
    if max_poverty_rate is not None:
        exclusion = exclusion.mask(table["poverty_rate"] > max_poverty_rate, "poverty")
    if exclude_recap_towns:
        exclusion = exclusion.mask(table["has_recap"].astype(bool), "recap")
    if exclude_at_threshold:
        exclusion = exclusion.mask(share >= APPEALS_THRESHOLD, "at_threshold")
    table["eligible"] = exclusion == ""
    table["exclusion"] = exclusion
    deficit = (APPEALS_THRESHOLD * table["housing_units"] - table["assisted_units"]).clip(lower=0)
    cap = pd.Series(np.inf, index=table.index)
    if cap_share_of_households is not None:
        cap = np.minimum(cap, cap_share_of_households * table["households"])
    if cap_units is not None:
        cap = np.minimum(cap, float(cap_units))
    table["cap"] = cap
    table["score"] = 0.0
    table["units"] = 0
    total_weight = sum(weights.values())
    for region, rows in table.groupby("region_geoid").groups.items():
        eligible = [i for i in rows if table.at[i, "eligible"]]
        target = float(regional_units.get(region, 0.0))
        if not eligible:
            if target > 0:
                log.warning("region %s: no eligible town; its %g units are not placed",
                            region, target)  # fmt: skip
            continue
        frame = table.loc[eligible]
        factors = {
            "households": frame["households"].astype(float),
            "income_capacity": frame["median_household_income"]
            - frame["median_household_income"].min(),
            "low_poverty": frame["poverty_rate"].max() - frame["poverty_rate"],
            "deficit": deficit.loc[eligible],
        }
        score = sum(
            (weight / total_weight) * _normalised(factors[name].fillna(0.0))
            for name, weight in weights.items()
        )
        table.loc[eligible, "score"] = score
        placed = capped_proportional(target, score.to_numpy(), cap.loc[eligible].to_numpy())
        units = whole_units(placed, cap.loc[eligible].to_numpy())
        table.loc[eligible, "units"] = units
        if units.sum() < round(target):
            log.warning("region %s: caps leave %d of %g units unplaced",
                        region, round(target) - int(units.sum()), target)  # fmt: skip
    table["units"] = table["units"].astype(np.int64)
    return table


def gap_to_threshold(towns: pd.DataFrame) -> pd.DataFrame:
    """Each town's units to reach 10% assisted: ⌈0.10 · U − assisted⌉, 0 at or above.

    Returns ``towns`` with ``eligible`` (below the threshold), ``exclusion``
    (``at_threshold`` or empty), ``score`` (missing: no score), ``cap`` (inf) and ``units``."""
    _require(towns, TOWN_COLUMNS)
    gap = appeals_gap(towns.assign(year=0, total_assisted=towns["assisted_units"]))[
        "units_to_threshold"
    ]
    table = towns.reset_index(drop=True).copy()
    table["units"] = gap.fillna(0).astype(np.int64).to_numpy()
    table["eligible"] = table["units"] > 0
    table["exclusion"] = np.where(table["eligible"], "", "at_threshold")
    table["score"] = np.nan
    table["cap"] = np.inf
    return table


def _require(table: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"town table: missing column(s) {missing}")


def site_in_tracts(town_units: pd.Series, tracts: pd.DataFrame, weights: pd.Series) -> pd.Series:
    """Spread each town's whole units over its tracts in proportion to ``weights``.

    ``town_units``: town GEOID -> units. ``tracts``: ``geoid`` and ``town_geoid``.
    ``weights``: per tract (aligned with ``tracts``), non-negative. A town whose tracts
    all weigh 0 spreads its units by equal weights over its tracts, with a log line.
    Returns whole units per tract (aligned with ``tracts``), summing to each town's units.
    """
    result = pd.Series(0, index=tracts.index, dtype=np.int64)
    weights = weights.astype(float).fillna(0.0)
    for town, units in town_units.items():
        if units <= 0:
            continue
        members = tracts.index[tracts["town_geoid"] == town]
        if len(members) == 0:
            raise ValueError(f"siting: town {town} has {units} units but no tract")
        w = weights.loc[members].to_numpy()
        if w.sum() <= 0:
            log.info("town %s: no tract has weight; its %d units are spread evenly", town, units)
            w = np.ones(len(members))
        result.loc[members] = whole_units(units * w / w.sum())
    return result


def siting_weights(
    tracts: pd.DataFrame, *, capacity: str = "renters", low_poverty: bool = True,
    avoid_recaps: bool = True,
) -> pd.Series:  # fmt: skip
    """Tract weights for new units: capacity (``renters`` or ``households``) × (1 − poverty
    rate, if ``low_poverty``) × (0 in R/ECAPs, if ``avoid_recaps``)."""
    if capacity not in ("renters", "households"):
        raise ValueError(f"siting: capacity must be 'renters' or 'households', got {capacity!r}")
    weight = tracts[capacity].astype(float).clip(lower=0).fillna(0.0)
    if low_poverty:
        weight = weight * (1 - tracts["poverty_rate"].astype(float).fillna(1.0)).clip(lower=0)
    if avoid_recaps:
        weight = weight.where(~tracts["recap"].fillna(False).astype(bool), 0.0)
    return weight
