"""The normalisation stage: one tidy tract table per state and ACS year."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd

from .acs import read_acs_tracts
from .config import boundary_vintage, cbsa_delineation_vintage, tract_crosswalk_for
from .geography import assign_towns, attach_tract_geometry, read_boundaries, read_tract_crosswalk
from .paths import acs_layout, boundary_layout, delineation_layout, mirror_file
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


def build_tract_table_from_layout(
    raw_root: str | Path, config: Mapping[str, Any], *, state: str, year: int
) -> gpd.GeoDataFrame:
    """The tract table of one state-year from a folder in the raw-input layout (a mirror,
    or ``resources/``), with the inputs and settings the pipeline would use for ``config``
    (validated, defaults filled). For notebooks, tests and benchmarks."""
    root = Path(raw_root)

    def layout_file(candidates: list[str]) -> Path:
        return Path(mirror_file(root, candidates))

    def boundary_candidates(layer: str) -> list[str]:
        vintage = boundary_vintage(config, year, layer)
        return [boundary_layout(vintage, state, layer, ext) for ext in ("zip", "geojson")]

    crosswalk = tract_crosswalk_for(config, state, year)
    regions = config["planning_regions"].get(state)
    delineation = cbsa_delineation_vintage(config, year)
    return build_tract_table(
        year=year,
        state=state,
        acs_path=layout_file([acs_layout(year, state)]),
        tract_boundaries_path=layout_file(boundary_candidates("tract")),
        town_boundaries_path=layout_file(boundary_candidates("cousub")),
        crs=config["crs"],
        crosswalk_path=layout_file([crosswalk["path"]]) if crosswalk else None,
        crosswalk_spec=crosswalk,
        cbsa_delineation_path=layout_file([delineation_layout(delineation, state)]),
        cbsa_delineation_vintage=delineation,
        run_states=[state],
        planning_regions_path=layout_file([regions["path"]]) if regions else None,
        planning_regions_spec=regions,
    )
