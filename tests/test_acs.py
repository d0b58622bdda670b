"""Tests for housing_segregation.acs: Census API tract tables -> tidy tract tables."""

from __future__ import annotations

import gzip
import json
import logging
import math

import pandas as pd
import pytest

from housing_segregation.acs import (
    ACS_VARIABLES,
    DERIVED_COUNTS,
    api_variables,
    read_acs_units,
    tidy_acs_units,
)
from housing_segregation.units import BLOCK_GROUP

GEO = ["state", "county", "tract"]

# Synthetic defaults for every variable not set explicitly: estimate 5, MOE 3.
DEFAULT_ESTIMATE = "5"
DEFAULT_MOE = "3"

# Synthetic tract A: the values behind the hand-computed derived counts below.
TRACT_A = {
    "B03002_001E": "1000",  # total
    "B03002_001M": "30",
    "B03002_003E": "600",  # white_nh
    "B03002_003M": "40",
    "C17002_001E": "900",  # poverty_universe
    "C17002_001M": "24",
    "C17002_002E": "50",  # under 0.50
    "C17002_002M": "6",
    "C17002_003E": "70",  # 0.50 to 0.99
    "C17002_003M": "8",
    "C17002_004E": "40",  # 1.00 to 1.24
    "C17002_004M": "5",
    "C17002_005E": "30",  # 1.25 to 1.49
    "C17002_005M": "10",
    "B19013_001E": "85000",  # median household income
    "B19013_001M": "4000",
}
# Synthetic tract B: annotation codes in place of some values.
TRACT_B = {
    "B03002_001E": "800",
    "B03002_003E": "-666666666",  # estimate unavailable -> white_nh and nonwhite missing
    "B03002_004M": "-222222222",  # MOE unavailable -> black_nh_moe missing
    "C17002_002M": "-222222222",  # -> poverty MOEs built on it are missing
    "B19013_001E": "-666666666",
    "B19013_001M": "-222222222",
}
# Synthetic tract C: nothing special (all defaults).
TRACT_C: dict[str, str] = {}


def api_table(
    tracts: list[tuple[str, str, dict[str, str]]], *, state: str = "09", county: str = "110"
) -> list[list[str]]:
    """A synthetic Census API response: header row, then one row of strings per tract.

    Each tract is (tract code, NAME, overrides of <var>E/<var>M values).
    """
    header = ["NAME", *api_variables(), *GEO]
    rows = [header]
    for tract, name, overrides in tracts:
        values = [
            overrides.get(v, DEFAULT_ESTIMATE if v.endswith("E") else DEFAULT_MOE)
            for v in api_variables()
        ]
        rows.append([name, *values, state, county, tract])
    return rows


def name_2023(number: str) -> str:
    return f"Census Tract {number}; Capitol Planning Region; Connecticut"


def name_2019(number: str) -> str:
    return f"Census Tract {number}, Fairfield County, Connecticut"


@pytest.fixture
def raw_2023() -> list[list[str]]:
    # Listed out of GEOID order on purpose: the result is sorted by GEOID.
    return api_table(
        [
            ("400300", name_2023("4003"), TRACT_C),
            ("400101", name_2023("4001.01"), TRACT_A),
            ("400200", name_2023("4002"), TRACT_B),
        ]
    )


@pytest.fixture
def tidy_2023(raw_2023) -> pd.DataFrame:
    return tidy_acs_units(raw_2023, year=2023, source="synthetic.json")


def by_geoid(table: pd.DataFrame, geoid: str) -> pd.Series:
    rows = table[table["geoid"] == geoid]
    assert len(rows) == 1
    return rows.iloc[0]


# --------------------------------------------------------------------------------------------
# Shape and names
# --------------------------------------------------------------------------------------------


def test_api_variables_cover_every_variable_with_estimate_and_moe():
    variables = api_variables()
    assert len(variables) == 2 * len(ACS_VARIABLES)
    assert variables[:2] == ["B03002_001E", "B03002_001M"]
    assert set(variables) == {f"{c}{s}" for c in ACS_VARIABLES for s in "EM"}


