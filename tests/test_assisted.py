"""Assisted-housing projects: reading, deduplication, tract assignment and tract counts.

Two fixtures: a small SYNTHETIC file and tract layer whose expected values are derived by
hand in the comments, and the real CT Data Haven file on the project's 2023 tracts."""

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from shapely.geometry import box

from housing_segregation.assisted import (
    GROUPS,
    PROGRAMS,
    assign_tracts,
    location_problems,
    projects,
    read_assisted_projects,
    shared_points,
    units_by_tract,
    voucher_offices,
)

# --------------------------------------------------------------------------------------
# SYNTHETIC fixture (invented names, IDs and units; not real projects).
#
# Three square tracts in EPSG:5070, 1 km a side, with the origin (X0, Y0) near New Haven;
# south of Y0 is "water" (no tract):
#
#     y0+2000  +-----------------------------+
#              |  C 09170140300 Hamden       |   (no projects: a real zero)
#     y0+1000  +--------------+--------------+
#              | A ...140100  | B ...140200  |
#              | New Haven    | Hamden       |
#     y0       +--------------+--------------+
#              x0           x0+1000        x0+2000
# --------------------------------------------------------------------------------------
CRS = "EPSG:5070"
X0, Y0 = Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(-72.93, 41.31)
TO_LONLAT = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
TRACT_A, TRACT_B, TRACT_C = "09170140100", "09170140200", "09170140300"

HEADER = [
    "County",
    "City",
    "CityOld",
    "ProjectID",
    "SubsidyClass",
    "SubsidySubclass",
    "EndDateList",
    "Total",
    "UnitLower",
    "UnitUpper",
    "ProjectName",
    "Latitude",
    "Longitude",
    "RowID",
    "Clean_Proj",
    "Group Flag",
    "ProjectID2",
]


def synthetic_tracts() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "geoid": [TRACT_A, TRACT_B, TRACT_C],
            "town_geoid": ["0917052070", "0917035650", "0917035650"],
            "town_name": ["New Haven", "Hamden", "Hamden"],
        },
        geometry=[
            box(X0, Y0, X0 + 1000, Y0 + 1000),
            box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000),
            box(X0, Y0 + 1000, X0 + 2000, Y0 + 2000),
        ],
        crs=CRS,
    )


def row(project, cls, subclass, total, lower, upper, *, at, town="new haven", merged=None):
    """One subsidy row; ``at`` is an (x, y) offset in metres from the origin, or None."""
    if at is None:
        latitude = longitude = ""
    else:
        lon, lat = TO_LONLAT.transform(X0 + at[0], Y0 + at[1])
        latitude, longitude = repr(lat), repr(lon)
    return {
        "County": "new haven",
        "City": town,
        "CityOld": town.title(),
        "ProjectID": project,
        "SubsidyClass": cls,
        "SubsidySubclass": subclass,
        "EndDateList": "()",
        "Total": str(total),
        "UnitLower": f"{lower}.0",
        "UnitUpper": f"{upper}.0",
        "ProjectName": project.replace("-", " ").title(),
        "Latitude": latitude,
        "Longitude": longitude,
        "Clean_Proj": project,
        "Group Flag": "",
        "ProjectID2": merged or f"m-{project}",
    }


