"""Tests for housing_segregation.harmonise: counts carried from 2010 onto 2020 tracts.

Every fixture here is synthetic, with its expected values worked out by hand in comments;
tobler's areal interpolation is the oracle of the overlay weights."""

from __future__ import annotations

import math
from itertools import pairwise

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box
from tobler.area_weighted import area_interpolate

from housing_segregation.harmonise import (
    check_weights,
    harmonise_units,
    harmonised_unit_table,
    interpolate_counts,
    overlay_weights,
    read_relationships,
    relationship_weights,
    timeseries_table,
)
from housing_segregation.units import BLOCK_GROUP

HEADER = (
    "OID_TRACT_20|GEOID_TRACT_20|NAMELSAD_TRACT_20|AREALAND_TRACT_20|AREAWATER_TRACT_20|"
    "MTFCC_TRACT_20|FUNCSTAT_TRACT_20|OID_TRACT_10|GEOID_TRACT_10|NAMELSAD_TRACT_10|"
    "AREALAND_TRACT_10|AREAWATER_TRACT_10|MTFCC_TRACT_10|FUNCSTAT_TRACT_10|AREALAND_PART|"
    "AREAWATER_PART"
)


def relationship_file(tmp_path, rows: list[str]):
    """A synthetic file in the layout of the Census tab20_tract20_tract10 files."""
    path = tmp_path / "tab20_tract20_tract10_st09.txt"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def row(geoid_20, geoid_10, land_10, water_10, land_part, water_part):
    return (
        f"1|{geoid_20}|T|0|0|G5020|S|2|{geoid_10}|T|{land_10}|{water_10}|G5020|S|"
        f"{land_part}|{water_part}"
    )


def test_relationship_shares_are_of_land_area(tmp_path):
    # 2010 tract A (land 1,000 m²) splits 750/250 into 2020 tracts X and Y; its 30 m² of
    # water in Y do not count. B is unchanged. W has no land: shared by total area, 40/40.
    # A touching sliver of A in Z has no area and is dropped. Tract 44… is another state.
    path = relationship_file(
        tmp_path,
        [
            row("09001000101", "09001000100", 1000, 30, 750, 0),
            row("09001000102", "09001000100", 1000, 30, 250, 30),
            row("09001000103", "09001000100", 1000, 30, 0, 0),
            row("09001000200", "09001000200", 500, 0, 500, 0),
            row("09001990100", "09001990000", 0, 80, 0, 40),
            row("09001990200", "09001990000", 0, 80, 0, 40),
            row("44001000100", "44001000100", 10, 0, 10, 0),
        ],
    )
    weights = read_relationships(path, state="09")
    assert weights.to_dict("records") == [
        {"source_geoid": "09001000100", "target_geoid": "09001000101", "weight": 0.75},
        {"source_geoid": "09001000100", "target_geoid": "09001000102", "weight": 0.25},
        {"source_geoid": "09001000200", "target_geoid": "09001000200", "weight": 1.0},
        {"source_geoid": "09001990000", "target_geoid": "09001990100", "weight": 0.5},
        {"source_geoid": "09001990000", "target_geoid": "09001990200", "weight": 0.5},
    ]
    check_weights(weights, ["09001000100", "09001000200", "09001990000"], source=str(path))


def test_a_bad_relationship_file_is_named(tmp_path):
    path = relationship_file(tmp_path, [row("09001000100", "09001000100", "n/a", 0, 5, 0)])
    with pytest.raises(ValueError, match=r"st09.txt line 2: AREALAND_TRACT_10 'n/a' is not"):
        read_relationships(path, state="09")
    other = tmp_path / "other.txt"
    other.write_text("GEOID|X\n1|2\n")
    with pytest.raises(ValueError, match="not a 2020-to-2010 tract relationship file"):
        read_relationships(other, state="09")
    with pytest.raises(ValueError, match="no 2010 tract of state 44"):
        read_relationships(path, state="44")