def test_tidy_columns_and_ids(tidy_2023):
    expected = [
        "year",
        "geography_level",
        "geoid",
        "name",
        "state_fips",
        "state_name",
        "county_geoid",
        "county_name",
    ]
    for column in ACS_VARIABLES.values():
        expected += [column, f"{column}_moe"]
    for column in DERIVED_COUNTS:
        expected += [column, f"{column}_moe"]
    assert list(tidy_2023.columns) == expected
    # No ACS code leaks through to the tidy table.
    assert not any(c.startswith(("B0", "B1", "B2", "C1")) for c in tidy_2023.columns)
    assert tidy_2023["geoid"].tolist() == ["09110400101", "09110400200", "09110400300"]
    assert (tidy_2023["geoid"].str.len() == 11).all()
    assert (tidy_2023["year"] == 2023).all()
    assert (tidy_2023["geography_level"] == "tract").all()
    assert (tidy_2023["state_fips"] == "09").all()
    assert (tidy_2023["county_geoid"] == "09110").all()


def test_names_split_in_the_2023_semicolon_style(tidy_2023):
    first = by_geoid(tidy_2023, "09110400101")
    assert first["name"] == "Census Tract 4001.01"
    assert first["county_name"] == "Capitol Planning Region"
    assert first["state_name"] == "Connecticut"


def test_names_split_in_the_2019_comma_style():
    raw = api_table([("010101", name_2019("101.01"), TRACT_C)], county="001")
    table = tidy_acs_units(raw, year=2019)
    row = table.iloc[0]
    assert row["geoid"] == "09001010101"
    assert row["county_geoid"] == "09001"
    assert row["name"] == "Census Tract 101.01"
    assert row["county_name"] == "Fairfield County"
    assert row["state_name"] == "Connecticut"
    assert row["year"] == 2019


def test_a_name_without_three_parts_is_rejected():
    raw = api_table([("010101", "Census Tract 101.01, Connecticut", TRACT_C)], county="001")
    with pytest.raises(ValueError, match=r"Census Tract 101.01, Connecticut"):
        tidy_acs_units(raw, year=2019)


def test_values_become_floats(tidy_2023):
    a = by_geoid(tidy_2023, "09110400101")
    assert a["total"] == pytest.approx(1000.0)
    assert a["total_moe"] == pytest.approx(30.0)
    assert a["median_household_income"] == pytest.approx(85000.0)
    assert tidy_2023["total"].dtype == "float64"
    assert tidy_2023["white_nh_moe"].dtype == "float64"


# --------------------------------------------------------------------------------------------
# Annotation codes
# --------------------------------------------------------------------------------------------


def test_annotation_codes_become_missing(tidy_2023):
    b = by_geoid(tidy_2023, "09110400200")
    assert math.isnan(b["white_nh"])
    assert math.isnan(b["black_nh_moe"])
    assert math.isnan(b["median_household_income"])
    assert math.isnan(b["median_household_income_moe"])
    assert b["total"] == pytest.approx(800.0)
    # No annotation code survives in any ACS estimate or MOE column.
    columns = [*ACS_VARIABLES.values(), *(f"{c}_moe" for c in ACS_VARIABLES.values())]
    assert not (tidy_2023[columns] < 0).any().any()


@pytest.mark.parametrize("code", [-111111111, -333333333, -555555555, -888888888, -999999999])
def test_every_annotation_code_becomes_missing(code):
    raw = api_table([("400101", name_2023("4001.01"), {"B19013_001E": str(code)})])
    table = tidy_acs_units(raw, year=2023)
    assert math.isnan(table.loc[0, "median_household_income"])