SYNTHETIC_ROWS = [
    # p-three: one building, three subsidy rows of different counts (Total 100 each).
    # Different programs cover the same homes: units = max(100, 30, 60) = 100, not the
    # UnitUpper sum 190 nor the naive Total sum 300.
    row("p-three", "LIHTC", "LIHTC.9%", 100, 100, 100, at=(500, 500)),
    row("p-three", "HOME_Investment_Partnerships_Program", "HOME", 100, 30, 30, at=(500, 500)),
    row("p-three", "Section_8_NonVoucher", "Sec 8 NC", 100, 60, 60, at=(500, 500)),
    # p-contracts: two Section 8 contracts (one program) on different homes of a
    # 120-unit property: 50 + 55 = 105 (under the 120 cap).
    row("p-contracts", "Section_8_NonVoucher", "Sec 8 NC", 120, 50, 50, at=(250, 750)),
    row("p-contracts", "Section_8_NonVoucher", "HFDA/8 NC", 120, 55, 55, at=(250, 750)),
    # p-three-state: a second source's record of p-three's building (same merged ID,
    # same point) -> joins p-three; state 100 vs p-three's 100 -> still 100 units.
    row(
        "p-three-state",
        "State_Subsidy",
        "CT.Elderly",
        100,
        1,
        100,
        at=(500, 500),
        merged="m-p-three",
    ),
    # p-elsewhere: same merged ID as p-three but another point -> its own project, 40.
    row(
        "p-elsewhere",
        "State_Subsidy",
        "CT.Elderly",
        40,
        1,
        40,
        at=(1500, 500),
        town="hamden",
        merged="m-p-three",
    ),
    # p-state: one 42-unit state building listed under two state programs: 42 + 42 is
    # capped at the shared Total 42.
    row("p-state", "State_Subsidy", "CT.Elderly", 42, 1, 42, at=(1500, 250), town="hamden"),
    row(
        "p-state",
        "State_Subsidy",
        "CT.Congregate Housing",
        42,
        1,
        42,
        at=(1500, 250),
        town="hamden",
    ),
    # a housing authority's tenant-based vouchers: a voucher office, not a project.
    row(
        "office",
        "Section_8_Voucher",
        "Section_8.Housing_Choice_Voucher",
        500,
        1,
        500,
        at=(1250, 750),
        town="hamden",
    ),
    # p-pbv: project-based vouchers in a building: a project of 20 units.
    row(
        "p-pbv",
        "Section_8_Voucher",
        "Section_8.Project_Based_Voucher",
        20,
        1,
        20,
        at=(1750, 750),
        town="hamden",
    ),
    # p-nocoord: 5 deed-restricted homes without coordinates: no tract.
    row("p-nocoord", "Deed", "30 years", 5, 5, 5, at=None),
    # p-offshore: 80 public-housing units placed 5 km into the water: no tract.
    row("p-offshore", "Public_Housing", "nan", 80, 1, 80, at=(500, -5000)),
    # p-snap: 3 deed homes 100 m off tract A's shore (tolerance 200 m) -> snapped to A.
    row("p-snap", "Deed", "in perpetuity", 3, 3, 3, at=(500, -100)),
    # p-mismatch: 24 USDA units in tract B (Hamden) listed in New Haven.
    row(
        "p-mismatch",
        "Rural_Housing_Loans__Section_515",
        "515 Rural Housing",
        24,
        24,
        24,
        at=(1250, 250),
    ),
]

# Hand-derived expectations (units under the rule; naive = sum of Total over rows).
#   project       records rows units  naive  tract  groups
#   p-three          2     4    100    400     A     lihtc 100, s8pb 60, state_and_local 100
#   p-contracts      1     2    105    240     A     s8pb 105
#   p-elsewhere      1     1     40     40     B     state_and_local 40
#   p-state          1     2     42     84     B     state_and_local 42
#   p-pbv            1     1     20     20     B     project_based_voucher 20
#   p-nocoord        1     1      5      5     -     state_and_local 5
#   p-offshore       1     1     80     80     -     public_housing 80
#   p-snap           1     1      3      3     A     state_and_local 3
#   p-mismatch       1     1     24     24     B     usda 24
#   total                       419    896   (+ the office's 500 vouchers = 1396 in the file)
EXPECTED_UNITS = {
    "p-three": 100,
    "p-contracts": 105,
    "p-elsewhere": 40,
    "p-state": 42,
    "p-pbv": 20,
    "p-nocoord": 5,
    "p-offshore": 80,
    "p-snap": 3,
    "p-mismatch": 24,
}
# Tract A: 100 + 105 + 3 = 208 (3 projects); B: 40 + 42 + 20 + 24 = 126 (4 projects);
# C: 0. Unplaced: 5 + 80 = 85, and 208 + 126 + 85 = 419.
EXPECTED_TRACTS = {
    TRACT_A: {
        "assisted_projects": 3,
        "assisted_units_total": 208,
        "assisted_units_lihtc": 100,
        "assisted_units_section_8_project_based": 165,  # 60 + 105
        "assisted_units_state_and_local": 103,  # max(HOME 30, state 100) + 3
    },
    TRACT_B: {
        "assisted_projects": 4,
        "assisted_units_total": 126,
        "assisted_units_state_and_local": 82,  # 40 + 42
        "assisted_units_project_based_voucher": 20,
        "assisted_units_usda": 24,
    },
    TRACT_C: {"assisted_projects": 0, "assisted_units_total": 0},
}


