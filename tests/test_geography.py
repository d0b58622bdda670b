"""Tests for housing_segregation.geography (and the tract table built from real CT files).

Synthetic layout used throughout (EPSG:5070, metres): three 1 km × 1 km square tracts in a
row along the x axis, and two towns splitting that row at x = ``split``.

    x:  0        1000       2000       3000
        | tract 1 | tract 2  | tract 3  |        boundary GEOIDs 09001000100/200/300
        |  town A (00010)  |  town B (00020)   split = 1400 by default

The boundary file uses the old county 001; the ACS uses the new county 120 (as Connecticut's
2022 planning regions did), linked by a crosswalk.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from housing_segregation.geography import (
    assign_towns,
    attach_unit_geometry,
    read_boundaries,
    read_tract_crosswalk,
)
from housing_segregation.units import BLOCK_GROUP

CRS = "EPSG:5070"
OLD = ["09001000100", "09001000200", "09001000300"]  # boundary-file GEOIDs
NEW = ["09120000100", "09120000200", "09120000300"]  # ACS GEOIDs


def tract_frame(geoids=OLD, crs=CRS) -> gpd.GeoDataFrame:
    # Synthetic tracts: squares [1000·i, 1000·(i+1)] × [0, 1000], 1 km² each.
    return gpd.GeoDataFrame(
        {
            "GEOID": list(geoids),
            "STATEFP": [g[:2] for g in geoids],
            "COUNTYFP": [g[2:5] for g in geoids],
            "TRACTCE": [g[5:] for g in geoids],
        },
        geometry=[box(1000 * i, 0, 1000 * (i + 1), 1000) for i in range(len(geoids))],
        crs=crs,
    )


def town_frame(split: float = 1400, county: str = "001") -> gpd.GeoDataFrame:
    # Synthetic towns: A = [0, split] × [0, 1000], B = [split, 3000] × [0, 1000].
    return gpd.GeoDataFrame(
        {
            "GEOID": [f"09{county}00010", f"09{county}00020"],
            "STATEFP": ["09", "09"],
            "COUNTYFP": [county, county],
            "COUSUBFP": ["00010", "00020"],
            "NAME": ["Alpha", "Beta"],
        },
        geometry=[box(0, 0, split, 1000), box(split, 0, 3000, 1000)],
        crs=CRS,
    )


def acs_frame(rows: list[tuple[str, float]]) -> pd.DataFrame:
    """Synthetic ACS tract rows: (GEOID, total population)."""
    return pd.DataFrame(
        {
            "geoid": [g for g, _ in rows],
            "county_geoid": [g[:5] for g, _ in rows],
            "total": [float(t) for _, t in rows],
        }
    )


PAIRS = tuple(zip(OLD, NEW, strict=True))  # boundary GEOID -> ACS GEOID


def crosswalk_frame(pairs=PAIRS) -> pd.DataFrame:
    return pd.DataFrame({"boundary_geoid": [a for a, _ in pairs], "geoid": [b for _, b in pairs]})


def write_csv(path, lines: list[str], bom: bool = True) -> None:
    path.write_text(("\ufeff" if bom else "") + "\n".join(lines) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------------
# read_boundaries
# --------------------------------------------------------------------------------------------


@pytest.fixture(params=["geojson", "zip"])
def boundary_files(request, tmp_path):
    """The synthetic tracts and towns written as GeoJSON or as zipped shapefiles."""
    suffix = {"geojson": ".geojson", "zip": ".shp.zip"}[request.param]
    tracts_path = tmp_path / f"tracts{suffix}"
    towns_path = tmp_path / f"towns{suffix}"
    tract_frame().to_file(tracts_path)
    town_frame().to_file(towns_path)
    return tracts_path, towns_path


def test_read_boundaries_reads_geojson_and_zip_shapefiles(boundary_files):
    tracts_path, towns_path = boundary_files
    tracts = read_boundaries(tracts_path, "tract")
    assert list(tracts.columns) == ["GEOID", "STATEFP", "COUNTYFP", "TRACTCE", "geometry"]
    assert tracts["GEOID"].tolist() == OLD
    assert tracts["COUNTYFP"].tolist() == ["001"] * 3  # leading zeros kept
    assert tracts.crs.to_epsg() == 5070
    # Each square is 1000 m × 1000 m = 1e6 m².
    assert tracts.geometry.area.tolist() == pytest.approx([1e6] * 3)
    towns = read_boundaries(towns_path, "cousub")
    assert list(towns.columns) == ["GEOID", "STATEFP", "COUNTYFP", "COUSUBFP", "NAME", "geometry"]
    assert towns["COUSUBFP"].tolist() == ["00010", "00020"]
    assert towns["NAME"].tolist() == ["Alpha", "Beta"]


def test_read_boundaries_rejects_other_formats(tmp_path):
    path = tmp_path / "tracts.shp"
    tract_frame().to_file(path)
    with pytest.raises(ValueError, match=r"tracts\.shp: boundary files must be a zip shapefile"):
        read_boundaries(path, "tract")


@pytest.mark.parametrize("content", [None, "this is not GeoJSON", '{"type": "Feat'])
def test_read_boundaries_names_an_unreadable_file(tmp_path, content):
    path = tmp_path / "broken.geojson"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ValueError, match=r"broken\.geojson: cannot read boundaries"):
        read_boundaries(path, "tract")


def write_tracts(path, frame=None):
    (tract_frame() if frame is None else frame).to_file(path)
    return path


def test_read_boundaries_names_missing_columns(tmp_path):
    path = write_tracts(tmp_path / "t.geojson", tract_frame().drop(columns=["TRACTCE", "COUNTYFP"]))
    with pytest.raises(ValueError, match=r"t\.geojson: missing columns COUNTYFP, TRACTCE$"):
        read_boundaries(path, "tract")
    # Read as the town layer, a tract file lacks the town code column.
    with pytest.raises(ValueError, match=r"missing columns COUSUBFP$"):
        read_boundaries(write_tracts(tmp_path / "t2.geojson"), "cousub")


def test_read_boundaries_rejects_duplicate_geoids(tmp_path):
    path = write_tracts(tmp_path / "t.geojson", tract_frame([OLD[0], OLD[1], OLD[1]]))
    with pytest.raises(ValueError, match=rf"duplicate GEOID {OLD[1]}"):
        read_boundaries(path, "tract")


def test_read_boundaries_requires_a_crs(tmp_path):
    # A shapefile written without a .prj has no CRS.
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        path = write_tracts(
            tmp_path / "t.shp.zip", tract_frame().set_crs(None, allow_override=True)
        )
    with pytest.raises(ValueError, match=r"no coordinate reference system"):
        read_boundaries(path, "tract")


# --------------------------------------------------------------------------------------------
# read_tract_crosswalk
# --------------------------------------------------------------------------------------------


def test_crosswalk_restores_leading_zeros(tmp_path):
    path = tmp_path / "xwalk.csv"
    # Synthetic: IDs lost their leading zero (spreadsheet round trip), one keeps it, one has
    # spaces; an extra column is ignored. The file starts with a BOM, like the real one.
    write_csv(
        path,
        [
            "tract_2020,tract_2022,town",
            "9001000100,9120000100,Alpha",
            "09001000200,09120000200,Beta",
            " 9001000300 , 9120000300 ,Beta",
        ],
    )
    crosswalk = read_tract_crosswalk(
        path, boundary_geoid_column="tract_2020", acs_geoid_column="tract_2022"
    )
    assert list(crosswalk.columns) == ["boundary_geoid", "geoid"]
    assert crosswalk["boundary_geoid"].tolist() == OLD
    assert crosswalk["geoid"].tolist() == NEW


def test_crosswalk_names_missing_columns(tmp_path):
    path = tmp_path / "xwalk.csv"
    write_csv(path, ["a,b", "9001000100,9120000100"])
    with pytest.raises(ValueError, match=r"missing crosswalk column\(s\) tract_2020, tract_2022"):
        read_tract_crosswalk(
            path, boundary_geoid_column="tract_2020", acs_geoid_column="tract_2022"
        )
    write_csv(path, ["tract_2020,b", "9001000100,9120000100"])
    with pytest.raises(ValueError, match=r"column\(s\) tract_2022$"):
        read_tract_crosswalk(
            path, boundary_geoid_column="tract_2020", acs_geoid_column="tract_2022"
        )


@pytest.mark.parametrize(
    ("lines", "duplicate"),
    [
        (["9001000100,9120000100", "9001000100,9120000200"], "09001000100"),
        (["9001000100,9120000100", "9001000200,9120000100"], "09120000100"),
    ],
)
def test_crosswalk_rejects_duplicate_ids(tmp_path, lines, duplicate):
    path = tmp_path / "xwalk.csv"
    write_csv(path, ["tract_2020,tract_2022", *lines])
    with pytest.raises(ValueError, match=rf"tract {duplicate} appears twice"):
        read_tract_crosswalk(
            path, boundary_geoid_column="tract_2020", acs_geoid_column="tract_2022"
        )


@pytest.mark.parametrize(
    "bad", ["9001000200,", "9.0010002E9,9120000200", "123456789012,9120000200"]
)
def test_crosswalk_rejects_malformed_ids_naming_the_line(tmp_path, bad):
    path = tmp_path / "xwalk.csv"
    write_csv(path, ["tract_2020,tract_2022", "9001000100,9120000100", bad])
    # Line 1 is the header, so the bad row is line 3.
    with pytest.raises(ValueError, match=r"xwalk\.csv: line 3 does not hold two 11-digit"):
        read_tract_crosswalk(
            path, boundary_geoid_column="tract_2020", acs_geoid_column="tract_2022"
        )


def test_crosswalk_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"absent\.csv"):
        read_tract_crosswalk(
            tmp_path / "absent.csv", boundary_geoid_column="a", acs_geoid_column="b"
        )


# --------------------------------------------------------------------------------------------
# attach_unit_geometry
# --------------------------------------------------------------------------------------------


def test_attach_translates_boundary_geoids_through_the_crosswalk():
    acs = acs_frame([(NEW[2], 300), (NEW[0], 100), (NEW[1], 200)])
    joined = attach_unit_geometry(acs, tract_frame(), crosswalk=crosswalk_frame())
    assert isinstance(joined, gpd.GeoDataFrame)
    assert joined.crs.to_epsg() == 5070
    by_geoid = joined.set_index("geoid")
    assert by_geoid.loc[NEW, "boundary_geoid"].tolist() == OLD
    # Tract i's polygon is the square starting at x = 1000·i: its centroid is at 1000·i + 500.
    assert by_geoid.loc[NEW].geometry.centroid.x.tolist() == pytest.approx([500, 1500, 2500])
    assert by_geoid.loc[NEW, "total"].tolist() == pytest.approx([100, 200, 300])


def test_attach_translates_block_groups_through_their_tracts_crosswalk_row():
    # SYNTHETIC block groups: tract 1's square is block groups 1 and 2; tract 2's, block group 1.
    old = [OLD[0] + "1", OLD[0] + "2", OLD[1] + "1"]
    shapes = tract_frame(old).rename(columns={"TRACTCE": "BLKGRPCE"})
    acs = acs_frame([(NEW[0] + "1", 100), (NEW[0] + "2", 50), (NEW[1] + "1", 200)])
    joined = attach_unit_geometry(acs, shapes, crosswalk=crosswalk_frame(), unit=BLOCK_GROUP)
    by_geoid = joined.set_index("geoid")
    assert (
        by_geoid.loc[[NEW[0] + "1", NEW[0] + "2", NEW[1] + "1"], "boundary_geoid"].tolist() == old
    )
    assert joined["total"].sum() == 350


def test_attach_names_a_block_group_whose_tract_is_not_in_the_crosswalk():
    shapes = tract_frame([OLD[0] + "1", "090010009001"])
    acs = acs_frame([(NEW[0] + "1", 100)])
    with pytest.raises(ValueError, match=r"1 boundary block group.* e\.g\. 090010009001"):
        attach_unit_geometry(acs, shapes, crosswalk=crosswalk_frame(), unit=BLOCK_GROUP)


def test_attach_without_crosswalk_matches_geoids_directly():
    acs = acs_frame([(OLD[0], 100), (OLD[1], 200), (OLD[2], 300)])
    joined = attach_unit_geometry(acs, tract_frame())
    assert (joined["geoid"] == joined["boundary_geoid"]).all()
    assert sorted(joined["geoid"]) == OLD


def test_attach_rejects_a_populated_tract_without_polygon():
    acs = acs_frame([(NEW[0], 100), (NEW[1], 200), (NEW[2], 300), ("09120000400", 15)])
    with pytest.raises(ValueError, match=r"1 populated ACS tract\(s\) have no .*09120000400"):
        attach_unit_geometry(acs, tract_frame(), crosswalk=crosswalk_frame(), source="t.geojson")


def test_attach_drops_unpopulated_tracts_without_polygon(caplog):
    # A water tract: in the ACS with population 0, absent from the 1:500k boundary file.
    acs = acs_frame([(NEW[0], 100), (NEW[1], 200), (NEW[2], 300), ("09120990000", 0)])
    with caplog.at_level(logging.INFO, logger="housing_segregation.geography"):
        joined = attach_unit_geometry(acs, tract_frame(), crosswalk=crosswalk_frame())
    assert sorted(joined["geoid"]) == NEW
    assert any(
        "dropped 1 unpopulated" in r.getMessage() and "09120990000" in r.getMessage()
        for r in caplog.records
    )


def test_attach_rejects_boundary_tracts_missing_from_the_crosswalk():
    acs = acs_frame([(NEW[0], 100), (NEW[1], 200), (NEW[2], 300)])
    partial = crosswalk_frame(PAIRS[:2])
    with pytest.raises(ValueError, match=rf"1 boundary tract\(s\) are not in .*{OLD[2]}"):
        attach_unit_geometry(acs, tract_frame(), crosswalk=partial)


def test_attach_rejects_polygons_without_acs_tract():
    # A polygon with no ACS row means a truncated ACS file (or one of another state).
    acs = acs_frame([(NEW[0], 100), (NEW[1], 200)])
    with pytest.raises(ValueError, match=f"1 tract polygon.*{NEW[2]}"):
        attach_unit_geometry(acs, tract_frame(), crosswalk=crosswalk_frame())


# --------------------------------------------------------------------------------------------
# assign_towns
# --------------------------------------------------------------------------------------------


def joined_tracts() -> gpd.GeoDataFrame:
    acs = acs_frame([(NEW[0], 100), (NEW[1], 200), (NEW[2], 300)])
    return attach_unit_geometry(acs, tract_frame(), crosswalk=crosswalk_frame())


@pytest.mark.parametrize(
    ("split", "middle_town"),
    [
        # Tract 2 = [1000, 2000]: split 1400 leaves 400 m × 1 km = 0.4 km² in A and 0.6 km² in
        # B → B; split 1600 leaves 0.6 km² in A and 0.4 km² in B → A.
        (1400, ("00020", "Beta")),
        (1600, ("00010", "Alpha")),
    ],
)
def test_assign_towns_picks_the_largest_overlap(split, middle_town):
    result = assign_towns(joined_tracts(), town_frame(split), crs=CRS).set_index("geoid")
    code, name = middle_town
    assert result.loc[NEW[0], "town_name"] == "Alpha"  # wholly in A
    assert result.loc[NEW[1], "town_name"] == name
    assert result.loc[NEW[2], "town_name"] == "Beta"  # wholly in B
    # town_geoid = the tract's ACS county (09120) + COUSUBFP, not the town file's 09001….
    assert result.loc[NEW[0], "town_geoid"] == "0912000010"
    assert result.loc[NEW[1], "town_geoid"] == "09120" + code
    assert result.loc[NEW[2], "town_geoid"] == "0912000020"


def test_assign_towns_keeps_tract_columns_and_geometry():
    tracts = joined_tracts()
    result = assign_towns(tracts, town_frame(), crs=CRS)
    assert len(result) == len(tracts)
    assert "town_cousub_fips" not in result.columns
    assert {"geoid", "boundary_geoid", "county_geoid", "total", "town_geoid", "town_name"} <= set(
        result.columns
    )
    assert result.geometry.geom_equals(tracts.geometry).all()


def test_assign_towns_measures_overlap_in_the_projected_crs():
    # The same tracts handed over in degrees (EPSG:4326) get the same towns.
    in_degrees = joined_tracts().to_crs("EPSG:4326")
    result = assign_towns(in_degrees, town_frame(1600), crs=CRS).set_index("geoid")
    assert result.loc[NEW, "town_name"].tolist() == ["Alpha", "Alpha", "Beta"]


def test_assign_towns_logs_straddling_tracts(caplog):
    with caplog.at_level(logging.INFO, logger="housing_segregation.geography"):
        assign_towns(joined_tracts(), town_frame(1400), crs=CRS, source="towns.geojson")
    # Only tract 2 straddles; its largest part is 0.6 of its area = 60.0%.
    assert any(
        "1 tract(s) straddle" in r.getMessage() and "60.0%" in r.getMessage()
        for r in caplog.records
    )


def test_assign_towns_rejects_a_tract_outside_every_town():
    towns = town_frame().iloc[:1]  # only A = [0, 1400]: tract 3 = [2000, 3000] overlaps none
    with pytest.raises(ValueError, match=rf"1 tract\(s\) overlap no town, e.g. \['{NEW[2]}'\]"):
        assign_towns(joined_tracts(), towns, crs=CRS)


def test_assign_towns_rejects_a_town_of_another_county():
    # Synthetic towns in county 003 while the tracts' boundary county is 001.
    with pytest.raises(
        ValueError, match=r"tract 09120000100 lies mostly in a town of county 09003"
    ):
        assign_towns(joined_tracts(), town_frame(county="003"), crs=CRS)


# --------------------------------------------------------------------------------------------
# Real Connecticut data
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ct_2023(ct_tracts_2023):
    return ct_tracts_2023


@pytest.fixture(scope="module")
def ct_2019(ct_tracts_2019):
    # As config/config.yaml: tract vintage 2019, towns 2020, no crosswalk before 2022.
    return ct_tracts_2019


def test_ct_2023_table_size(ct_2023):
    assert len(ct_2023) == 879
    assert ct_2023["geoid"].is_unique
    assert sorted(ct_2023["county_geoid"].unique()) == [f"091{k}0" for k in range(1, 10)]
    assert ct_2023["town_geoid"].nunique() == 169
    assert ct_2023.crs.to_epsg() == 5070
    # The 5 tracts dropped (884 in the ACS) are unpopulated: the state total is intact.
    assert ct_2023["total"].sum() == pytest.approx(3_598_348, abs=0.5)
    assert (ct_2023["town_geoid"].str[:5] == ct_2023["county_geoid"]).all()


def test_ct_2023_towns_match_the_published_crosswalk(ct_2023, shared_data):
    published = pd.read_csv(
        shared_data / "crosswalks" / "ct_tract_2020_to_2022.csv", dtype=str, encoding="utf-8-sig"
    )
    published = published.assign(
        geoid=published["Tract_fips_2022"].str.zfill(11),
        boundary_geoid=published["tract_fips_2020"].str.zfill(11),
        town_geoid=published["town_fips_2022"].str.zfill(10),
    ).set_index("geoid")
    ours = ct_2023.set_index("geoid")
    assert set(ours.index) <= set(published.index)
    expected = published.loc[ours.index]
    assert (ours["town_geoid"] == expected["town_geoid"]).all(), ours.index[
        ours["town_geoid"] != expected["town_geoid"]
    ].tolist()
    assert (ours["town_name"] == expected["town_name"]).all()
    assert (ours["boundary_geoid"] == expected["boundary_geoid"]).all()


def test_ct_2019_table_uses_the_old_counties(ct_2019):
    assert len(ct_2019) == 829
    assert sorted(ct_2019["county_geoid"].unique()) == [f"090{k:02d}" for k in range(1, 16, 2)]
    assert (ct_2019["geoid"] == ct_2019["boundary_geoid"]).all()
    assert (ct_2019["town_geoid"].str[:5] == ct_2019["county_geoid"]).all()
    assert ct_2019["total"].sum() == pytest.approx(3_575_074, abs=0.5)