def test_controlled_estimate_moe_becomes_zero(caplog):
    # Synthetic: -555555555 in an MOE marks a controlled estimate, whose MOE is 0 (Census
    # annotation notes); so nonwhite_moe = sqrt(0² + white_nh_moe²) = white_nh_moe = 7.
    raw = api_table(
        [
            (
                "400101",
                name_2023("4001.01"),
                {"B03002_001M": "-555555555", "B03002_003M": "7"},
            )
        ]
    )
    with caplog.at_level(logging.INFO, logger="housing_segregation.acs"):
        table = tidy_acs_units(raw, year=2023, source="synthetic.json")
    assert table.loc[0, "total_moe"] == pytest.approx(0.0)
    assert table.loc[0, "nonwhite_moe"] == pytest.approx(7.0)
    assert any("total_moe were annotation code -555555555" in r.getMessage()
               and r.getMessage().endswith("set to 0") for r in caplog.records)  # fmt: skip


def test_annotation_codes_are_logged_with_counts(raw_2023, caplog):
    # Synthetic: a second -222222222 in white_nh_moe (tract C) so one count is 2.
    raw_2023[1][raw_2023[0].index("B03002_003M")] = "-222222222"
    with caplog.at_level(logging.INFO, logger="housing_segregation.acs"):
        tidy_acs_units(raw_2023, year=2023, source="synthetic.json")
    messages = [r.getMessage() for r in caplog.records]
    # Tract B: white_nh E, black_nh M, C17002_002 M, income E and M (5), plus tract C's 1 = 6.
    expected = [
        "1 value(s) of white_nh were annotation code -666666666",
        "1 value(s) of white_nh_moe were annotation code -222222222",
        "1 value(s) of black_nh_moe were annotation code -222222222",
        "1 value(s) of poverty_ratio_under_0_50_moe were annotation code -222222222",
        "1 value(s) of median_household_income were annotation code -666666666",
        "1 value(s) of median_household_income_moe were annotation code -222222222",
        "6 annotation value(s) in all",
    ]
    for text in expected:
        assert any(text in m and m.startswith("synthetic.json") for m in messages), text


def test_two_hits_of_one_code_in_one_column_are_counted_together(caplog):
    raw = api_table(
        [
            ("400101", name_2023("4001.01"), {"B25003_003M": "-222222222"}),
            ("400200", name_2023("4002"), {"B25003_003M": "-222222222"}),
        ]
    )
    with caplog.at_level(logging.INFO, logger="housing_segregation.acs"):
        tidy_acs_units(raw, year=2023)
    assert any(
        "2 value(s) of renters_moe were annotation code -222222222" in r.getMessage()
        for r in caplog.records
    )


# --------------------------------------------------------------------------------------------
# Derived counts and their MOEs
# --------------------------------------------------------------------------------------------


def test_derived_counts_and_moes_hand_computed(tidy_2023):
    a = by_geoid(tidy_2023, "09110400101")
    # nonwhite = total − white_nh = 1000 − 600 = 400; MOE √(30² + 40²) = √2500 = 50.
    assert a["nonwhite"] == pytest.approx(400.0)
    assert a["nonwhite_moe"] == pytest.approx(50.0)
    # below_poverty = C17002_002 + _003 = 50 + 70 = 120; MOE √(6² + 8²) = √100 = 10.
    assert a["below_poverty"] == pytest.approx(120.0)
    assert a["below_poverty_moe"] == pytest.approx(10.0)
    # above_poverty = universe − below = 900 − 50 − 70 = 780; MOE √(24² + 6² + 8²) = √676 = 26.
    assert a["above_poverty"] == pytest.approx(780.0)
    assert a["above_poverty_moe"] == pytest.approx(26.0)
    # below_150_poverty = 50 + 70 + 40 + 30 = 190; MOE √(6² + 8² + 5² + 10²) = √225 = 15.
    assert a["below_150_poverty"] == pytest.approx(190.0)
    assert a["below_150_poverty_moe"] == pytest.approx(15.0)