def write_rows(path, rows) -> None:
    frame = pd.DataFrame(rows)
    frame["RowID"] = [str(i) for i in range(len(frame))]
    frame[HEADER].to_csv(path, index=False)


@pytest.fixture
def synthetic_file(tmp_path):
    path = tmp_path / "assisted_housing_projects.csv"
    write_rows(path, SYNTHETIC_ROWS)
    return path


@pytest.fixture
def synthetic_table(synthetic_file):
    return read_assisted_projects(synthetic_file)


def test_reader_types_and_names(synthetic_table):
    table = synthetic_table
    assert len(table) == len(SYNTHETIC_ROWS)
    assert table["units_upper"].dtype == "int64" and table["row_id"].dtype == "int64"
    assert table["latitude"].dtype == "float64"
    nocoord = table[table["project_id"] == "p-nocoord"]
    assert nocoord["latitude"].isna().all() and nocoord["longitude"].isna().all()
    assert table.loc[table["project_id"] == "p-offshore", "subsidy_subclass"].isna().all()
    assert {"project_id", "merged_project_id", "subsidy_class", "total_units"} <= set(table)


def test_synthetic_units_follow_the_rule(synthetic_table):
    result = projects(synthetic_table).set_index("project_id")
    assert result["units"].to_dict() == EXPECTED_UNITS
    assert int(result["units"].sum()) == 419
    assert int(result["units_summed_over_rows"].sum()) == 896
    three = result.loc["p-three"]
    assert three["project_ids"] == "p-three;p-three-state"
    assert three["source_records"] == 2 and three["subsidy_rows"] == 4
    assert three["programs"] == "home;lihtc;section_8_project_based;state_subsidy"
    assert three["lihtc"] and three["home"] and three["state_subsidy"]
    assert not three["public_housing"]
    assert (three["units_lihtc"], three["units_section_8_project_based"]) == (100, 60)
    assert three["units_state_and_local"] == 100
    assert result.loc["p-pbv", "units_project_based_voucher"] == 20
    assert result.loc["p-pbv", "project_based_voucher"]
    assert "office" not in result.index
    assert set(PROGRAMS) <= set(result.columns)
    assert all(f"units_{group}" in result for group in GROUPS)


def test_one_project_per_record_when_not_merging(synthetic_table):
    # p-three-state stands alone: 100 more units, 10 projects.
    result = projects(synthetic_table, merge_matched_records=False)
    assert len(result) == 10
    assert int(result["units"].sum()) == 519


def test_voucher_offices_are_kept_apart(synthetic_table):
    offices = voucher_offices(synthetic_table)
    assert offices["project_id"].tolist() == ["office"]
    assert offices["vouchers"].tolist() == [500]


def test_synthetic_tracts_and_report(synthetic_table, caplog):
    tracts = synthetic_tracts()
    with caplog.at_level(logging.INFO, logger="housing_segregation.assisted"):
        assigned = assign_tracts(projects(synthetic_table), tracts)
    by_id = assigned.set_index("project_id")
    assert by_id["location"].to_dict() == {
        "p-three": "in_tract",
        "p-contracts": "in_tract",
        "p-elsewhere": "in_tract",
        "p-state": "in_tract",
        "p-pbv": "in_tract",
        "p-nocoord": "no_coordinates",
        "p-offshore": "outside_tracts",
        "p-snap": "snapped",
        "p-mismatch": "in_tract",
    }
    assert by_id.loc["p-snap", "geoid"] == TRACT_A
    assert by_id.loc["p-snap", "distance_to_tract_m"] == pytest.approx(100, abs=1)
    assert by_id.loc["p-offshore", "distance_to_tract_m"] == pytest.approx(5000, abs=1)
    assert pd.isna(by_id.loc["p-offshore", "geoid"])
    assert by_id.loc["p-mismatch", "geoid"] == TRACT_B
    assert by_id.loc["p-mismatch", "town_geoid"] == "0917035650"
    assert assigned.crs == tracts.crs
    problems = location_problems(assigned)
    assert sorted(zip(problems["project_id"], problems["problem"], strict=True)) == [
        ("p-mismatch", "listed_town_mismatch"),
        ("p-mismatch", "town_mismatch"),
        ("p-nocoord", "no_coordinates"),
        ("p-offshore", "outside_tracts"),
        ("p-snap", "snapped"),
    ]
    logged = caplog.text
    assert "1 snapped" in logged and "1 outside every tract" in logged
    assert "p-offshore" in logged and "p-mismatch" in logged