def test_block_group_relationship_shares(tmp_path):
    # SYNTHETIC rows in the tract file's layout with BLKGRP for TRACT (tab20_blkgrp20_blkgrp10):
    # 2010 block group A (land 400 m²) splits 300/100 into 2020 block groups X and Y.
    path = tmp_path / "tab20_blkgrp20_blkgrp10_st09.txt"
    lines = [HEADER.replace("TRACT", "BLKGRP"),
             row("090010001011", "090010001001", 400, 0, 300, 0),
             row("090010001012", "090010001001", 400, 0, 100, 0)]  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    weights = read_relationships(path, state="09", unit=BLOCK_GROUP)
    assert weights["weight"].tolist() == [0.75, 0.25]
    assert weights["target_geoid"].tolist() == ["090010001011", "090010001012"]
    with pytest.raises(ValueError, match=r"not a 2020-to-2010 tract relationship file; no col"):
        read_relationships(path, state="09")


def test_counts_and_moes_move_in_shares():
    # Source A (100 people, MOE 30) splits 0.75/0.25 into X and Y; B (40, MOE 40) is all Y.
    # X = 75, MOE 0.75·30 = 22.5; Y = 25 + 40 = 65, MOE sqrt(7.5² + 40²) = sqrt(1656.25).
    counts = pd.DataFrame({"geoid": ["A", "B"], "total": [100, 40], "total_moe": [30.0, 40.0]})
    weights = pd.DataFrame(
        {
            "source_geoid": ["A", "A", "B"],
            "target_geoid": ["X", "Y", "Y"],
            "weight": [0.75, 0.25, 1.0],
        }
    )
    moved = interpolate_counts(counts, weights, ["total"])
    assert moved["total"].to_dict() == {"X": 75.0, "Y": 65.0}
    assert moved.loc["X", "total_moe"] == 22.5
    assert moved.loc["Y", "total_moe"] == pytest.approx(math.sqrt(1656.25))
    # An unknown MOE in a share leaves the target's MOE unknown.
    counts.loc[1, "total_moe"] = np.nan
    moved = interpolate_counts(counts, weights, ["total"])
    assert moved.loc["X", "total_moe"] == 22.5 and np.isnan(moved.loc["Y", "total_moe"])


def test_weights_that_lose_or_make_people_are_refused():
    weights = pd.DataFrame(
        {"source_geoid": ["A", "A"], "target_geoid": ["X", "Y"], "weight": [0.75, 0.2]}
    )
    with pytest.raises(ValueError, match=r"the shares of tract A add to 0\.950000, not 1"):
        check_weights(weights, ["A"], source="synthetic")
    with pytest.raises(ValueError, match=r"no shares for 1 tract\(s\), e.g. B"):
        check_weights(weights.assign(weight=[0.75, 0.25]), ["A", "B"], source="synthetic")


def squares(ids, boxes):
    return gpd.GeoDataFrame({"geoid": ids}, geometry=[box(*b) for b in boxes], crs="EPSG:5070")


def test_overlay_shares_match_tobler():
    # Synthetic: 2010 tracts are two 2 km × 1 km strips; 2020 tracts split the plane at
    # x = 1.5 km. Strip S (x 0–2 km) puts 3/4 of its area in L and 1/4 in R; T (2–4 km) all
    # in R. With S = 400 people and T = 100: L = 300, R = 100 + 100 = 200.
    source = squares(["S", "T"], [(0, 0, 2000, 1000), (2000, 0, 4000, 1000)])
    target = squares(["L", "R"], [(0, 0, 1500, 1000), (1500, 0, 4000, 1000)])
    weights = overlay_weights(source, target)
    assert weights.to_dict("records") == [
        {"source_geoid": "S", "target_geoid": "L", "weight": 0.75},
        {"source_geoid": "S", "target_geoid": "R", "weight": 0.25},
        {"source_geoid": "T", "target_geoid": "R", "weight": 1.0},
    ]
    counts = source.assign(total=[400.0, 100.0])
    moved = interpolate_counts(counts, weights, ["total"])
    assert moved["total"].to_dict() == {"L": 300.0, "R": 200.0}
    oracle = area_interpolate(counts, target, extensive_variables=["total"])
    assert oracle["total"].tolist() == pytest.approx(moved.loc[["L", "R"], "total"].tolist())


