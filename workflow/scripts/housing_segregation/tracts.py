"""The normalisation stage: one tidy tract table per state and ACS year."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd

from .acs import read_acs_tracts
from .geography import assign_towns, attach_tract_geometry, read_boundaries, read_tract_crosswalk
from .regions import (
    assign_cbsas,
    assign_planning_regions,
    read_cbsa_delineation,
    read_planning_regions,
)

log = logging.getLogger(__name__)

#: Leading identifier columns of the tract table, in order.
ID_COLUMNS = [
    "year",
    "geography_level",
    "geoid",
    "name",
    "state_fips",
    "state_name",
    "county_geoid",
    "county_name",
    "town_geoid",
    "town_name",
    "boundary_geoid",
]


def build_tract_table(
    *,
    year: int,
    acs_path: str | Path,
    tract_boundaries_path: str | Path,
    town_boundaries_path: str | Path,
    crs: str,
    crosswalk_path: str | Path | None = None,
    crosswalk_spec: dict | None = None,
    state: str | None = None,
    cbsa_delineation_path: str | Path | None = None,
    cbsa_delineation_vintage: int | None = None,
    run_states: list[str] | None = None,
    planning_regions_path: str | Path | None = None,
    planning_regions_spec: dict | None = None,
) -> gpd.GeoDataFrame:
    """Join the ACS tract table to tract polygons and towns, in the projected ``crs``.

    With ``state``, every ACS tract must be of that state (a file under the wrong name
    would otherwise be measured as another state)."""
    tracts = read_acs_tracts(acs_path, year=year)
    if state is not None and not (tracts["state_fips"] == state).all():
        found = sorted(set(tracts["state_fips"]))
        raise ValueError(f"{acs_path}: expected tracts of state {state}, found states {found}")
    crosswalk = None
    if crosswalk_spec is not None:
        if crosswalk_path is None:
            raise ValueError("a tract GEOID crosswalk applies but no crosswalk file was given")
        crosswalk = read_tract_crosswalk(
            crosswalk_path,
            boundary_geoid_column=crosswalk_spec["boundary_geoid_column"],
            acs_geoid_column=crosswalk_spec["acs_geoid_column"],
        )
    boundaries = read_boundaries(tract_boundaries_path, "tract")
    with_shapes = attach_tract_geometry(
        tracts, boundaries, crosswalk=crosswalk, source=str(tract_boundaries_path)
    )
    towns = read_boundaries(town_boundaries_path, "cousub")
    result = assign_towns(with_shapes, towns, crs=crs, source=str(town_boundaries_path))
    if cbsa_delineation_path is not None:
        result = assign_cbsas(
            result,
            read_cbsa_delineation(cbsa_delineation_path),
            vintage=int(cbsa_delineation_vintage),
            run_states=run_states or [state or result["state_fips"].iloc[0]],
            source=str(cbsa_delineation_path),
        )
    if planning_regions_path is not None:
        regions = read_planning_regions(
            planning_regions_path,
            town_column=planning_regions_spec["town_column"],
            id_column=planning_regions_spec["id_column"],
            name_column=planning_regions_spec["name_column"],
        )
        result = assign_planning_regions(result, regions, source=str(planning_regions_path))
    result = result.to_crs(crs)
    ordered = ID_COLUMNS + [c for c in result.columns if c not in ID_COLUMNS]
    result = result[ordered].sort_values("geoid", ignore_index=True)
    log.info(
        "%d tracts in %d counties and %d towns; population %d",
        len(result),
        result["county_geoid"].nunique(),
        result["town_geoid"].nunique(),
        int(result["total"].sum()),
    )
    return result