def test_snap_tolerance_is_a_parameter(synthetic_table):
    assigned = assign_tracts(projects(synthetic_table), synthetic_tracts(), snap_tolerance_m=50)
    assert assigned.set_index("project_id").loc["p-snap", "location"] == "outside_tracts"


def test_synthetic_units_by_tract(synthetic_table):
    tracts = synthetic_tracts()
    assigned = assign_tracts(projects(synthetic_table), tracts)
    counts = units_by_tract(assigned, tracts, year=2023)
    assert list(counts.columns[:5]) == [
        "year",
        "geography_level",
        "geoid",
        "assisted_projects",
        "assisted_units_total",
    ]
    assert counts["geoid"].tolist() == [TRACT_A, TRACT_B, TRACT_C]
    assert (counts["year"] == 2023).all() and (counts["geography_level"] == "tract").all()
    indexed = counts.set_index("geoid")
    for geoid, expected in EXPECTED_TRACTS.items():
        for column, value in expected.items():
            assert indexed.loc[geoid, column] == value, (geoid, column)
    # Every group column of tract C is a real zero, and tract A has no public housing.
    assert (indexed.loc[TRACT_C].drop(["year", "geography_level"]) == 0).all()
    assert indexed.loc[TRACT_A, "assisted_units_public_housing"] == 0
    assert int(counts["assisted_units_total"].sum()) == 419 - 85


# ---- malformed input -----------------------------------------------------------------