def test_derived_counts_from_defaults(tidy_2023):
    c = by_geoid(tidy_2023, "09110400300")
    # All estimates 5, all MOEs 3 (synthetic defaults).
    # nonwhite = 5 − 5 = 0, MOE √(3² + 3²) = √18; below = 5 + 5 = 10, MOE √18;
    # above_poverty MOE √(3² + 3² + 3²) = √27 (its estimate, 5 − 10, is meaningless with
    # these inconsistent defaults and is not checked); below_150 = 4·5 = 20, MOE √(4·9) = 6.
    assert c["nonwhite"] == pytest.approx(0.0, abs=1e-12)
    assert c["nonwhite_moe"] == pytest.approx(math.sqrt(18))
    assert c["below_poverty"] == pytest.approx(10.0)
    assert c["below_poverty_moe"] == pytest.approx(math.sqrt(18))
    assert c["above_poverty_moe"] == pytest.approx(math.sqrt(27))
    assert c["below_150_poverty"] == pytest.approx(20.0)
    assert c["below_150_poverty_moe"] == pytest.approx(6.0)


def test_derived_values_are_missing_when_a_part_is_missing(tidy_2023):
    b = by_geoid(tidy_2023, "09110400200")
    # white_nh is missing, so nonwhite (total − white_nh) cannot be computed.
    assert math.isnan(b["nonwhite"])
    # C17002_002M is missing: every poverty MOE that uses it is missing, estimates are not.
    assert b["below_poverty"] == pytest.approx(10.0)  # 5 + 5
    assert math.isnan(b["below_poverty_moe"])
    assert math.isnan(b["above_poverty_moe"])
    assert math.isnan(b["below_150_poverty_moe"])
    # nonwhite's MOE uses total and white_nh MOEs (both defaults 3): √(9 + 9) = √18.
    assert b["nonwhite_moe"] == pytest.approx(math.sqrt(18))


# --------------------------------------------------------------------------------------------
# Malformed input: clear errors
# --------------------------------------------------------------------------------------------


def test_ragged_row_names_the_row(raw_2023):
    raw_2023[2] = raw_2023[2][:-1]  # the second data row, row 3 counting the header as row 1
    with pytest.raises(ValueError, match=r"^synthetic.json: row 3 has \d+ values, the header"):
        tidy_acs_units(raw_2023, year=2023, source="synthetic.json")


@pytest.mark.parametrize("column", ["C17002_004M", "NAME", "tract"])
def test_missing_column_is_named(raw_2023, column):
    at = raw_2023[0].index(column)
    trimmed = [row[:at] + row[at + 1 :] for row in raw_2023]
    with pytest.raises(ValueError, match=rf"missing columns {column}$"):
        tidy_acs_units(trimmed, year=2023, source="synthetic.json")


def test_non_numeric_value_names_the_column(raw_2023):
    raw_2023[3][raw_2023[0].index("B25003_002E")] = "12a"
    with pytest.raises(ValueError, match=r"column B25003_002E holds a non-numeric value '12a'"):
        tidy_acs_units(raw_2023, year=2023, source="synthetic.json")


def test_duplicate_geoid_is_rejected(raw_2023):
    raw_2023[3][-1] = raw_2023[1][-1]  # third tract gets the first tract's code
    with pytest.raises(ValueError, match=r"duplicate tract GEOID 09110400300"):
        tidy_acs_units(raw_2023, year=2023, source="synthetic.json")


def test_malformed_geoid_is_rejected(raw_2023):
    raw_2023[1][-1] = "4003"  # 4 digits instead of 6
    with pytest.raises(ValueError, match=r"malformed tract GEOID '091104003'"):
        tidy_acs_units(raw_2023, year=2023, source="synthetic.json")


def test_negative_count_that_is_no_annotation_code_is_rejected(raw_2023):
    raw_2023[1][raw_2023[0].index("B25003_001E")] = "-4"
    with pytest.raises(ValueError, match=r"negative counts .* \['households'\]"):
        tidy_acs_units(raw_2023, year=2023, source="synthetic.json")


@pytest.mark.parametrize("raw", [{"error": "unknown variable"}, [], ["NAME"], [["NAME"], "x"]])
def test_not_an_array_of_arrays_is_rejected(raw):
    with pytest.raises(ValueError, match=r"^api.json: not a Census API table"):
        tidy_acs_units(raw, year=2023, source="api.json")


