"""Where subsidized housing is, against where all housing is: AFFH-style siting metrics.

Inputs are tidy tables keyed by tract ``geoid``:

- the tract table (ACS counts and the geography columns of :data:`measure.LEVELS`), with the
  R/ECAP flag, poverty rate and non-white share of :func:`recap.flag_recaps`;
- subsidized units per tract, one column per program.

"All housing" is the tract's occupied housing units (ACS B25003_001, ``households``): the
mirrored ACS tables do not include total housing units (B25001), and subsidized units are
occupied homes too. A program's units are compared with it in three ways, per area of every
level:

- **where the units are**: the share of the program's units in R/ECAPs, in tracts with a
  poverty rate of at least 20% and 40%, and in majority non-white tracts, beside the same
  shares of all housing (program ``all_housing``);
- **who lives around them**: the unit-weighted mean non-white share and poverty rate of the
  tracts that host the units, beside the household-weighted means of the area;
- **balance**: the dissimilarity D = ½ Σ |s_i/S − h_i/H| and the concentration Gini of the
  units s against housing h, across tracts and, above towns, across towns. D is the share
  of the program's units that would have to move for them to be spread like housing.

The concentration Gini is the Gini of the Lorenz curve of units against housing, areas
ordered by units per home r_i = s_i/h_i: G = Σ_i Σ_j h_i h_j |r_i − r_j| / (2 H S), from 0
(units spread like housing) towards 1 (all units in the areas with the least housing). It
equals the segregation Gini of :func:`indices.gini` times (1 − S/H) when no area has more
units than homes. Areas with units but no recorded homes (ACS sampling, group quarters)
sort last, at r = ∞; the Lorenz form counts them without dividing by zero.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from . import indices
from .measure import LEVELS, area_ids

#: Columns of siting_metrics.csv, in order (docs/outputs.md).
SITING_COLUMNS = [
    "year",
    "program",
    "geography_level",
    "geography_id",
    "geography_name",
    "metric",
    "value",
    "denominator",
]

#: The comparison program: every occupied home, weighted like the programs' units.
ALL_HOUSING = "all_housing"

#: Tract conditions whose share of units is reported: metric name -> column of booleans.
CONDITIONS = {
    "share_in_recap": "recap",
    "share_in_poverty_20": "poverty_20",
    "share_in_poverty_40": "poverty_40",
    "share_in_majority_nonwhite": "majority_nonwhite",
}

#: The 8-30g threshold: a town with at least this share of assisted units is not subject to
#: the affordable housing appeals procedure (CGS § 8-30g(k)).
APPEALS_THRESHOLD = 0.10

REQUIRED_TRACT_COLUMNS = (
    "year",
    "geoid",
    "households",
    "nonwhite_share",
    "poverty_rate",
    "recap",
)


def concentration_gini(part: Sequence[float], whole: Sequence[float]) -> float:
    """Gini of the Lorenz curve of ``part`` (e.g. subsidized units) against ``whole`` (all
    homes) over areas ordered by part per whole: 1 − Σ_k (Y_k − Y_{k−1}) (X_k + X_{k−1}),
    X and Y the cumulative shares of part and whole.

    Raises ValueError for negative or missing counts, or when either total is 0.
    """
    s = np.asarray(part, dtype=np.float64)
    h = np.asarray(whole, dtype=np.float64)
    if s.shape != h.shape or s.ndim != 1:
        raise ValueError(f"part and whole: expected two 1-d arrays of one length, got {s.shape}"
                         f" and {h.shape}")  # fmt: skip
    for name, values in (("part", s), ("whole", h)):
        if not np.isfinite(values).all() or (values < 0).any():
            raise ValueError(f"{name}: counts must be finite and non-negative")
        if values.sum() <= 0:
            raise ValueError(f"{name}: the total is 0")
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(h > 0, s / h, np.where(s > 0, np.inf, 0.0))
    order = np.argsort(rate, kind="stable")
    x = np.concatenate([[0.0], np.cumsum(s[order]) / s.sum()])
    y = np.concatenate([[0.0], np.cumsum(h[order]) / h.sum()])
    return float(1.0 - (np.diff(y) * (x[1:] + x[:-1])).sum())


def tract_conditions(tracts: pd.DataFrame) -> pd.DataFrame:
    """The boolean tract conditions of :data:`CONDITIONS`. Poverty thresholds are "at
    least"; majority non-white means a non-white share above one half. Tracts without a
    rate (nobody in the universe) meet no condition."""
    missing = [c for c in REQUIRED_TRACT_COLUMNS if c not in tracts.columns]
    if missing:
        raise ValueError(f"tract table: missing column(s) {missing}")
    poverty = tracts["poverty_rate"].astype(float)
    return pd.DataFrame(
        {
            "recap": tracts["recap"].fillna(False).astype(bool),
            "poverty_20": poverty.ge(0.20).fillna(False),
            "poverty_40": poverty.ge(0.40).fillna(False),
            "majority_nonwhite": tracts["nonwhite_share"].astype(float).gt(0.5).fillna(False),
        },
        index=tracts.index,
    )


def _weighted_mean(values: pd.Series, weights: pd.Series) -> float:
    known = values.notna() & (weights > 0)
    total = weights[known].sum()
    return float((values[known] * weights[known]).sum() / total) if total > 0 else np.nan


def _area_metrics(
    frame: pd.DataFrame, units: pd.Series, conditions: pd.DataFrame, towns: pd.Series | None
) -> list[tuple[str, float, float]]:
    """(metric, value, denominator) for one program in one area."""
    total = float(units.sum())
    rows: list[tuple[str, float, float]] = [("units", total, np.nan)]
    if total <= 0:
        return rows
    for metric, condition in CONDITIONS.items():
        rows.append((metric, float(units[conditions[condition]].sum()) / total, total))
    # Units in tracts without a poverty rate or non-white share (no residents or no
    # households counted) meet no condition; their share says how much that matters.
    unclassified = frame["poverty_rate"].isna() | frame["nonwhite_share"].isna()
    rows.append(("share_unclassified", float(units[unclassified].sum()) / total, total))
    rows.append(("host_nonwhite_share", _weighted_mean(frame["nonwhite_share"], units), total))
    rows.append(("host_poverty_rate", _weighted_mean(frame["poverty_rate"], units), total))
    homes = frame["households"].astype(float)
    spreads = [("tracts", units, homes)]
    if towns is not None and towns[towns != ""].nunique() > 1:
        known = towns != ""
        spreads.append(
            ("towns", units[known].groupby(towns[known]).sum(),
             homes[known].groupby(towns[known]).sum())
        )  # fmt: skip
    for across, part, whole in spreads:
        if len(part) < 2 or whole.sum() <= 0:
            continue
        rows.append((f"dissimilarity_{across}", indices.dissimilarity(part, whole), np.nan))
        rows.append((f"gini_{across}", concentration_gini(part, whole), np.nan))
    return rows


def siting_metrics(
    tracts: pd.DataFrame,
    units: pd.DataFrame,
    programs: Sequence[str],
    *,
    levels: Mapping[str, tuple[str, str]] = LEVELS,
    suppressed: Sequence[str] = (),
) -> pd.DataFrame:
    """Siting metrics per program and area, as the tidy table of :data:`SITING_COLUMNS`.

    ``tracts``: one row per tract with :data:`REQUIRED_TRACT_COLUMNS` and the ID and name
    columns of ``levels``. ``units``: one row per tract (``geoid``) with a column per
    program in ``programs`` (units per tract; 0 where none). Every tract of ``units`` must
    be in ``tracts``; tracts missing from ``units`` count as having none. The comparison
    program ``all_housing`` (the tracts' households) is added to every area.

    Programs named in ``suppressed`` may be missing in some tracts (a publisher withheld a
    small count): their metrics cover the tracts with a known count only, homes included,
    and the area gets a ``tracts_suppressed`` row counting the tracts left out. Missing
    counts of any other program raise.
    """
    missing = [c for c in ("geoid", *programs) if c not in units.columns]
    if missing:
        raise ValueError(f"units table: missing column(s) {missing}")
    unknown = set(units["geoid"]) - set(tracts["geoid"])
    if unknown:
        raise ValueError(f"units table: tract(s) not in the tract table: {sorted(unknown)[:5]}")
    repeated = units.loc[units["geoid"].duplicated(), "geoid"]
    if len(repeated):
        raise ValueError(f"units table: tract {repeated.iloc[0]} appears twice")
    for program in programs:
        bad = units[program] < 0
        if program not in suppressed:
            bad |= units[program].isna()
        if bad.any():
            raise ValueError(
                f"units table: {program} is missing or negative for tract "
                f"{units.loc[bad, 'geoid'].iloc[0]}"
            )
    years = tracts["year"].unique()
    if len(years) != 1:
        raise ValueError(f"tract table: expected one year, found {sorted(years)}")
    frame = tracts.reset_index(drop=True)
    conditions = tract_conditions(frame)
    # A tract the units table does not list has none; a listed tract's missing count stays
    # missing (suppressed).
    per_tract = frame[["geoid"]].merge(
        units[["geoid", *programs]].assign(listed=True), on="geoid", how="left"
    )
    unlisted = per_tract.pop("listed").isna()
    per_tract.loc[unlisted, list(programs)] = 0.0
    per_tract[ALL_HOUSING] = frame["households"].astype(float)
    rows = []
    for level, (id_column, name_column) in levels.items():
        if id_column not in frame or frame[id_column].isna().all():
            continue
        ids = area_ids(frame, level, id_column)
        for geography_id, members in frame.groupby(ids, sort=True).groups.items():
            if geography_id == "":
                continue
            positions = frame.index.get_indexer(members)
            area = frame.iloc[positions]
            towns = area["town_geoid"].fillna("").astype(str) if level != "town" else None
            for program in [*programs, ALL_HOUSING]:
                area_units = per_tract[program].iloc[positions].astype(float)
                area_units.index = area.index
                known = area_units.notna().to_numpy()
                metrics = _area_metrics(
                    area[known],
                    area_units[known],
                    conditions.iloc[positions][known],
                    None if towns is None else towns[known],
                )
                if not known.all():
                    metrics.append(("tracts_suppressed", float((~known).sum()), len(known)))
                for metric, value, denominator in metrics:
                    rows.append(
                        {"year": int(years[0]), "program": program, "geography_level": level,
                         "geography_id": geography_id,
                         "geography_name": str(area[name_column].iloc[0]),
                         "metric": metric, "value": value, "denominator": denominator}
                    )  # fmt: skip
    return pd.DataFrame(rows, columns=SITING_COLUMNS)


def appeals_gap(towns: pd.DataFrame) -> pd.DataFrame:
    """Per town and year: whether it is below the 10% threshold, and the assisted units it
    would need to reach it, ceil(0.10 · housing_units − total_assisted) (0 at or above).

    ``towns`` has ``year``, ``town_geoid``, ``housing_units`` and ``total_assisted`` (the
    8-30g list's columns). The lists mark as exempt exactly the towns at or above 10%
    (:mod:`housing_segregation.appeals`), so the threshold alone decides here.
    """
    needed = ["year", "town_geoid", "housing_units", "total_assisted"]
    missing = [c for c in needed if c not in towns.columns]
    if missing:
        raise ValueError(f"town table: missing column(s) {missing}")
    units = towns["housing_units"].astype(float)
    share = towns["total_assisted"].astype(float) / units.where(units > 0)
    gap = np.ceil(APPEALS_THRESHOLD * units - towns["total_assisted"].astype(float) - 1e-9)
    # A town without a share (counts missing) is neither below nor above: missing stays so.
    below = share.lt(APPEALS_THRESHOLD).astype("boolean").mask(share.isna())
    return towns.assign(
        assisted_share=share,
        below_threshold=below,
        units_to_threshold=gap.clip(lower=0).round().astype("Int64"),
    )


def appeals_summary(
    gap: pd.DataFrame, tracts: pd.DataFrame, *, levels: Mapping[str, tuple[str, str]] = LEVELS
) -> pd.DataFrame:
    """Per area above towns, from :func:`appeals_gap` for one list year: the number of
    towns, those below 10% and the units they would need to reach it,
    as rows of :data:`SITING_COLUMNS` with program ``cgs_8_30g`` and the list's year.

    Towns are placed in areas through the tract table (towns nest in counties, planning
    regions and CBSAs); a town of the list with no tract raises.
    """
    years = gap["year"].unique()
    if len(years) != 1:
        raise ValueError(f"town table: expected one list year, found {sorted(years)}")
    placed = gap.merge(
        tracts.drop_duplicates("town_geoid"), on="town_geoid", how="left", suffixes=("", "_tract")
    )
    unplaced = placed.loc[placed["geoid"].isna(), "town_geoid"]
    if len(unplaced):
        raise ValueError(f"town table: town {unplaced.iloc[0]} has no tract in the tract table")
    unknown = placed["below_threshold"].isna()
    if unknown.any():
        raise ValueError(
            f"town table: town {placed.loc[unknown, 'town_geoid'].iloc[0]} has no assisted "
            "share (missing counts); the area summaries would leave it out silently"
        )
    rows = []
    for level, (id_column, name_column) in levels.items():
        if level == "town" or id_column not in placed or placed[id_column].isna().all():
            continue
        ids = area_ids(placed, level, id_column)
        for geography_id, area in placed.groupby(ids, sort=True):
            if geography_id == "":
                continue
            below = area["below_threshold"].astype(bool)
            for metric, value in (
                ("towns", len(area)),
                ("towns_below_10_percent", int(below.sum())),
                ("units_to_10_percent", float(area.loc[below, "units_to_threshold"].sum())),
            ):
                rows.append(
                    {"year": int(years[0]), "program": "cgs_8_30g", "geography_level": level,
                     "geography_id": geography_id,
                     "geography_name": str(area[name_column].iloc[0]),
                     "metric": metric, "value": float(value), "denominator": np.nan}
                )  # fmt: skip
    return pd.DataFrame(rows, columns=SITING_COLUMNS)
