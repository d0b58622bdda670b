"""The measurement stage: indices per geography, as the tidy ``indices.csv`` table."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
import pandas as pd

from .indices import dissimilarity, interaction, isolation

log = logging.getLogger(__name__)

#: Columns of indices.csv, in order (docs/outputs.md).
INDEX_COLUMNS = [
    "year",
    "geography_level",
    "geography_id",
    "geography_name",
    "unit_level",
    "index",
    "group",
    "reference_group",
    "value",
    "n_units",
    "population",
]

#: Geography level -> (ID column, name column) in the tract table.
LEVELS = {
    "state": ("state_fips", "state_name"),
    "county": ("county_geoid", "county_name"),
}


def _rows_for_area(
    units: pd.DataFrame, groups: Iterable[str], reference_group: str, area: str
) -> list[dict[str, object]]:
    """Index values for one geography's units (rows lacking geography columns).

    A group absent from the area gets no rows (its indices are undefined), and a log line."""
    rows: list[dict[str, object]] = []

    def add(index, group, reference, value, in_scope: pd.DataFrame, universe: str) -> None:
        rows.append(
            {
                "index": index,
                "group": group,
                "reference_group": reference,
                "value": value,
                "n_units": len(in_scope),
                "population": float(in_scope[universe].sum()),
            }
        )

    populated = units[units["total"] > 0]
    total = populated["total"]
    reference = populated[reference_group]
    if reference.sum() <= 0:
        log.warning("%s: no %s residents; pairwise indices are left out", area, reference_group)
    for group in groups:
        counts = populated[group]
        if counts.sum() <= 0:
            log.warning("%s: no %s residents; their indices are left out", area, group)
            continue
        if reference.sum() > 0:
            add("dissimilarity", group, reference_group, dissimilarity(counts, reference),
                populated, "total")  # fmt: skip
            add("interaction", group, reference_group, interaction(counts, reference, total),
                populated, "total")  # fmt: skip
        add("isolation", group, "", isolation(counts, total), populated, "total")
    in_universe = units[units["poverty_universe"] > 0]
    below, above = in_universe["below_poverty"], in_universe["above_poverty"]
    if below.sum() > 0 and above.sum() > 0:
        add("dissimilarity", "below_poverty", "above_poverty", dissimilarity(below, above),
            in_universe, "poverty_universe")  # fmt: skip
    else:
        log.warning("%s: nobody below or nobody above poverty; no poverty index", area)
    return rows


def compute_indices(
    tracts: pd.DataFrame,
    *,
    groups: Iterable[str],
    reference_group: str,
    unit_level: str = "tract",
) -> pd.DataFrame:
    """Indices for every state and county in ``tracts`` (one state-year of units).

    ``n_units`` counts the units with people (or, for poverty, people with a poverty
    status); ``population`` is their total population (or poverty universe).
    """
    groups = list(groups)
    needed = [
        "total",
        reference_group,
        *groups,
        "poverty_universe",
        "below_poverty",
        "above_poverty",
    ]
    for column in needed:
        if column not in tracts:
            raise ValueError(f"tract table: missing column {column!r}")
        if tracts[column].isna().any():
            example = tracts.loc[tracts[column].isna(), "geoid"].iloc[0]
            raise ValueError(f"tract table: {column} is missing for tract {example}")
    years = tracts["year"].unique()
    if len(years) != 1:
        raise ValueError(f"tract table: expected one year, found {sorted(years)}")
    rows = []
    for level, (id_column, name_column) in LEVELS.items():
        for (geography_id, geography_name), units in tracts.groupby(
            [id_column, name_column], sort=True
        ):
            area = f"{level} {geography_id} ({geography_name})"
            for row in _rows_for_area(units, groups, reference_group, area):
                rows.append(
                    {
                        "year": int(years[0]),
                        "geography_level": level,
                        "geography_id": geography_id,
                        "geography_name": geography_name,
                        "unit_level": unit_level,
                        **row,
                    }
                )
    table = pd.DataFrame(rows, columns=INDEX_COLUMNS)
    table["n_units"] = table["n_units"].astype(np.int64)
    table["population"] = table["population"].round().astype(np.int64)
    return sort_indices(table)


def sort_indices(table: pd.DataFrame) -> pd.DataFrame:
    """Canonical row order, so the same values always give the same file."""
    level_order = {level: rank for rank, level in enumerate(LEVELS)}
    return (
        table.assign(_level=table["geography_level"].map(level_order))
        .sort_values(["year", "_level", "geography_id", "index", "group", "reference_group"])
        .drop(columns="_level")
        .reset_index(drop=True)[INDEX_COLUMNS]
    )


def write_indices_csv(table: pd.DataFrame, path) -> None:
    """Write indices.csv with IDs as strings and values to 10 significant digits (far below
    ACS sampling error, and free of float noise that would differ between platforms)."""
    table[INDEX_COLUMNS].to_csv(path, index=False, float_format="%.10g", lineterminator="\n")


def read_indices_csv(path) -> pd.DataFrame:
    return pd.read_csv(
        path,
        dtype={"geography_id": str, "reference_group": str},
        keep_default_na=False,
        na_values={"value": [""]},
    )


def combine_indices(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Stack per state-year index tables; a geography-year may appear only once."""
    combined = pd.concat(tables, ignore_index=True)
    key = ["year", "geography_level", "geography_id", "index", "group", "reference_group"]
    duplicated = combined.duplicated(key)
    if duplicated.any():
        row = combined.loc[duplicated, key].iloc[0].to_dict()
        raise ValueError(f"indices: the same value appears twice: {row}")
    return sort_indices(combined)
