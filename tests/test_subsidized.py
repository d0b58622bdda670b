"""Tests for housing_segregation.subsidized: the stage functions the pipeline's scripts call."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import box

from housing_segregation import subsidized


def test_town_table_joins_the_lists_to_the_tracts_towns(
    shared_data, pipeline_config, ct_tracts_2023
):
    files = {
        year: shared_data / spec["path"]
        for year, spec in pipeline_config["subsidized"]["town_lists"]["09"]["files"].items()
    }
    table = subsidized.town_assisted_share(files, ct_tracts_2023)
    assert list(table.columns) == subsidized.TOWN_SHARE_COLUMNS
    assert len(table) == 18 * 169
    # GEOIDs in the tract table's 2022 coding (planning regions 091x0), so they join.
    assert set(table["town_geoid"]) == set(ct_tracts_2023["town_geoid"])
    # The four published figures that do not follow from their counts (docs/methods.md).
    flagged = table.loc[table["published_check"] != "", ["year", "town_name", "published_check"]]
    assert sorted(flagged.values.tolist()) == [
        [2007, "Hamden", "total"],
        [2009, "Montville", "percent"],
        [2010, "New Haven", "percent"],
        [2010, "Stratford", "percent"],
    ]
    # Andover 2019: 48 assisted of 1,317 homes, 3.64%; 10% needs ceil(131.7 − 48) = 84 more.
    andover = table[(table["year"] == 2019) & (table["town_name"] == "Andover")].iloc[0]
    assert (andover["total_assisted"], andover["housing_units"]) == (48, 1317)
    assert andover["units_to_threshold"] == 84 and andover["below_threshold"]


def synthetic_town_shares() -> pd.DataFrame:
    # Synthetic: two towns in the 2022 coding, one list year.
    return pd.DataFrame(
        {
            "year": [2019, 2019],
            "town_geoid": ["0911012345", "0912067890"],
            "town_name": ["Alpha", "Beta"],
            "percent_published": [4.0, 12.5],
        }
    )


def synthetic_boundaries() -> gpd.GeoDataFrame:
    # Synthetic county-subdivision polygons with the old county codes of the 2020 file.
    return gpd.GeoDataFrame(
        {
            "GEOID": ["0900112345", "0900367890"],
            "STATEFP": ["09", "09"],
            "COUNTYFP": ["001", "003"],
            "COUSUBFP": ["12345", "67890"],
        },
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
        crs="EPSG:5070",
    )


def test_towns_match_their_polygons_across_county_codings():
    towns = subsidized.towns_for_map(
        synthetic_town_shares(), synthetic_boundaries(), list_year=2019
    )
    assert towns.set_index("town_name").geometry.bounds["minx"].to_dict() == {
        "Alpha": 0.0,
        "Beta": 1.0,
    }
    with pytest.raises(ValueError, match="no rows for list year 2018"):
        subsidized.towns_for_map(synthetic_town_shares(), synthetic_boundaries(), list_year=2018)
    with pytest.raises(ValueError, match="no polygon for Beta"):
        subsidized.towns_for_map(
            synthetic_town_shares(), synthetic_boundaries().iloc[:1], list_year=2019
        )


def test_collect_tables_stacks_parts_and_keeps_ids_as_text(tmp_path):
    # Synthetic parts of two states.
    parts = {"metrics": [], "summary": []}
    for state in ("09", "44"):
        metrics = tmp_path / f"metrics_{state}.csv"
        pd.DataFrame({"geography_id": [state], "value": [0.5]}).to_csv(metrics, index=False)
        parts["metrics"].append(str(metrics))
        summary = tmp_path / f"summary_{state}.txt"
        summary.write_text(f"state {state}\n")
        parts["summary"].append(str(summary))
    outputs = [str(tmp_path / "siting_metrics.csv"), str(tmp_path / "siting_model_summary.txt")]
    subsidized.collect_tables(parts, outputs)
    stacked = pd.read_csv(outputs[0], dtype=str)
    assert stacked["geography_id"].tolist() == ["09", "44"]
    assert (tmp_path / "siting_model_summary.txt").read_text() == "state 09\n\nstate 44\n"
    with pytest.raises(ValueError, match=r"no part makes other\.csv"):
        subsidized.collect_tables(parts, [str(tmp_path / "other.csv")])


HUD_FIXTURES = Path(__file__).parent / "fixtures" / "hud"


def test_hud_sources_per_tract_keep_suppressed_values_missing(ct_tracts_2023, tmp_path):
    # Synthetic HUD fixtures (tests/fixtures/hud) on the real 2023 tracts: rows of tracts not
    # in Connecticut's tract table are left out; suppressed values stay, flagged, never 0.
    database = tmp_path / "lihtcpub.zip"
    with zipfile.ZipFile(database, "w") as archive:
        archive.write(HUD_FIXTURES / "lihtcpub.csv", "LIHTCPUB.CSV")
    files = {
        "psh": HUD_FIXTURES / "psh_tract_2023.csv",
        "vouchers": HUD_FIXTURES / "hcv_tract_state09.json",
        "lihtc": database,
        "lihtc_geocodes": HUD_FIXTURES / "lihtc_egis_state09.json",
    }
    settings = {"psh_year": 2023, "voucher_vintage": 2025, "lihtc_vintage": 2024}
    table = subsidized.hud_by_tract(ct_tracts_2023, files, settings, state="09")
    assert list(table.columns) == subsidized.HUD_COLUMNS
    assert set(table["geoid"]) <= set(ct_tracts_2023["geoid"])
    value = table.set_index(["source", "program", "measure", "geoid"])

    def get(*key):
        return value.loc[key, ["value", "suppressed"]].tolist()

    # PSH row "Summary of All HUD Programs" of tract 4001.01: 190 units, 90 households.
    assert get("hud_psh", "all_programs", "subsidized_units", "09110400101") == [190.0, False]
    assert get("hud_psh", "public_housing", "subsidized_units", "09110400101") == [40.0, False]
    # Vouchers: 58 in tract 4001.01; 4001.02 withheld (10 or fewer): missing, not zero.
    assert get("hud_hcv", "housing_choice_vouchers", "vouchers", "09110400101") == [58.0, False]
    vouchers = value.loc[("hud_hcv", "housing_choice_vouchers", "vouchers", "09110400102")]
    assert np.isnan(vouchers["value"]) and vouchers["suppressed"]
    # LIHTC: three projects placed (precise points, or HUD's tract), each in its own tract.
    lihtc = table[(table["source"] == "hud_lihtc") & (table["measure"] == "projects")]
    assert lihtc["value"].sum() == 3
    assert get("hud_lihtc", "lihtc", "low_income_units", "09110502700") == [120.0, False]
    with pytest.raises(ValueError, match="no HUD source given"):
        subsidized.hud_by_tract(ct_tracts_2023, {}, settings, state="09")


def test_a_tract_total_with_a_missing_part_is_missing():
    # Synthetic: a LIHTC tract whose only project has no unit count is not 0 units.
    assert np.isnan(subsidized._sum_or_missing(pd.Series([12.0, np.nan])))
    assert subsidized._sum_or_missing(pd.Series([12.0, 3.0])) == 15.0


def synthetic_hud_table() -> pd.DataFrame:
    """Synthetic long HUD table (hud_by_tract.csv shape) over tracts A, B, C.

    PSH: A lists public housing (20 units), project-based Section 8 (7) and Section 8 NC/SR
    (5), which both belong to the project-based Section 8 group; B lists public housing,
    withheld. Vouchers: A 12, B withheld, C 30. No LIHTC.
    """
    rows = [
        ("A", "hud_psh", "public_housing", "subsidized_units", 20.0),
        ("A", "hud_psh", "project_based_section_8", "subsidized_units", 7.0),
        ("A", "hud_psh", "section_8_nc_sr", "subsidized_units", 5.0),
        ("A", "hud_psh", "public_housing", "pct_minority", 80.0),
        ("B", "hud_psh", "public_housing", "subsidized_units", np.nan),
        ("A", "hud_hcv", "housing_choice_vouchers", "vouchers", 12.0),
        ("B", "hud_hcv", "housing_choice_vouchers", "vouchers", np.nan),
        ("C", "hud_hcv", "housing_choice_vouchers", "vouchers", 30.0),
    ]
    table = pd.DataFrame(rows, columns=["geoid", "source", "program", "measure", "value"])
    return table.assign(year=2023, geography_level="tract", suppressed=table["value"].isna())


def test_hud_counts_become_programs_with_zeros_where_unlisted_and_gaps_where_withheld():
    units = subsidized.hud_siting_units(synthetic_hud_table()).set_index("geoid")
    assert list(units.columns) == [
        "hud_hcv_households",
        "hud_psh_project_based_section_8_units",
        "hud_psh_public_housing_units",
    ]
    # Section 8 NC/SR is summed into project-based Section 8: 7 + 5.
    assert units.loc["A"].tolist() == [12.0, 12.0, 20.0]
    # B: both withheld counts stay missing; it lists no Section 8, so 0.
    assert np.isnan(units.loc["B", "hud_hcv_households"])
    assert units.loc["B", "hud_psh_project_based_section_8_units"] == 0.0
    assert np.isnan(units.loc["B", "hud_psh_public_housing_units"])
    # C: PSH does not list it, so none of PSH's units; vouchers 30.
    assert units.loc["C"].tolist() == [30.0, 0.0, 0.0]
    # Percentages describe residents, not places: they are not programs.
    assert not any("pct" in column for column in units.columns)
    with pytest.raises(ValueError, match="no counts to site"):
        subsidized.hud_siting_units(synthetic_hud_table().iloc[3:4])


def test_program_labels_name_the_source():
    assert subsidized.program_label("assisted_units_lihtc") == "LIHTC"
    assert subsidized.program_label("hud_psh_public_housing_households") == (
        "HUD PSH: public housing (households)"
    )
    assert subsidized.program_label("hud_hcv_households") == ("HUD vouchers by tract (households)")
    for unknown in ("hud_psh_nothing_units", "hud_hcv_units", "vouchers"):
        with pytest.raises(ValueError, match="no label"):
            subsidized.program_label(unknown)
    charted = subsidized.charted_programs(["hud_lihtc_units", "assisted_units_total", "x"])
    assert list(charted) == ["assisted_units_total", "hud_lihtc_units"]


def test_shared_point_sensitivity_leaves_out_the_projects_of_shared_points():
    # Synthetic: five public-housing projects of 10 units share one point in R/ECAP tract A;
    # one project of 50 units stands alone in tract B.
    tracts = pd.DataFrame(
        {"year": 2023, "geoid": ["A", "B"], "state_fips": "09", "state_name": "Connecticut",
         "town_geoid": ["T1", "T2"], "town_name": ["One", "Two"], "households": [100.0, 900.0]}
    )  # fmt: skip
    recaps = pd.DataFrame(
        {"geoid": ["A", "B"], "recap": [True, False], "nonwhite_share": [0.7, 0.2],
         "poverty_rate": [0.45, 0.05]}
    )  # fmt: skip
    groups = [f"units_{group}" for group in subsidized.assisted.GROUPS]
    projects = pd.DataFrame(
        {"project_id": [f"P{i}" for i in range(6)], "geoid": ["A"] * 5 + ["B"],
         "latitude": [41.1] * 5 + [41.5], "longitude": [-73.2] * 5 + [-72.9],
         "units": [10] * 5 + [50], **dict.fromkeys(groups, 0)}
    ).assign(units_public_housing=[10] * 5 + [50])  # fmt: skip
    table = subsidized.shared_point_sensitivity(tracts, recaps, projects)
    assert list(table.columns) == subsidized.SENSITIVITY_COLUMNS
    public_housing = table["program"] == "assisted_units_public_housing"
    state = table[(table["geography_level"] == "state") & public_housing].set_index("metric")
    assert state.loc["units", ["value", "value_without_shared_points"]].tolist() == [100, 50]
    assert state.loc["share_in_recap", "value"] == pytest.approx(0.5)
    assert state.loc["share_in_recap", "value_without_shared_points"] == 0.0
    assert state.loc["share_in_recap", "difference"] == pytest.approx(-0.5)
    # Town One has no units left: its shares are missing without the shared point.
    one = table[(table["geography_id"] == "T1") & (table["program"] == "assisted_units_total")]
    assert one.set_index("metric").loc["units", "value_without_shared_points"] == 0
    assert np.isnan(one.set_index("metric").loc["share_in_recap", "value_without_shared_points"])
    assert "all_housing" not in set(table["program"])
