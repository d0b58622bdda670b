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
    units: pd.DataFrame, groups: Iterable[str], reference_group: str
) -> list[dict[str, object]]:
    """Index values for one geography's units (rows lacking geography columns)."""
    rows: list[dict[str, object]] = []
    populated = units[units["total"] > 0]
    for group in groups:
        common = {
            "group": group,
            "n_units": len(populated),
            "population": float(populated["total"].sum()),
        }
        if populated[group].sum() <= 0:
            log.warning("no %s residents in this area; its %s indices are left out", group, group)
            continue
        if populated[reference_group].sum() > 0:
            rows.append(
                {
                    **common,
                    "index": "dissimilarity",
                    "reference_group": reference_group,
                    "value": dissimilarity(populated[group], populated[reference_group]),
                }
            )
            rows.append(
                {
                    **common,
                    "index": "interaction",
                    "reference_group": reference_group,
                    "value": interaction(
                        populated[group], populated[reference_group], populated["total"]
                    ),
                }
            )
        rows.append(
            {
                **common,
                "index": "isolation",
                "reference_group": "",
                "value": isolation(populated[group], populated["total"]),
            }
        )
    in_universe = units[units["poverty_universe"] > 0]
    if in_universe["below_poverty"].sum() > 0 and in_universe["above_poverty"].sum() > 0:
        rows.append(
            {
                "index": "dissimilarity",
                "group": "below_poverty",
                "reference_group": "above_poverty",
                "value": dissimilarity(in_universe["below_poverty"], in_universe["above_poverty"]),
                "n_units": len(in_universe),
                "population": float(in_universe["poverty_universe"].sum()),
            }
        )
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
    needed = ["total", reference_group, *groups, "poverty_universe", "below_poverty"]
    needed.append("above_poverty")
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
            for row in _rows_for_area(units, groups, reference_group):
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
    """Write indices.csv with IDs as strings and values at full float precision."""
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
