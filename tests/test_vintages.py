"""Tests for housing_segregation.vintages: the table of ACS 5-year releases."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from housing_segregation import vintages
from housing_segregation.vintages import boundary_layout, load_table, vintage

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "acs_vintages.schema.yaml"
TABLES = {"B01003", "B03002", "B19013", "B25003", "C17002"}


def test_the_table_passes_its_schema():
    document = yaml.safe_load(vintages.TABLE_PATH.read_text(encoding="utf-8"))
    jsonschema.validate(document, yaml.safe_load(SCHEMA.read_text(encoding="utf-8")))
    assert SCHEMA.resolve() == vintages.SCHEMA_PATH


@pytest.mark.parametrize("year", range(2010, 2025))
def test_every_end_year_from_2010_to_2024_has_its_row(year):
    row = vintage(year)
    assert row.end_year == year
    assert row.tables == TABLES
    assert row.name_separator in {", ", "; "}


def test_a_year_before_2010_is_refused_naming_the_key():
    with pytest.raises(ValueError, match=r"config key 'years': 2009 .*allowed: 2010 or later"):
        vintage(2009)


@pytest.mark.parametrize(
    ("year", "decade"), [(2010, 2010), (2015, 2010), (2019, 2010), (2020, 2020), (2023, 2020)]
)
def test_tract_decades(year, decade):
    # The 2016-2020 release was the first on 2020 tracts.
    assert vintage(year).tract_decade == decade


@pytest.mark.parametrize(
    ("year", "boundaries"), [(2010, 2014), (2013, 2014), (2014, 2014), (2019, 2019), (2023, 2023)]
)
def test_default_boundary_vintages(year, boundaries):
    # 2010-2013 read the first vintage in today's layout, which still has 2010 tracts.
    assert vintage(year).boundary_vintage == boundaries
    assert vintage(boundaries).tract_decade == vintage(year).tract_decade


@pytest.mark.parametrize(
    ("year", "separator"), [(2010, ", "), (2019, ", "), (2021, ", "), (2022, "; "), (2024, "; ")]
)
def test_name_separators(year, separator):
    assert vintage(year).name_separator == separator


@pytest.mark.parametrize(
    ("year", "equivalent"),
    [
        (2019, "counties"),
        (2021, "counties"),
        (2022, "planning_regions"),
        (2023, "planning_regions"),
    ],
)
def test_connecticut_counts_by_planning_region_from_2022(year, equivalent):
    assert vintage(year).county_equivalent("09") == equivalent
    assert vintage(year).county_equivalent("25") == "counties"  # no change in Massachusetts


def test_the_first_planning_region_year():
    assert vintages.first_year_with("09", "planning_regions") == 2022
    assert vintages.first_year_with("25", "planning_regions") is None


def test_later_years_reuse_the_last_row_with_their_own_boundaries():
    last = vintage(vintages.last_year())
    later = vintage(vintages.last_year() + 3)
    assert later.end_year == vintages.last_year() + 3
    assert later.boundary_vintage == vintages.last_year() + 3
    assert (later.tract_decade, later.name_separator, later.tables) == (
        last.tract_decade,
        last.name_separator,
        last.tables,
    )
    assert later.county_equivalents == last.county_equivalents


def test_boundary_layouts():
    assert boundary_layout(2014) == "GENZ{vintage}/shp/cb_{vintage}_{state}_{layer}_500k.zip"
    assert boundary_layout(2030) == boundary_layout(2014)
    with pytest.raises(ValueError, match="before 2014 use another layout: 2013"):
        boundary_layout(2013)


def test_the_relationship_file_entries():
    entry = vintages.relationship_file(2010, 2020)
    assert entry.path == "census-rel2020/tab20_tract20_tract10_natl.txt"
    assert entry.url_path == "rel2020/tract/tab20_tract20_tract10_natl.txt"
    block_groups = vintages.relationship_file(2010, 2020, "block_group")
    assert block_groups.url_path == "rel2020/blkgrp/tab20_blkgrp20_blkgrp10_natl.txt"
    with pytest.raises(ValueError, match="no tract relationship file from 2000 to 2010"):
        vintages.relationship_file(2000, 2010)


@pytest.mark.parametrize("year", range(2010, 2025))
def test_block_group_tables_start_with_the_2013_release(year):
    assert vintage(year).tables_for("block_group") == (TABLES if year >= 2013 else frozenset())
    assert vintage(year).tables_for("tract") == TABLES


def write_table(tmp_path, years):
    document = yaml.safe_load(vintages.TABLE_PATH.read_text(encoding="utf-8"))
    document["years"] = years
    path = tmp_path / "acs_vintages.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_rows_must_follow_on_without_gaps(tmp_path):
    rows = yaml.safe_load(vintages.TABLE_PATH.read_text(encoding="utf-8"))["years"]
    path = write_table(tmp_path, [rows[0], rows[2]])
    with pytest.raises(ValueError, match=r"key 'years': end years must run on without gaps"):
        load_table(path)


def test_an_unknown_field_is_named(tmp_path):
    rows = yaml.safe_load(vintages.TABLE_PATH.read_text(encoding="utf-8"))["years"]
    path = write_table(tmp_path, [{**rows[0], "tract_decade": 2000}])
    with pytest.raises(ValueError, match=r"key 'years.0.tract_decade'"):
        load_table(path, schema_path=SCHEMA)


def test_the_table_loads_without_its_schema(tmp_path):
    # An installed library may lack workflow/schemas; the rows still load and are checked.
    assert load_table(schema_path=tmp_path / "absent.yaml") == vintages.table()