def test_header_without_rows_is_rejected(raw_2023):
    with pytest.raises(ValueError, match=r"header but no rows"):
        tidy_acs_units(raw_2023[:1], year=2023, source="synthetic.json")


def test_read_acs_units_reads_a_file(tmp_path, raw_2023):
    path = tmp_path / "acs.json"
    path.write_text(json.dumps(raw_2023), encoding="utf-8")
    table = read_acs_units(path, year=2023)
    assert table["geoid"].tolist() == ["09110400101", "09110400200", "09110400300"]


@pytest.mark.parametrize("text", ["", "<html>Service unavailable</html>", '[["NAME",'])
def test_read_acs_units_names_a_file_that_is_not_json(tmp_path, text):
    path = tmp_path / "broken.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken\.json: not valid JSON"):
        read_acs_units(path, year=2023)


def test_read_acs_units_names_a_file_that_is_json_but_no_table(tmp_path):
    path = tmp_path / "error.json"
    path.write_text('{"error": "error: unknown variable"}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"error\.json: not a Census API table"):
        read_acs_units(path, year=2023)


def test_read_acs_units_names_a_binary_file(tmp_path, raw_2023):
    path = tmp_path / "compressed.json"
    path.write_bytes(gzip.compress(json.dumps(raw_2023).encode()))
    with pytest.raises(ValueError, match=r"compressed\.json"):
        read_acs_units(path, year=2023)


# --------------------------------------------------------------------------------------------
# Real Connecticut files (numbers from ../shared/data/README.md)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "n_tracts", "population", "counties"),
    [
        (2023, 884, 3_598_348, [f"091{k}0" for k in range(1, 10)]),
        (2019, 833, 3_575_074, [f"090{k:02d}" for k in range(1, 16, 2)]),
    ],
)
def test_real_connecticut_tables(shared_data, year, n_tracts, population, counties):
    path = shared_data / "census-api" / f"acs5_{year}_tract_state09.json"
    table = read_acs_units(path, year=year)
    assert len(table) == n_tracts
    assert table["geoid"].is_unique
    assert (table["geoid"].str.len() == 11).all()
    assert table["total"].sum() == pytest.approx(population, abs=0.5)
    assert table["county_geoid"].nunique() == len(counties)
    assert sorted(table["county_geoid"].unique()) == counties
    assert (table["state_name"] == "Connecticut").all()
    # nonwhite + white_nh = total wherever both are known.
    known = table[["nonwhite", "white_nh", "total"]].dropna()
    assert (known["nonwhite"] + known["white_nh"] - known["total"]).abs().max() == pytest.approx(
        0.0, abs=1e-9
    )


# --------------------------------------------------------------------------------------------
# Year rules from the vintage table
# --------------------------------------------------------------------------------------------


def test_a_name_in_the_other_years_style_is_split_with_a_warning(caplog):
    # Synthetic: a 2019 table whose NAMEs use the 2022-on "; " style.
    raw = api_table([("010101", "Census Tract 101.01; Fairfield County; Connecticut", TRACT_C)])
    with caplog.at_level(logging.WARNING, logger="housing_segregation.acs"):
        row = tidy_acs_units(raw, year=2019, source="synthetic.json").iloc[0]
    assert (row["name"], row["county_name"], row["state_name"]) == (
        "Census Tract 101.01",
        "Fairfield County",
        "Connecticut",
    )
    assert "1 NAME(s) are not separated by ', ', the API's style for ACS 2019" in caplog.text


def test_the_years_own_separator_leaves_no_warning(raw_2023, caplog):
    with caplog.at_level(logging.WARNING, logger="housing_segregation.acs"):
        tidy_acs_units(raw_2023, year=2023, source="synthetic.json")
    assert "not separated by" not in caplog.text


@pytest.mark.parametrize("year", [2010, 2015, 2019, 2020, 2023, 2024])
def test_every_table_is_published_in_every_year(year):
    assert api_variables(year) == api_variables()


