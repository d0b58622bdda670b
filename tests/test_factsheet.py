"""Tests for housing_segregation.factsheet on a synthetic four-tract state.

The tables are made up (labelled synthetic); every expected number is worked out by hand in
the comments."""

from __future__ import annotations

import geopandas as gpd
import matplotlib.pyplot as plt
import pandas as pd
import pytest
from shapely.geometry import box

from housing_segregation.factsheet import (
    FactsheetData,
    factsheet_pages,
    key_numbers,
    siting_panel,
    voucher_panel,
    write_factsheet,
)


def synthetic_tracts() -> gpd.GeoDataFrame:
    """Four 1 km squares in two regions; tract 4 is the only R/ECAP."""
    return gpd.GeoDataFrame(
        {
            "year": 2023,
            "state_name": "Synthetica",
            "geoid": ["99001000100", "99001000200", "99002000100", "99002000200"],
            "county_geoid": ["99001", "99001", "99002", "99002"],
            "county_name": ["North County", "North County", "South County", "South County"],
            "town_name": ["Alpha", "Alpha", "Beta", "Beta"],
            "total": [1000, 1000, 1000, 1000],
            "nonwhite": [100, 200, 600, 900],
            "white_nh": [900, 800, 400, 100],
            "black_nh": [50, 100, 300, 550],
            "hispanic": [50, 100, 300, 350],
            "recap": [False, False, False, True],
        },
        geometry=[
            box(0, 0, 1000, 1000),
            box(1000, 0, 2000, 1000),
            box(0, -1000, 1000, 0),
            box(1000, -1000, 2000, 0),
        ],
        crs="EPSG:5070",
    )


def index_row(level, geoid, name, group, value, low, high):
    return {
        "year": 2023,
        "geography_level": level,
        "geography_id": geoid,
        "geography_name": name,
        "index": "dissimilarity",
        "group": group,
        "reference_group": "white_nh",
        "value": value,
        "ci_low": low,
        "ci_high": high,
    }


def synthetic_data(**changes) -> FactsheetData:
    tracts = synthetic_tracts()
    indices = pd.DataFrame(
        [
            index_row("state", "99", "Synthetica", "black_nh", 0.4567, 0.44, 0.47),
            index_row("state", "99", "Synthetica", "hispanic", 0.3333, 0.32, 0.35),
            index_row("county", "99001", "North County", "black_nh", 0.2, 0.1, 0.3),
            index_row("county", "99002", "South County", "black_nh", 0.25, 0.2, 0.3),
        ]
    )
    siting = pd.DataFrame(
        {
            "geography_level": "state",
            "program": [
                "assisted_units_total",
                "assisted_units_total",
                "all_housing",
                "all_housing",
            ],
            "metric": ["share_in_recap", "share_in_majority_nonwhite"] * 2,
            "value": [0.5, 0.75, 0.25, 0.5],
        }
    )
    town_shares = pd.DataFrame(
        {
            "year": [2019, 2019, 2018],
            "below_threshold": [True, False, True],
            "exempt": [False, False, False],
        }
    )
    fields = {
        "tracts": tracts,
        "recaps": tracts,
        "indices": indices,
        "reference_group": "white_nh",
        "siting": siting,
        "town_shares": town_shares,
    }
    return FactsheetData(**{**fields, **changes})


def test_key_numbers_restate_the_tables():
    numbers = dict(key_numbers(synthetic_data()))
    assert numbers["0.46"].startswith("Black–white dissimilarity (90% interval 0.44–0.47)")
    assert numbers["0.33"].startswith("Hispanic–white dissimilarity (90% interval 0.32–0.35)")
    # The R/ECAP (tract 4) holds 550 of 1,000 Black residents, 350 of 800 Hispanic
    # (43.75%, shown 44%) and 100 of 2,200 white (4.5%).
    assert numbers["1"] == (
        "R/ECAP tracts, home to 55% of Black and 44% of Hispanic residents, 4.5% of white"
    )
    assert (
        numbers["50%"]
        == "of assisted housing units are in R/ECAPs, against 25% of all occupied homes"
    )
    # The latest list (2019) has 2 towns, 1 below 10%.
    assert numbers["1 of 2"].startswith("towns below the 10% affordable-housing threshold")


def test_missing_data_is_said_not_drawn():
    data = synthetic_data(siting=None)
    assert [figure for figure, _ in key_numbers(data)] == ["0.46", "0.33", "1", "1 of 2"]
    fig, ax = plt.subplots()
    assert siting_panel(ax, data).startswith("2. ")
    assert voucher_panel(ax, data).startswith("3. ")
    texts = [text.get_text() for text in ax.texts]
    assert texts[-1] == "Not available in this run:\nno voucher-mobility scenario"
    plt.close(fig)


def test_the_factsheet_is_two_pages_and_byte_identical_on_rerun(tmp_path):
    for name in ("one.pdf", "two.pdf"):
        pages = factsheet_pages(synthetic_data(), source="synthetic", analysis_version="test")
        write_factsheet(pages, tmp_path / name)
    first = (tmp_path / "one.pdf").read_bytes()
    assert first == (tmp_path / "two.pdf").read_bytes()
    assert first.count(b"/Type /Page") - first.count(b"/Type /Pages") == 2
    assert b"CreationDate" not in first
    assert not list(tmp_path.glob("*.partial"))


def test_a_state_row_must_be_unique():
    data = synthetic_data()
    doubled = pd.concat([data.indices, data.indices.iloc[:1]])
    with pytest.raises(ValueError, match="expected one state row of dissimilarity black_nh"):
        key_numbers(synthetic_data(indices=doubled))


def test_page_one_names_a_cbsa_whose_recap_threshold_is_partial():
    # SYNTHETIC: the same four tracts, in a CBSA whose other state's tracts were missing.
    recaps = synthetic_tracts().assign(cbsa_name="Twin Cities, SY-OT", cbsa_coverage="partial")
    sentence = "The CBSA mean of Twin Cities, SY-OT is over Synthetica's tracts only"
    for data, noted in ((synthetic_data(recaps=recaps), True), (synthetic_data(), False)):
        first, second = factsheet_pages(data, source="synthetic", analysis_version="test")
        assert (sentence in " ".join(text.get_text() for text in first.texts)) == noted
        plt.close(first)
        plt.close(second)
