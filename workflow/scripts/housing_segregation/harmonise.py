"""Counts of one tract geography carried onto another, so ACS years compare on one map.

ACS 5-year tables up to the 2019 end year use 2010 tracts; from 2020 they use 2020 tracts.
To follow a place over time, the older counts move onto the 2020 tracts in *shares*: w_st is
the share of source tract s that lies in target tract t (Σ_t w_st = 1 for every s), and

    x_t = Σ_s w_st · x_s,          moe_t = sqrt(Σ_s (w_st · moe_s)²).

The MOE is the Census Bureau's approximation for a sum of estimates, with the shares taken
as exact (U.S. Census Bureau 2020, *Understanding and Using ACS Data*, ch. 8).

Two sources of shares, best first:

* **The Census 2020-to-2010 relationship file** (``tab20_tract20_tract10_natl.txt``, or for
  block groups ``tab20_blkgrp20_blkgrp10_natl.txt``, or a state's ``_st<ss>.txt``; where it
  comes from is in the vintage table): shares of *land* area, AREALAND_PART /
  AREALAND_TRACT_10 (a unit with no land by its total area).
  :func:`read_relationships`, :func:`relationship_weights`.
* **A boundary overlay** of the two tract layers (the cartographic files), where the
  relationship file is not at hand: shares of total area, coarser, water included.
  :func:`overlay_weights`.

Both assume residents spread evenly over a tract's land (areal interpolation). Population or
housing weights would need counts below the tract: the relationship file gives areas only,
and the 2010 block counts that would weight them are not among the pipeline's inputs. Where
2010 and 2020 tracts coincide, both give a share of 1.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .allocation import whole_units
from .download import relationship_columns
from .measure import INDEX_COLUMNS, sort_indices
from .uncertainty import COMPOSITES
from .units import TRACT, UnitLevel

log = logging.getLogger(__name__)

#: The tidy weights every function here passes on.
WEIGHT_COLUMNS = ["source_geoid", "target_geoid", "weight"]
#: Overlay shares smaller than this are boundary-drawing slivers, not moved residents. On
#: Connecticut's 2010 and 2020 cartographic tracts, shares under 1% hold 0.3% of the area.
OVERLAY_MIN_SHARE = 0.01
#: A source tract's shares must add to 1 within this (floating point, rounded areas).
WEIGHT_TOLERANCE = 1e-6


def read_relationships(path: str | Path, *, state: str, unit: UnitLevel = TRACT) -> pd.DataFrame:
    """The land-area shares of one state's 2010 tracts (or block groups) in its 2020 ones,
    from the Census relationship file (pipe-delimited, national or state), as
    :data:`WEIGHT_COLUMNS`.

    Errors name the file and the missing columns or the row that cannot be read."""
    columns = relationship_columns(unit)
    target_id, source_id, source_land, source_water, *_ = columns
    table = pd.read_csv(path, sep="|", dtype=str, keep_default_na=False)
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise ValueError(
            f"{path}: not a 2020-to-2010 {unit.label} relationship file; no column(s) "
            f"{', '.join(missing)}"
        )
    table = table[table[source_id].str.startswith(state)]
    if table.empty:
        raise ValueError(f"{path}: no 2010 {unit.label} of state {state}")
    areas = {}
    for column in columns[2:]:
        values = pd.to_numeric(table[column], errors="coerce")
        bad = values.isna() | (values < 0)
        if bad.any():
            row = table.index[bad.to_numpy()][0] + 2  # 1-based, after the header
            raise ValueError(
                f"{path} line {row}: {column} {table.loc[bad].iloc[0][column]!r} "
                "is not an area in square metres"
            )
        areas[column] = values.to_numpy(dtype=float)
    land = areas[source_land]
    # A unit with no land (a water tract) is shared by total area.
    by_land = land > 0
    part = np.where(
        by_land, areas["AREALAND_PART"], areas["AREALAND_PART"] + areas["AREAWATER_PART"]
    )
    whole = np.where(by_land, land, land + areas[source_water])
    weights = pd.DataFrame(
        {
            "source_geoid": table[source_id].to_numpy(),
            "target_geoid": table[target_id].to_numpy(),
            "weight": np.divide(part, whole, out=np.zeros_like(part), where=whole > 0),
        }
    )
    # A 2010 tract's sliver in a 2020 tract it only touches carries no area: drop it.
    return weights[weights["weight"] > 0].reset_index(drop=True)


def relationship_weights(
    path: str | Path,
    source: pd.DataFrame,
    target: pd.DataFrame,
    *,
    state: str,
    unit: UnitLevel = TRACT,
    boundary_column: str = "boundary_geoid",
) -> pd.DataFrame:
    """The relationship file's land-area shares of the ``source`` year's tracts (2010 tracts)
    in the ``target`` year's tracts (2020 tracts), keyed by the two tables' ``geoid``s.

    The file names 2020 tracts by their census GEOIDs, which the target table keeps in
    ``boundary_column`` (its ``geoid`` may differ: Connecticut's planning-region codes from
    2022). Shares in a 2020 tract the target table lacks are dropped and the rest of the
    source tract's shares rescaled, as the overlay does with area outside every target."""
    weights = read_relationships(path, state=state, unit=unit)
    target_ids = target[boundary_column if boundary_column in target else "geoid"]
    by_census_id = pd.Series(target["geoid"].to_numpy(), index=target_ids.to_numpy())
    weights = weights[weights["source_geoid"].isin(set(source["geoid"]))].copy()
    weights["target_geoid"] = weights["target_geoid"].map(by_census_id)
    lost = weights["target_geoid"].isna()
    if lost.any():
        log.warning(
            "%s: %d share(s) (%.4f of the source tracts' land, summed) lie in 2020 tracts "
            "the target table lacks; rescaled onto the source tracts' other shares",
            path,
            int(lost.sum()),
            float(weights.loc[lost, "weight"].sum()),
        )
        weights = weights[~lost].copy()
    weights["weight"] = weights["weight"] / weights.groupby("source_geoid")["weight"].transform(
        "sum"
    )
    return (
        weights[WEIGHT_COLUMNS].sort_values(["source_geoid", "target_geoid"]).reset_index(drop=True)
    )