def test_a_table_the_release_lacks_is_named(monkeypatch, raw_2023):
    import dataclasses

    from housing_segregation import acs, vintages

    release = vintages.vintage(2023)
    without = dataclasses.replace(release, tables=release.tables - {"C17002"})
    monkeypatch.setattr(acs.vintages, "vintage", lambda year: without)
    with pytest.raises(ValueError, match=r"ACS 2023: table\(s\) C17002 are not published"):
        api_variables(2023)
    with pytest.raises(ValueError, match="C17002"):
        tidy_acs_units(raw_2023, year=2023)


def test_a_year_before_the_first_release_is_refused(raw_2023):
    with pytest.raises(ValueError, match="config key 'years': 2009"):
        tidy_acs_units(raw_2023, year=2009)


# --------------------------------------------------------------------------------------------
# Block groups (config unit_level: block_group)
# --------------------------------------------------------------------------------------------


def block_group_table(rows: list[tuple[str, str, str]], *, year_style: str) -> list[list[str]]:
    """A SYNTHETIC Census API block-group response: the tract response's header with the
    API's fourth geography column, "block group"; each row (tract, block group, B03002_001E)."""
    separator = "; " if year_style == "2023" else ", "
    county = "Capitol Planning Region" if year_style == "2023" else "Hartford County"
    header = ["NAME", *api_variables(unit=BLOCK_GROUP), *GEO, "block group"]
    table = [header]
    for tract, block_group, total in rows:
        name = separator.join(
            [f"Block Group {block_group}", f"Census Tract {int(tract) / 100:g}", county,
             "Connecticut"]
        )  # fmt: skip
        values = [
            total if v == "B03002_001E" else DEFAULT_ESTIMATE if v.endswith("E") else DEFAULT_MOE
            for v in api_variables(unit=BLOCK_GROUP)
        ]
        table.append([name, *values, "09", "110", tract, block_group])
    return table


def test_block_groups_get_twelve_digit_ids_their_tract_and_both_names():
    raw = block_group_table(
        [("400101", "2", "700"), ("400101", "1", "500"), ("400200", "1", "300")], year_style="2023"
    )
    tidy = tidy_acs_units(raw, year=2023, unit=BLOCK_GROUP, source="synthetic_bg.json")
    assert tidy["geoid"].tolist() == ["091104001011", "091104001012", "091104002001"]
    assert set(tidy["geography_level"]) == {"block_group"}
    assert tidy["tract_geoid"].tolist() == ["09110400101", "09110400101", "09110400200"]
    assert tidy["name"].tolist() == [
        "Block Group 1, Census Tract 4001.01",
        "Block Group 2, Census Tract 4001.01",
        "Block Group 1, Census Tract 4002",
    ]
    assert tidy["county_name"].tolist() == ["Capitol Planning Region"] * 3
    assert tidy["total"].tolist() == [500.0, 700.0, 300.0]


def test_block_group_names_split_in_the_2019_comma_style():
    raw = block_group_table([("400101", "1", "500")], year_style="2019")
    tidy = tidy_acs_units(raw, year=2019, unit=BLOCK_GROUP)
    assert tidy.loc[0, "county_name"] == "Hartford County"
    assert tidy.loc[0, "state_name"] == "Connecticut"


def test_a_tract_response_read_as_block_groups_names_the_missing_column(raw_2023):
    with pytest.raises(ValueError, match=r"synthetic\.json: missing columns block group"):
        tidy_acs_units(raw_2023, year=2023, unit=BLOCK_GROUP, source="synthetic.json")


def test_block_groups_before_2013_are_refused_naming_the_release():
    raw = block_group_table([("400101", "1", "500")], year_style="2019")
    with pytest.raises(ValueError, match=r"ACS 2012: table\(s\) .* not published for block "
                       r"groups in this release \(acs_vintages.yaml lists none\)"):  # fmt: skip
        tidy_acs_units(raw, year=2012, unit=BLOCK_GROUP)
