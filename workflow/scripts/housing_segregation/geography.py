"""Boundaries: reading Census cartographic files and joining them to ACS units (tracts or
block groups) and towns."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd

from .units import TRACT, UNIT_LEVELS, UnitLevel

log = logging.getLogger(__name__)


def unit_label(units: pd.DataFrame) -> str:
    """What a unit table's rows are, for messages: "tract" or "block group"."""
    if "geography_level" not in units or units.empty:
        return "tract"
    return UNIT_LEVELS[str(units["geography_level"].iloc[0])].label


def read_boundaries(path: str | Path, layer: str) -> gpd.GeoDataFrame:
    """Read a cartographic boundary file, as a zip shapefile or GeoJSON.

    Returns GEOID (string, with leading zeros), STATEFP, COUNTYFP, the layer's own code
    (TRACTCE, BLKGRPCE or COUSUBFP), NAME where present, and the geometry.
    """
    path = Path(path)
    if path.suffix not in {".zip", ".geojson", ".json"}:
        raise ValueError(f"{path}: boundary files must be a zip shapefile or GeoJSON")
    try:
        frame = gpd.read_file(path)
    except Exception as error:  # pyogrio raises several types for unreadable files
        raise ValueError(f"{path}: cannot read boundaries ({error})") from error
    code_column = {
        "cousub": "COUSUBFP",
        **{unit.boundary_layer: unit.boundary_code_column for unit in UNIT_LEVELS.values()},
    }[layer]
    missing = [c for c in ("GEOID", "STATEFP", "COUNTYFP", code_column) if c not in frame]
    if missing:
        raise ValueError(f"{path}: missing columns {', '.join(missing)}")
    if frame.crs is None:
        raise ValueError(f"{path}: no coordinate reference system")
    keep = ["GEOID", "STATEFP", "COUNTYFP", code_column]
    if "NAME" in frame:
        keep.append("NAME")
    frame = frame[[*keep, "geometry"]].copy()
    for column in keep:
        frame[column] = frame[column].astype(str)
    if frame["GEOID"].duplicated().any():
        raise ValueError(
            f"{path}: duplicate GEOID {frame['GEOID'][frame.GEOID.duplicated()].iloc[0]}"
        )
    return frame


def read_tract_crosswalk(
    path: str | Path, *, boundary_geoid_column: str, acs_geoid_column: str
) -> pd.DataFrame:
    """Read a boundary-GEOID -> ACS-GEOID tract crosswalk as two 11-character columns.

    Published crosswalks sometimes drop the leading zero (CSV round trips through
    spreadsheets), so IDs are left-padded back to 11 digits.
    """
    path = Path(path)
    table = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    missing = [c for c in (boundary_geoid_column, acs_geoid_column) if c not in table]
    if missing:
        raise ValueError(f"{path}: missing crosswalk column(s) {', '.join(missing)}")
    crosswalk = pd.DataFrame(
        {
            "boundary_geoid": table[boundary_geoid_column].str.strip().str.zfill(11),
            "geoid": table[acs_geoid_column].str.strip().str.zfill(11),
        }
    )
    bad = ~crosswalk["boundary_geoid"].str.fullmatch(r"\d{11}") | ~crosswalk["geoid"].str.fullmatch(
        r"\d{11}"
    )
    if bad.any():
        row = int(bad.idxmax()) + 2  # header is line 1
        raise ValueError(f"{path}: line {row} does not hold two 11-digit tract GEOIDs")
    for column in ("boundary_geoid", "geoid"):
        duplicated = crosswalk[column].duplicated()
        if duplicated.any():
            raise ValueError(f"{path}: tract {crosswalk[column][duplicated].iloc[0]} appears twice")
    return crosswalk