def overlay_weights(
    source: gpd.GeoDataFrame,
    target: gpd.GeoDataFrame,
    *,
    id_column: str = "geoid",
    min_share: float = OVERLAY_MIN_SHARE,
) -> pd.DataFrame:
    """The area shares of each ``source`` polygon in each ``target`` polygon, from their
    intersection (both in one projected CRS), as :data:`WEIGHT_COLUMNS`.

    Shares below ``min_share`` are dropped and the rest rescaled to add to 1: generalised
    boundary files of two vintages do not trace the same line, and the slivers between them
    would move people across streets that did not change. So is a source polygon's area
    outside every target (a coastline drawn differently)."""
    if source.crs is None or source.crs != target.crs or not source.crs.is_projected:
        raise ValueError(
            f"overlay: both layers need one projected CRS, got {source.crs} and {target.crs}"
        )
    pieces = gpd.overlay(
        source[[id_column, "geometry"]].rename(columns={id_column: "source_geoid"}),
        target[[id_column, "geometry"]].rename(columns={id_column: "target_geoid"}),
        how="intersection",
        keep_geom_type=True,
    )
    pieces["area"] = pieces.geometry.area
    share = pieces["area"] / pieces.groupby("source_geoid")["area"].transform("sum")
    pieces = pieces[share >= min_share].copy()
    pieces["weight"] = pieces["area"] / pieces.groupby("source_geoid")["area"].transform("sum")
    return (
        pieces[WEIGHT_COLUMNS].sort_values(["source_geoid", "target_geoid"]).reset_index(drop=True)
    )


def check_weights(weights: pd.DataFrame, source_ids: Sequence[str], *, source: str) -> None:
    """Every source tract has shares, and they add to 1; errors name the tract."""
    totals = weights.groupby("source_geoid")["weight"].sum()
    missing = sorted(set(source_ids) - set(totals.index))
    if missing:
        raise ValueError(f"{source}: no shares for {len(missing)} tract(s), e.g. {missing[0]}")
    off = totals[(totals - 1).abs() > WEIGHT_TOLERANCE]
    if len(off):
        raise ValueError(
            f"{source}: the shares of tract {off.index[0]} add to {off.iloc[0]:.6f}, not 1"
        )


def interpolate_counts(
    counts: pd.DataFrame, weights: pd.DataFrame, columns: Sequence[str], *, id_column: str = "geoid"
) -> pd.DataFrame:
    """Counts (and their ``<column>_moe``, where present) of the source tracts carried onto the
    target tracts; one row per target tract with any share, indexed by ``target_geoid``."""
    joined = weights.merge(
        counts[[id_column, *columns, *(f"{c}_moe" for c in columns if f"{c}_moe" in counts)]],
        left_on="source_geoid",
        right_on=id_column,
        how="inner",
        validate="m:1",
    )
    result = {}
    for column in columns:
        result[column] = (joined["weight"] * joined[column]).groupby(joined["target_geoid"]).sum()
        if f"{column}_moe" in joined:
            squared = (joined["weight"] * joined[f"{column}_moe"]) ** 2
            moe = np.sqrt(squared.groupby(joined["target_geoid"]).sum())
            # An unknown MOE in a share leaves the sum's MOE unknown, not smaller.
            unknown = joined[f"{column}_moe"].isna().groupby(joined["target_geoid"]).any()
            result[f"{column}_moe"] = moe.mask(unknown)
    return pd.DataFrame(result).rename_axis("target_geoid")