@settings(max_examples=25, deadline=None)
@given(
    cuts=st.lists(st.integers(min_value=1, max_value=99), min_size=1, max_size=4, unique=True),
    people=st.lists(st.integers(min_value=0, max_value=5000), min_size=3, max_size=3),
)
def test_overlay_conserves_people_and_agrees_with_tobler(cuts, people):
    # Synthetic: three 100 m source strips re-cut at random x positions into target strips.
    source = squares(["a", "b", "c"], [(0, 0, 100, 50), (100, 0, 200, 50), (200, 0, 300, 50)])
    edges = [0, *sorted(3 * c for c in cuts), 300]
    target = squares(
        [f"t{i}" for i in range(len(edges) - 1)],
        [(lo, 0, hi, 50) for lo, hi in pairwise(edges)],
    )
    weights = overlay_weights(source, target)
    check_weights(weights, ["a", "b", "c"], source="synthetic")
    counts = source.assign(total=[float(p) for p in people])
    moved = interpolate_counts(counts, weights, ["total"])
    assert moved["total"].sum() == pytest.approx(sum(people))
    oracle = area_interpolate(counts, target, extensive_variables=["total"])
    expected = oracle.set_index(target["geoid"])["total"].reindex(moved.index)
    # Agreement to a millionth, relative: tobler's sums differ from exact arithmetic there.
    assert moved["total"].tolist() == pytest.approx(expected.tolist(), rel=1e-6, abs=1e-6)


def test_overlay_needs_one_projected_crs():
    source = squares(["a"], [(0, 0, 1, 1)])
    with pytest.raises(ValueError, match="one projected CRS"):
        overlay_weights(source, source.to_crs("EPSG:4326"))


def test_boundary_slivers_are_dropped_and_the_rest_rescaled():
    # Synthetic: strip S (x 0–2,000 m) overlaps R by 10 m, 0.5% of its area: a drawing
    # sliver under the 1% default, so all of S goes to L. At a 0.1% floor it stays.
    source = squares(["S"], [(0, 0, 2000, 1000)])
    target = squares(["L", "R"], [(0, 0, 1990, 1000), (1990, 0, 4000, 1000)])
    assert overlay_weights(source, target).to_dict("records") == [
        {"source_geoid": "S", "target_geoid": "L", "weight": 1.0}
    ]
    kept = overlay_weights(source, target, min_share=0.001)
    assert kept["weight"].tolist() == pytest.approx([0.995, 0.005])


def test_a_harmonised_table_has_the_target_tracts_and_the_source_counts():
    # Synthetic: 2019 strips S (x 0–2 km) and T (2–4 km) onto 2023 tracts L (0–1.5 km) and
    # R (1.5–4 km). S's 401 people split 3/4:1/4 = 300.75 and 100.25; T's 99 all go to R.
    # Whole people keeping the total 500: L 301 (largest remainder .75), R 199.
    # Its median income does not add up, so it is left empty.
    source = squares(["S", "T"], [(0, 0, 2000, 1000), (2000, 0, 4000, 1000)]).assign(
        year=2019, county_geoid="old", total=[401.0, 99.0], total_moe=[40.0, 30.0],
        median_household_income=[50_000.0, 70_000.0], median_household_income_moe=[1.0, 1.0],
    )  # fmt: skip
    target = squares(["L", "R"], [(0, 0, 1500, 1000), (1500, 0, 4000, 1000)]).assign(
        year=2023, county_geoid="new", total=[1.0, 2.0], total_moe=[1.0, 1.0],
        median_household_income=[1.0, 2.0], median_household_income_moe=[1.0, 1.0],
    )  # fmt: skip
    table = harmonised_unit_table(source, target)
    assert list(table.columns) == list(target.columns)
    assert table["geoid"].tolist() == ["L", "R"]
    assert table["year"].tolist() == [2019, 2019]
    assert table["county_geoid"].tolist() == ["new", "new"]
    assert table["total"].tolist() == [301, 199]
    assert table["total_moe"].tolist() == pytest.approx([30.0, math.sqrt(10.0**2 + 30.0**2)])
    assert table["median_household_income"].isna().all()
    assert table.geometry.equals(target.geometry)