def attach_unit_geometry(
    units: pd.DataFrame,
    boundaries: gpd.GeoDataFrame,
    *,
    crosswalk: pd.DataFrame | None = None,
    unit: UnitLevel = TRACT,
    source: str = "tract boundaries",
) -> gpd.GeoDataFrame:
    """Join ACS units (tracts or block groups) to their boundary polygons.

    With a tract crosswalk, boundary GEOIDs are first translated to ACS GEOIDs; a block
    group's is its tract's translated GEOID and its own digit. A populated ACS unit without
    a polygon is an error; unpopulated ones (water tracts that the 1:500k files omit) are
    dropped and logged.
    """
    label = unit.label
    shapes = boundaries[["GEOID", "geometry"]].rename(columns={"GEOID": "boundary_geoid"})
    if crosswalk is not None:
        shapes["boundary_tract"] = shapes["boundary_geoid"].str[:11]
        shapes = shapes.merge(
            crosswalk.rename(columns={"boundary_geoid": "boundary_tract", "geoid": "tract"}),
            on="boundary_tract",
            how="left",
        )
        untranslated = shapes["tract"].isna()
        if untranslated.any():
            raise ValueError(
                f"{source}: {int(untranslated.sum())} boundary {label}(s) are not in the tract "
                f"GEOID crosswalk, e.g. {shapes.loc[untranslated, 'boundary_geoid'].iloc[0]}"
            )
        shapes["geoid"] = shapes["tract"] + shapes["boundary_geoid"].str[11:]
        shapes = shapes.drop(columns=["boundary_tract", "tract"])
    else:
        shapes["geoid"] = shapes["boundary_geoid"]
    joined = units.merge(shapes, on="geoid", how="left", indicator=True)
    unmatched = joined["_merge"] == "left_only"
    populated = unmatched & (joined["total"].fillna(0) > 0)
    if populated.any():
        examples = ", ".join(joined.loc[populated, "geoid"].head(5))
        raise ValueError(
            f"{source}: {int(populated.sum())} populated ACS {label}(s) have no boundary "
            f"polygon, e.g. {examples}. Check boundary_vintages and tract_geoid_crosswalks."
        )
    if unmatched.any():
        log.info(
            "%s: dropped %d unpopulated ACS %s(s) without a polygon: %s",
            source,
            int(unmatched.sum()),
            label,
            ", ".join(joined.loc[unmatched, "geoid"]),
        )
    unused = sorted(set(shapes["geoid"]) - set(units["geoid"]))
    if unused:
        # A truncated ACS file or one of another state would otherwise lose people silently.
        raise ValueError(
            f"{source}: {len(unused)} {label} polygon(s) have no row in the ACS table, e.g. "
            f"{', '.join(unused[:5])}. Is the ACS file complete and of the same state?"
        )
    joined = joined.loc[~unmatched].drop(columns="_merge")
    return gpd.GeoDataFrame(joined, geometry="geometry", crs=boundaries.crs)


def assign_towns(
    tracts: gpd.GeoDataFrame, towns: gpd.GeoDataFrame, *, crs: str, source: str = "towns"
) -> gpd.GeoDataFrame:
    """Give each tract the town (county subdivision) holding most of its area.

    The town GEOID is rebuilt on the tract's ACS county (``county_geoid`` + COUSUBFP), so it
    follows the ACS year's county codes even when the town file is of another vintage
    (Connecticut's 2022 planning regions kept every COUSUBFP). Overlaps are measured in
    the projected ``crs``.
    """
    tract_shapes = tracts[["geoid", "geometry"]].to_crs(crs)
    town_shapes = towns[["GEOID", "STATEFP", "COUNTYFP", "COUSUBFP", "NAME", "geometry"]].to_crs(
        crs
    )
    pieces = gpd.overlay(tract_shapes, town_shapes, how="intersection", keep_geom_type=True)
    pieces["overlap_m2"] = pieces.geometry.area
    best = pieces.sort_values(["geoid", "overlap_m2"], ascending=[True, False]).drop_duplicates(
        "geoid"
    )
    tract_area = tract_shapes.set_index("geoid").geometry.area
    best = best.set_index("geoid")
    share = best["overlap_m2"] / tract_area.reindex(best.index)
    split = share[share < 0.99]
    if not split.empty:
        log.info(
            "%s: %d %s(s) straddle town lines; each goes to its largest part (min %.1f%%)",
            source,
            len(split),
            unit_label(tracts),
            100 * split.min(),
        )
    missing = sorted(set(tracts["geoid"]) - set(best.index))
    if missing:
        raise ValueError(
            f"{source}: {len(missing)} {unit_label(tracts)}(s) overlap no town, e.g. {missing[:5]}"
        )
    town_county = best["STATEFP"] + best["COUNTYFP"]
    tract_county = tracts.set_index("geoid")["boundary_geoid"].str[:5].reindex(best.index)
    crossing = town_county[town_county != tract_county]
    if not crossing.empty:
        raise ValueError(
            f"{source}: {unit_label(tracts)} {crossing.index[0]} lies mostly in a town of county "
            f"{crossing.iloc[0]}, not its own county; the {unit_label(tracts)} and town files "
            "disagree"
        )
    result = tracts.copy()
    result["town_cousub_fips"] = result["geoid"].map(best["COUSUBFP"])
    result["town_name"] = result["geoid"].map(best["NAME"])
    # How much of the tract lies in its town: below 1 the tract straddles a town line.
    result["town_area_share"] = result["geoid"].map(share.clip(upper=1.0)).round(4)
    result["town_geoid"] = result["county_geoid"] + result["town_cousub_fips"]
    return result.drop(columns="town_cousub_fips")