def rewrite(path, **cells) -> None:
    """Set cells of the CSV at ``path``: ``Column=(data_row_index, text)``."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column, (index, text) in cells.items():
        frame.loc[index, column] = text
    frame.to_csv(path, index=False)


def test_missing_column_names_file_and_column(synthetic_file):
    frame = pd.read_csv(synthetic_file, dtype=str, keep_default_na=False)
    frame.drop(columns="UnitUpper").to_csv(synthetic_file, index=False)
    with pytest.raises(ValueError, match=r"assisted_housing_projects\.csv.*'UnitUpper'"):
        read_assisted_projects(synthetic_file)


def test_non_numeric_units_name_row_and_column(synthetic_file):
    rewrite(synthetic_file, Total=(3, "ten"))
    with pytest.raises(
        ValueError, match=r"assisted_housing_projects\.csv: row 4 \(line 5\), column 'Total'.*'ten'"
    ):
        read_assisted_projects(synthetic_file)


def test_impossible_coordinates_name_row_and_column(synthetic_file):
    rewrite(synthetic_file, Latitude=(6, "141.3"))
    with pytest.raises(ValueError, match=r"\.csv: row 7 \(line 8\), column 'Latitude': impossible"):
        read_assisted_projects(synthetic_file)


def test_half_coordinates_and_inverted_ranges_raise(synthetic_file, tmp_path):
    rewrite(synthetic_file, Longitude=(0, ""))
    with pytest.raises(ValueError, match=r"row 1 \(line 2\), column 'Longitude'"):
        read_assisted_projects(synthetic_file)
    inverted = tmp_path / "inverted.csv"
    write_rows(inverted, SYNTHETIC_ROWS)
    rewrite(inverted, UnitLower=(1, "90.0"))
    with pytest.raises(ValueError, match=r"inverted\.csv: row 2 \(line 3\), column 'UnitLower'"):
        read_assisted_projects(inverted)


def test_unknown_subsidy_class_is_named(synthetic_file):
    rewrite(synthetic_file, SubsidyClass=(4, "Section_9_Mystery"))
    table = read_assisted_projects(synthetic_file)
    with pytest.raises(ValueError, match=r"unknown subsidy class 'Section_9_Mystery'.*p-contracts"):
        projects(table)


def test_unknown_voucher_subclass_is_named(synthetic_table):
    table = synthetic_table.copy()
    table.loc[table["project_id"] == "office", "subsidy_subclass"] = "Section_8.Mystery"
    with pytest.raises(ValueError, match=r"subclass 'Section_8\.Mystery' \(project office\)"):
        voucher_offices(table)


def test_units_by_tract_rejects_unknown_tract(synthetic_table):
    tracts = synthetic_tracts()
    assigned = assign_tracts(projects(synthetic_table), tracts)
    assigned.loc[assigned["project_id"] == "p-three", "geoid"] = "09999999999"
    with pytest.raises(ValueError, match="09999999999"):
        units_by_tract(assigned, tracts, year=2023)


# ---- the real file -------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_table(shared_data):
    return read_assisted_projects(shared_data / "ct-housing" / "assisted_housing_projects.csv")


@pytest.fixture(scope="module")
def real_projects(real_table):
    return projects(real_table)


@pytest.fixture(scope="module")
def real_assigned(real_projects, ct_tracts_2023):
    return assign_tracts(real_projects, ct_tracts_2023)


def test_real_file_rows_records_and_vouchers(real_table):
    assert len(real_table) == 3600
    assert real_table["project_id"].nunique() == 3374
    assert real_table["subsidy_class"].nunique() == 14
    offices = voucher_offices(real_table)
    # 155 Section_8_Voucher rows: 49 tenant-based (offices), 99 project-based, 7 RAD.
    assert len(offices) == 49
    assert int(offices["vouchers"].sum()) == 43_886
    assert (real_table["subsidy_class"] == "Section_8_Voucher").sum() == 155


def test_real_file_units_rule_versus_naive_sum(real_table, real_projects):
    result = real_projects
    assert len(result) == 3152
    assert int(result["source_records"].sum()) == 3325
    assert int((result["source_records"] > 1).sum()) == 163
    assert int(result["units"].sum()) == 86_964
    # The naive sums: Total over the projects' rows, and over every row of the file.
    assert int(result["units_summed_over_rows"].sum()) == 128_371
    assert int(real_table["total_units"].sum()) == 172_297
    # Rows with more than one row that the rule changes, and one-row changes.
    several = result["subsidy_rows"] > 1
    changed = result["units"] != result["units_summed_over_rows"]
    assert (int(several.sum()), int((several & changed).sum())) == (321, 311)
    assert int((~several & changed).sum()) == 146
    assert result["project_id"].is_unique
    assert int(projects(real_table, merge_matched_records=False)["units"].sum()) == 97_935


def test_real_projects_land_in_connecticut_tracts(real_assigned):
    assigned = real_assigned
    # Every project has coordinates and lies in a 2023 Connecticut tract: there are no
    # exceptions to list, none snapped, and the file's town (City) always matches.
    assert set(assigned["location"]) == {"in_tract"}
    assert assigned["geoid"].str.fullmatch(r"091[1-9]0\d{6}").all()
    assert not (assigned["town_matches_tract"] == False).any()  # noqa: E712
    # CityOld names another town for 13 projects (geocoding or mailing-address towns).
    listed = assigned[assigned["listed_town_matches_tract"] == False]  # noqa: E712
    assert len(listed) == 13
    hynes = listed[listed["name"] == "Monsignor Hynes Apartments"].iloc[0]
    assert (hynes["town_as_listed"], hynes["tract_town_name"]) == ("Ansonia", "Bridgeport")


def test_real_units_by_tract_sum_to_projects(real_assigned, real_projects, ct_tracts_2023):
    counts = units_by_tract(real_assigned, ct_tracts_2023, year=2023)
    assert len(counts) == 879
    assert counts["geoid"].tolist() == sorted(ct_tracts_2023["geoid"])
    assert int(counts["assisted_units_total"].sum()) == int(real_projects["units"].sum())
    assert int(counts["assisted_projects"].sum()) == len(real_projects)
    for group in GROUPS:
        assert int(counts[f"assisted_units_{group}"].sum()) == int(
            real_projects[f"units_{group}"].sum()
        )


def test_points_shared_by_many_projects_are_counted_apart():
    # Synthetic: three projects at one point, one alone, one without coordinates.
    projects = pd.DataFrame(
        {
            "latitude": [41.0, 41.0, 41.0, 41.5, np.nan],
            "longitude": [-72.0, -72.0, -72.0, -72.5, np.nan],
        }
    )
    assert shared_points(projects).tolist() == [3, 3, 3, 1, 1]
