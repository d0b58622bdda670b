"""CBSAs and planning regions attached to tracts."""

import io

import pandas as pd
import pytest

from housing_segregation.regions import (
    assign_cbsas,
    assign_planning_regions,
    cbsa_states,
    read_cbsa_delineation,
    read_planning_regions,
    state_delineation_csv,
    validate_workbook,
)

# Synthetic delineation rows in the layout of ../shared/data/delineations (Census list1 columns).
DELINEATION = """CBSA Code,CBSA Title,Metropolitan/Micropolitan Statistical Area,County/County Equivalent,State Name,FIPS State Code,FIPS County Code
14860,"Bridgeport-Stamford-Norwalk, CT",Metropolitan Statistical Area,Fairfield County,Connecticut,09,001
49340,"Worcester, MA-CT",Metropolitan Statistical Area,Windham County,Connecticut,09,015
"""  # noqa: E501


def tracts(county_geoids, boundary_counties):
    return pd.DataFrame(
        {
            "geoid": [f"t{i}" for i in range(len(county_geoids))],
            "county_geoid": county_geoids,
            "boundary_geoid": [c + "000100" for c in boundary_counties],
            "town_geoid": ["0911001080", "0911037070", "0915059980"][: len(county_geoids)],
        }
    )


@pytest.fixture
def delineation(tmp_path):
    path = tmp_path / "cbsa_2020_state09.csv"
    path.write_text(DELINEATION)
    return read_cbsa_delineation(path)


def test_delineation_is_read_as_county_to_cbsa(delineation):
    assert delineation.to_dict("records")[0] == {
        "county_geoid": "09001",
        "cbsa_geoid": "14860",
        "cbsa_name": "Bridgeport-Stamford-Norwalk, CT",
        "cbsa_type": "Metropolitan",
    }


def test_cbsas_reached_through_acs_counties_when_they_match(delineation):
    result = assign_cbsas(
        tracts(["09001", "09015", "09003"], ["09001", "09015", "09003"]),
        delineation,
        vintage=2020,
        run_states=["09"],
    )
    assert result["cbsa_geoid"].tolist() == ["14860", "49340", ""]
    # Worcester spans Massachusetts, which this run lacks; no CBSA is not "complete" either.
    assert result["cbsa_complete"].tolist() == [True, False, False]
    assert set(result["cbsa_delineation"]) == {"2020"}


def test_cbsas_fall_back_to_boundary_counties_for_recoded_counties(delineation):
    # Connecticut 2023: ACS planning regions (091x0), boundary files with the old counties.
    result = assign_cbsas(
        tracts(["09120", "09150"], ["09001", "09015"]),
        delineation,
        vintage=2020,
        run_states=["09", "25"],
    )
    assert result["cbsa_geoid"].tolist() == ["14860", "49340"]
    assert result["cbsa_complete"].tolist() == [True, True]


def test_delineation_missing_column_is_named(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("CBSA Code,CBSA Title\n1,x\n")
    with pytest.raises(ValueError, match=r"bad\.csv: missing delineation column.*FIPS State Code"):
        read_cbsa_delineation(path)


def test_cbsa_states():
    assert cbsa_states("Worcester, MA-CT") == ["MA", "CT"]
    assert cbsa_states("New York-Newark-Jersey City, NY-NJ-PA") == ["NY", "NJ", "PA"]


def test_state_rows_of_a_national_workbook(tmp_path):
    # Synthetic workbook shaped like list1: two title lines, a header, rows, then a note.
    header = [
        "CBSA Code", "Metropolitan Division Code", "CSA Code", "CBSA Title",
        "Metropolitan/Micropolitan Statistical Area", "Metropolitan Division Title", "CSA Title",
        "County/County Equivalent", "State Name", "FIPS State Code", "FIPS County Code",
        "Central/Outlying County",
    ]  # fmt: skip
    rows = [
        ["List 1. CORE BASED STATISTICAL AREAS (CBSAs)"] + [None] * 11,
        [None] * 12,
        header,
        ["14860", None, "408", "Bridgeport-Stamford-Norwalk, CT", "Metropolitan Statistical Area",
         None, "New York", "Fairfield County", "Connecticut", "09", "001", "Central"],
        ["49340", None, "148", "Worcester, MA-CT", "Metropolitan Statistical Area", None,
         "Boston", "Worcester County", "Massachusetts", "25", "027", "Central"],
        ["Note: synthetic"] + [None] * 11,
    ]  # fmt: skip
    buffer = io.BytesIO()
    pd.DataFrame(rows).to_excel(buffer, header=False, index=False)
    workbook = buffer.getvalue()
    validate_workbook(workbook)
    csv = state_delineation_csv(workbook, "09").decode()
    assert csv.splitlines() == [
        "CBSA Code,CBSA Title,Metropolitan/Micropolitan Statistical Area,"
        "County/County Equivalent,State Name,FIPS State Code,FIPS County Code",
        '14860,"Bridgeport-Stamford-Norwalk, CT",Metropolitan Statistical Area,'
        "Fairfield County,Connecticut,09,001",
    ]
    with pytest.raises(ValueError, match="no county of state 44"):
        state_delineation_csv(workbook, "44")


def test_workbook_validation_rejects_an_html_page():
    with pytest.raises(ValueError, match="not an Excel workbook"):
        validate_workbook(b"<!DOCTYPE html><html>Not Found</html>")


def test_planning_regions_through_towns(tmp_path):
    path = tmp_path / "regions.csv"
    path.write_text(
        "town_fips_2022,ce_fips_2022,ce_name_2022\n"
        "0911001080,09110,Capitol Planning Region\n"
        "0911037070,09110,Capitol Planning Region\n"
        "0915059980,09150,Northeastern Connecticut Planning Region\n"
    )
    regions = read_planning_regions(
        path, town_column="town_fips_2022", id_column="ce_fips_2022", name_column="ce_name_2022"
    )
    # Towns keyed by COUSUBFP, so 2019 towns (old county codes) find their region too.
    frame = tracts(["09013", "09003", "09015"], ["09013", "09003", "09015"])
    frame["town_geoid"] = ["0901301080", "0900337070", "0901559980"]
    result = assign_planning_regions(frame, regions)
    assert result["planning_region_geoid"].tolist() == ["09110", "09110", "09150"]
    frame.loc[0, "town_geoid"] = "0901399999"
    with pytest.raises(ValueError, match="99999 have no planning region"):
        assign_planning_regions(frame, regions)