#: Estimates that do not add up over tracts (medians): left out of a harmonised table.
INTENSIVE_COLUMNS = ("median_household_income",)


def count_columns(tracts: pd.DataFrame) -> list[str]:
    """The additive counts of a tract table: every estimate with a ``_moe`` column, but the
    :data:`INTENSIVE_COLUMNS`."""
    return [
        column
        for column in tracts.columns
        if f"{column}_moe" in tracts and column not in INTENSIVE_COLUMNS
    ]


def harmonised_unit_table(
    source: gpd.GeoDataFrame,
    target: gpd.GeoDataFrame,
    *,
    min_share: float = OVERLAY_MIN_SHARE,
    weights: pd.DataFrame | None = None,
    weights_source: str = "tract overlay",
) -> gpd.GeoDataFrame:
    """The ``source`` year's counts on the ``target`` year's units (both unit tables of one
    state, tracts or block groups, as the normalisation stage writes them): the target's IDs,
    areas, geometry and geography (towns, regions, CBSAs of the target year), the source's
    year, and its counts carried by ``weights`` (:data:`WEIGHT_COLUMNS`, e.g.
    :func:`relationship_weights`) or, without them, by :func:`overlay_weights` of the two
    tables' unit polygons. Medians are
    left empty: they do not add up. Counts are whole numbers that keep each state total."""
    if weights is None:
        weights = overlay_weights(source, target, min_share=min_share)
    check_weights(weights, source["geoid"].tolist(), source=weights_source)
    columns = count_columns(source)
    moved = interpolate_counts(source, weights, columns)
    table = target.drop(columns=[c for c in target.columns if c in moved or c.endswith("_moe")])
    table = table.merge(moved, left_on="geoid", right_index=True, how="left")
    # A target tract no source tract reaches (none in practice) has no residents.
    table[list(moved.columns)] = table[list(moved.columns)].fillna(0.0)
    # Whole people, as the tests of the measurement draw them: each count rounded keeping
    # its state total (largest remainders), then the sums rebuilt from their rounded parts.
    for column in columns:
        table[column] = whole_units(table[column].to_numpy())
    for name, parts in COMPOSITES.items():
        if name in table and all(part in table for part in parts):
            table[name] = table[list(parts)].sum(axis=1)
    for column in INTENSIVE_COLUMNS:
        if column in target:
            table[column] = np.nan
            table[f"{column}_moe"] = np.nan
    table["year"] = int(source["year"].iloc[0])
    return gpd.GeoDataFrame(table[list(target.columns)], geometry="geometry", crs=target.crs)


#: How the shares were made, as the harmonise log records it.
WEIGHT_SOURCES = {
    "relationship_file": "Census relationship file {path} (land-area shares)",
    "overlay": "boundary overlay of the two years' unit layers (total-area shares)",
}


def harmonise_units(
    source: gpd.GeoDataFrame,
    target: gpd.GeoDataFrame,
    *,
    state: str,
    unit: UnitLevel = TRACT,
    relationships: str | Path | None = None,
) -> gpd.GeoDataFrame:
    """:func:`harmonised_unit_table` (of tracts, or block groups: ``unit``) with the
    relationship file's shares where the run has the file, else the overlay's; the log says
    which."""
    if relationships:
        described = WEIGHT_SOURCES["relationship_file"].format(path=relationships)
        weights = relationship_weights(relationships, source, target, state=state, unit=unit)
    else:
        described, weights = WEIGHT_SOURCES["overlay"], None
    log.info("state %s: shares from the %s", state, described)
    return harmonised_unit_table(source, target, weights=weights, weights_source=described)


#: Columns of tables/indices_timeseries.csv after the indices' own.
TIMESERIES_COLUMNS = ["tract_geography", "harmonised"]


def timeseries_table(
    native: Sequence[pd.DataFrame], harmonised: Sequence[pd.DataFrame], decades: dict[int, int]
) -> pd.DataFrame:
    """Every year's indices on its own tracts (``harmonised`` False) and, for the years on
    older tracts, on the latest year's tracts (True), with the tract geography (decade) of
    each value: the rows of the latest decade are one series on one geography."""
    latest = decades[max(decades)]
    parts = [(sort_indices(table), False, table["year"].map(decades)) for table in native] + [
        (sort_indices(table), True, latest) for table in harmonised
    ]
    table = pd.concat(
        [rows.assign(tract_geography=decade, harmonised=flag) for rows, flag, decade in parts],
        ignore_index=True,
    )
    if table["tract_geography"].isna().any():
        raise ValueError("indices: a year without a tract geography")
    table["tract_geography"] = table["tract_geography"].astype(int)
    order = table["year"] * 2 + table["harmonised"].astype(int)
    table = table.iloc[np.argsort(order.to_numpy(), kind="stable")].reset_index(drop=True)
    return table[[*INDEX_COLUMNS, *TIMESERIES_COLUMNS]]