def test_the_time_series_flags_each_row():
    def rows(year, value):
        return pd.DataFrame([{
            "year": year, "geography_level": "state", "geography_id": "09",
            "geography_name": "Connecticut", "unit_level": "tract", "index": "dissimilarity",
            "group": "black_nh", "reference_group": "white_nh", "value": value, "n_units": 2,
            "population": 10, "se": 0.01, "ci_low": value - 0.01, "ci_high": value + 0.01,
            "coverage": "complete",
        }])  # fmt: skip

    series = timeseries_table(
        [rows(2023, 0.6), rows(2019, 0.7)], [rows(2019, 0.65)], {2019: 2010, 2023: 2020}
    )
    assert series[["year", "value", "tract_geography", "harmonised"]].values.tolist() == [
        [2019, 0.7, 2010, False],
        [2019, 0.65, 2020, True],
        [2023, 0.6, 2020, False],
    ]


def planning_region_tables():
    """Synthetic 2019 (2010 tracts, old county 001) and 2023 tables (2020 tracts, planning
    region 110): the 2023 geoids differ from the census GEOIDs in boundary_geoid, as in
    Connecticut from 2022. The polygons disagree with the relationship file on purpose, so
    a test can tell which shares were used."""
    source = squares(
        ["09001000100", "09001000200"], [(0, 0, 2000, 1000), (2000, 0, 4000, 1000)]
    ).assign(year=2019, total=[400.0, 100.0], total_moe=[40.0, 10.0])
    target = squares(
        ["09110000101", "09110000102", "09110000200"],
        [(0, 0, 1000, 1000), (1000, 0, 2000, 1000), (2000, 0, 4000, 1000)],
    ).assign(
        year=2023,
        boundary_geoid=["09001000101", "09001000102", "09001000200"],
        total=[1.0, 1.0, 1.0],
        total_moe=[1.0, 1.0, 1.0],
    )
    return source, target


def test_relationship_shares_reach_the_targets_through_their_census_geoids(tmp_path):
    # The file splits A's land 3:1 between 2020 tracts …101 and …102 (the polygons say 1:1);
    # B is unchanged. A also touches 2020 tract …103, which the target table lacks: its
    # share (100 of 1,100 m²) is dropped and A's others rescaled to 750/1000 and 250/1000.
    source, target = planning_region_tables()
    path = relationship_file(
        tmp_path,
        [
            row("09001000101", "09001000100", 1100, 0, 750, 0),
            row("09001000102", "09001000100", 1100, 0, 250, 0),
            row("09001000103", "09001000100", 1100, 0, 100, 0),
            row("09001000200", "09001000200", 500, 0, 500, 0),
        ],
    )
    weights = relationship_weights(path, source, target, state="09")
    assert weights["source_geoid"].tolist() == ["09001000100"] * 2 + ["09001000200"]
    assert weights["target_geoid"].tolist() == ["09110000101", "09110000102", "09110000200"]
    assert weights["weight"].tolist() == pytest.approx([0.75, 0.25, 1.0])
    check_weights(weights, source["geoid"].tolist(), source=str(path))


def test_harmonise_uses_the_relationship_file_when_given_and_says_so(tmp_path, caplog):
    source, target = planning_region_tables()
    path = relationship_file(
        tmp_path,
        [
            row("09001000101", "09001000100", 1000, 0, 750, 0),
            row("09001000102", "09001000100", 1000, 0, 250, 0),
            row("09001000200", "09001000200", 500, 0, 500, 0),
        ],
    )
    with caplog.at_level("INFO", logger="housing_segregation.harmonise"):
        by_file = harmonise_units(source, target, state="09", relationships=path)
        by_overlay = harmonise_units(source, target, state="09")
    # File: A's 400 people split 300/100; overlay (equal halves of A's area): 200/200.
    assert by_file["total"].tolist() == [300, 100, 100]
    assert by_overlay["total"].tolist() == [200, 200, 100]
    assert by_file["geoid"].tolist() == target["geoid"].tolist()
    messages = [record.getMessage() for record in caplog.records]
    assert any("tab20_tract20_tract10_st09.txt (land-area shares)" in m for m in messages)
    assert any("boundary overlay of the two years' unit layers" in m for m in messages)


def test_a_source_tract_the_file_does_not_place_is_named(tmp_path):
    source, target = planning_region_tables()
    path = relationship_file(tmp_path, [row("09001000200", "09001000200", 500, 0, 500, 0)])
    with pytest.raises(ValueError, match=r"no shares for 1 tract\(s\), e.g. 09001000100"):
        harmonise_units(source, target, state="09", relationships=path)
