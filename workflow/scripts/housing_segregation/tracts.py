"""The normalisation stage: one tidy table of units (tracts, or block groups) per state and
ACS year."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd

from .acs import read_acs_units
from .config import boundary_vintage, cbsa_delineation_vintage, tract_crosswalk_for
from .geography import assign_towns, attach_unit_geometry, read_boundaries, read_tract_crosswalk
from .paths import acs_layout, boundary_layout, delineation_layout, mirror_file
from .regions import (
    assign_cbsas,
    assign_planning_regions,
    read_cbsa_delineation,
    read_planning_regions,
)
from .units import TRACT, UnitLevel, unit_level

log = logging.getLogger(__name__)

#: Leading identifier columns of the unit table, in order.
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


def build_unit_table(
    *,
    year: int,
    acs_path: str | Path,
    unit_boundaries_path: str | Path,
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
    unit: UnitLevel | str = TRACT,
) -> gpd.GeoDataFrame:
    """Join the ACS table of ``unit``s (tracts or block groups) to their polygons and towns,
    in the projected ``crs``.

    With ``state``, every ACS unit must be of that state (a file under the wrong name
    would otherwise be measured as another state)."""
    unit = unit_level(unit)
    units = read_acs_units(acs_path, year=year, unit=unit)
    if state is not None and not (units["state_fips"] == state).all():
        found = sorted(set(units["state_fips"]))
        raise ValueError(
            f"{acs_path}: expected {unit.label}s of state {state}, found states {found}"
        )
    crosswalk = None
    if crosswalk_spec is not None:
        if crosswalk_path is None:
            raise ValueError("a tract GEOID crosswalk applies but no crosswalk file was given")
        crosswalk = read_tract_crosswalk(
            crosswalk_path,
            boundary_geoid_column=crosswalk_spec["boundary_geoid_column"],
            acs_geoid_column=crosswalk_spec["acs_geoid_column"],
        )
    boundaries = read_boundaries(unit_boundaries_path, unit.boundary_layer)
    with_shapes = attach_unit_geometry(
        units, boundaries, crosswalk=crosswalk, unit=unit, source=str(unit_boundaries_path)
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
        "%d %ss in %d counties and %d towns; population %d",
        len(result),
        unit.label,
        result["county_geoid"].nunique(),
        result["town_geoid"].nunique(),
        int(result["total"].sum()),
    )
    return result


def build_unit_table_from_layout(
    raw_root: str | Path, config: Mapping[str, Any], *, state: str, year: int
) -> gpd.GeoDataFrame:
    """The unit table (config ``unit_level``) of one state-year from a folder in the
    raw-input layout (a mirror, or ``resources/``), with the inputs and settings the pipeline
    would use for ``config`` (validated, defaults filled). For notebooks, tests and
    benchmarks."""
    unit = unit_level(config["unit_level"])
    root = Path(raw_root)

    def layout_file(candidates: list[str]) -> Path:
        return Path(mirror_file(root, candidates))

    def boundary_candidates(layer: str) -> list[str]:
        vintage = boundary_vintage(config, year, layer)
        return [boundary_layout(vintage, state, layer, ext) for ext in ("zip", "geojson")]

    crosswalk = tract_crosswalk_for(config, state, year, unit.boundary_layer)
    regions = config["planning_regions"].get(state)
    delineation = cbsa_delineation_vintage(config, year)
    return build_unit_table(
        year=year,
        state=state,
        unit=unit,
        acs_path=layout_file([acs_layout(year, state, unit)]),
        unit_boundaries_path=layout_file(boundary_candidates(unit.boundary_layer)),
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
