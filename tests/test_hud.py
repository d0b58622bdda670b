"""Tests for housing_segregation.hud: readers on synthetic fixtures in HUD's documented layouts,
and downloads (ArcGIS paging included) against the scripted server on 127.0.0.1.

No test reaches the network. The fixtures (tests/fixtures/hud/, see its README) are synthetic;
the CSVs are turned into the workbooks and archives HUD publishes where the format matters.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hud_fixtures import FIXTURES, workbook_bytes, zip_bytes
from scripted_server import Query, Reply, ScriptedServer, running_server

from housing_segregation import hud
from housing_segregation.download import DownloadError, fetch_arcgis_query, sha256_file

PSH_TRACT_CSV = FIXTURES / "psh_tract_2023.csv"
PSH_PROJECT_CSV = FIXTURES / "psh_project_2023.csv"
LIHTC_CSV = FIXTURES / "lihtcpub.csv"
LIHTC_EGIS = FIXTURES / "lihtc_egis_state09.json"
HCV_JSON = FIXTURES / "hcv_tract_state09.json"
HCV_QUERY_PATH = "/arcgis/rest/services/Housing_Choice_Vouchers_by_Tract/FeatureServer/0/query"

#: The PSH characteristics HUD suppresses as a block, as tidy columns (all but the counts of
#: units, households reported, occupancy and the surrounding tract's figures).
PSH_CHARACTERISTICS = [
    column
    for variable, column in hud.PSH_MEASURES.items()
    if variable
    not in (
        "total_units",
        "pct_occupied",
        "number_reported",
        "pct_reported",
        "tpoverty",
        "tminority",
    )
]


def no_sleep(seconds: float) -> None:
    """Stand-in for time.sleep so retries cost no wall time."""


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with running_server() as scripted:
        yield scripted


def listing(directory: Path) -> list[str]:
    """All entries under ``directory`` (hidden temp files included)."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


def missing_counts(missing: pd.DataFrame) -> dict[tuple[str, str], int]:
    return {(row.column, row.code): row.count for row in missing.itertuples()}


def totals_by_code(missing: pd.DataFrame) -> dict[str, int]:
    return {code: int(count) for code, count in missing.groupby("code")["count"].sum().items()}


# --------------------------------------------------------------------------------------------
# Layout paths and URLs
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "level", "state", "census", "name"),
    [
        (2023, "tract", "09", None, "TRACT_AK_MN_2023_2020census.xlsx"),
        (2024, "tract", "36", None, "TRACT_MO_WY_2024_2020census.xlsx"),
        (2020, "tract", "09", None, "TRACT_AK_MN_2020.xlsx"),
        (2020, "project", None, None, "PROJECT_2020.xlsx"),
        (2025, "project", None, None, "PROJECT_2025_2020census.xlsx"),
        (2022, "tract", "27", 2010, "TRACT_AK_MN_2022_2010census.xlsx"),
    ],
)
def test_psh_file_names_layouts_and_urls(
    year: int, level: str, state: str | None, census: int | None, name: str
) -> None:
    assert hud.psh_file_name(year, level, state, census) == name
    assert hud.psh_layout(year, level, state, census) == f"hud-psh/{name}"
    assert hud.psh_url(year, level, state, census) == (
        f"https://www.huduser.gov/portal/datasets/pictures/files/{name}"
    )


@pytest.mark.parametrize(
    ("state", "part"),
    [("09", "AK_MN"), ("02", "AK_MN"), ("27", "AK_MN"), ("29", "MO_WY"), ("56", "MO_WY")],
)
def test_psh_state_range_follows_postal_order(state: str, part: str) -> None:
    assert hud.psh_state_range(state) == part


@pytest.mark.parametrize(
    ("year", "level", "state", "census", "message"),
    [
        (2023, "county", "09", None, "unknown PSH level"),
        (2023, "tract", None, None, "give state"),
        (2019, "tract", "09", 2020, "2010 tracts"),
        (2023, "tract", "9", None, "unknown state"),
        (2008, "project", None, None, "start in 2009"),
    ],
)
def test_psh_file_name_rejects(
    year: int, level: str, state: str | None, census: int | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        hud.psh_file_name(year, level, state, census)


def test_other_layouts() -> None:
    assert hud.psh_census_vintage(2021) == 2010
    assert hud.psh_census_vintage(2022) == 2020
    assert hud.lihtc_layout(2023) == "hud-lihtc/lihtcpub_2023.zip"
    assert hud.lihtc_geocoding_layout(2023, "09") == "hud-lihtc/lihtc_egis_2023_state09.json"
    assert hud.hcv_layout(2024, "09") == "hud-hcv/hcv_2024_tract_state09.json"
    assert hud.hcv_query_params("09")["where"] == "STATE = '09'"
    assert hud.lihtc_geocoding_query_params("09")["where"] == "PROJ_ST = 'CT'"
    # Layouts are patterns too (for Snakemake's wildcards); the downloads check the state.
    assert hud.hcv_layout("{vintage}", "{state}") == "hud-hcv/hcv_{vintage}_tract_state{state}.json"
    with pytest.raises(ValueError, match="unknown state"):
        hud.hcv_query_params("99")


# --------------------------------------------------------------------------------------------
# Picture of Subsidized Households
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def psh_workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("psh") / "TRACT_AK_MN_2023_2020census.xlsx"
    path.write_bytes(workbook_bytes(PSH_TRACT_CSV))
    return path


def test_read_psh_tracts_decodes_every_code(
    psh_workbook: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="housing_segregation.hud")
    table, missing = hud.read_psh_tracts(psh_workbook, year=2023, state="09")

    assert list(table.columns) == list(hud.PSH_TRACT_COLUMNS)
    # Numeric cells lost the leading zero; the reader restores it. MA, the X tract and the
    # sub-program breakout row are gone: one row per tract x program.
    assert list(zip(table["tract_geoid"], table["program"], strict=True)) == [
        ("09110400101", "all_programs"),
        ("09110400101", "public_housing"),
        ("09110400101", "housing_choice_vouchers"),
        ("09110400101", "project_based_section_8"),
        ("09110400101", "section_202_prac"),
        ("09110400102", "all_programs"),
        ("09110400102", "housing_choice_vouchers"),
        ("09120010100", "all_programs"),
        ("09120010100", "section_811_prac"),
    ]
    assert set(table["program_group"]) == {
        "all_programs",
        "public_housing",
        "housing_choice_vouchers",
        "project_based_section_8",
        "other_multifamily",
    }
    assert (table["state_fips"] == "09").all()
    assert table["county_geoid"].tolist()[:1] == ["09110"]
    assert (table["year"] == 2023).all() and (table["tract_vintage"] == 2020).all()
    row = table.set_index(["tract_geoid", "program"])

    # The breakout row (21 units) was dropped in favour of its program's total (25 units).
    assert row.loc[("09110400102", "housing_choice_vouchers"), "subsidized_units"] == 25
    # NA (not applicable) -> missing.
    assert np.isnan(row.loc[("09110400101", "housing_choice_vouchers"), "pct_occupied"])
    # -1 (missing) -> missing; other columns of the row untouched.
    public = row.loc[("09110400101", "public_housing")]
    assert np.isnan(public["months_waiting"])
    assert public["average_household_income"] == 17500
    # -4 (suppressed, also written -4.0) and -5 (non-reporting): the whole block is missing,
    # never zero, while units and households reported stay.
    for key in [
        ("09110400101", "section_202_prac"),
        ("09110400102", "housing_choice_vouchers"),
        ("09110400102", "all_programs"),
    ]:
        assert row.loc[key, PSH_CHARACTERISTICS].isna().all(), key
    assert row.loc[("09110400101", "section_202_prac"), "households_reported"] == 8
    # An undocumented negative code (-9) is missing too; a real zero stays zero.
    assert np.isnan(row.loc[("09120010100", "all_programs"), "months_waiting"])
    assert row.loc[("09110400101", "project_based_section_8"), "pct_native_american_nh"] == 0
    measures = table[list(hud.PSH_MEASURES.values())]
    assert not (measures < 0).any().any()

    counts = missing_counts(missing)
    assert totals_by_code(missing) == {
        "-4": 2 * len(PSH_CHARACTERISTICS),
        "-5": len(PSH_CHARACTERISTICS),
        "-1": 2,
        "NA": 2,
        "-9": 1,
        "unlocated": 1,
    }
    assert counts[("pct_occupied", "NA")] == 2
    assert counts[("months_waiting", "-1")] == 1
    assert counts[("average_household_income", "-1")] == 1
    assert counts[("people_per_unit", "-4")] == 2
    assert counts[("tract_geoid", "unlocated")] == 1
    meanings = dict(zip(missing["code"], missing["meaning"], strict=True))
    assert meanings["-4"] == "suppressed: fewer than 11 households reported"
    assert meanings["-5"] == "non-reporting: fewer than 50% of households reported"
    assert meanings["-1"] == "missing"
    assert meanings["NA"] == "not applicable"
    assert meanings["-9"] == "undocumented code"

    messages = [r.getMessage() for r in caplog.records if r.name == "housing_segregation.hud"]
    assert any(
        m.endswith(f"code -4: {2 * len(PSH_CHARACTERISTICS)} value(s) in all") for m in messages
    )
    assert any("undocumented code -9" in m for m in messages)
    assert any("dropped 1 sub-program breakout row" in m for m in messages)


def test_read_psh_tracts_csv_matches_workbook(psh_workbook: Path) -> None:
    from_csv = hud.read_psh_tracts(PSH_TRACT_CSV, year=2023, state="09")
    from_xlsx = hud.read_psh_tracts(psh_workbook, year=2023, state="09")
    pd.testing.assert_frame_equal(from_csv.table, from_xlsx.table)
    pd.testing.assert_frame_equal(from_csv.missing, from_xlsx.missing)


def test_read_psh_tracts_from_a_sparse_hand_written_workbook(tmp_path: Path) -> None:
    """Cells addressed by reference (a gap in E2), inline and shared strings, numbers in
    exponent notation, and a first sheet that is not called sheet1.xml."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    names = [
        "code",
        "program_label",
        "program",
        "total_units",
        "pct_occupied",
        "number_reported",
        "pct_reported",
        "people_total",
    ]
    header = "".join(
        f'<c r="{chr(65 + i)}1" t="inlineStr"><is><t>{name}</t></is></c>'
        for i, name in enumerate(names)
    )
    row = (
        '<c r="A2"><v>9.110400101E9</v></c>'
        '<c r="B2" t="inlineStr"><is><t>Public Housing</t></is></c>'
        '<c r="C2"><v>2</v></c><c r="D2"><v>40.0</v></c>'
        '<c r="F2"><v>-4</v></c><c r="G2"><v>94</v></c><c r="H2" t="s"><v>0</v></c>'
    )
    parts = {
        "[Content_Types].xml": b"<Types/>",
        "xl/workbook.xml": (
            f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
            '<sheet name="Tract" sheetId="1" r:id="rId7"/></sheets></workbook>'
        ).encode(),
        "xl/_rels/workbook.xml.rels": (
            b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            b'<Relationship Id="rId7" Target="worksheets/data.xml"/></Relationships>'
        ),
        "xl/sharedStrings.xml": f'<sst xmlns="{main}"><si><t>-5</t></si></sst>'.encode(),
        "xl/worksheets/data.xml": (
            f'<worksheet xmlns="{main}"><sheetData><row r="1">{header}</row>'
            f'<row r="2">{row}</row></sheetData></worksheet>'
        ).encode(),
    }
    path = tmp_path / "TRACT_AK_MN_2023_2020census.xlsx"
    path.write_bytes(zip_bytes(parts))
    hud.validate_psh_xlsx(path.read_bytes())

    table, missing = hud.read_psh_tracts(path, year=2023, state="09")

    first = table.iloc[0]
    assert (first["tract_geoid"], first["program"]) == ("09110400101", "public_housing")
    assert first["subsidized_units"] == 40 and first["pct_reported"] == 94
    assert np.isnan(first["pct_occupied"])  # an empty cell: missing, but not a code
    assert np.isnan(first["households_reported"]) and np.isnan(first["people"])
    assert missing_counts(missing) == {("households_reported", "-4"): 1, ("people", "-5"): 1}


def test_read_psh_tracts_other_state_is_filtered() -> None:
    table, missing = hud.read_psh_tracts(PSH_TRACT_CSV, year=2023, state="25")
    assert table["tract_geoid"].tolist() == ["25025010100"]
    assert totals_by_code(missing) == {"-4": len(PSH_CHARACTERISTICS)}


def edited_csv(tmp_path: Path, source: Path, edit: Callable[[list[list[str]]], None]) -> Path:
    with source.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    edit(rows)
    path = tmp_path / source.name
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_read_psh_tracts_rejects_unknown_program(tmp_path: Path) -> None:
    def rename(rows: list[list[str]]) -> None:
        rows[2][rows[0].index("program_label")] = "Secret Program"

    path = edited_csv(tmp_path, PSH_TRACT_CSV, rename)
    with pytest.raises(ValueError, match=r"psh_tract_2023\.csv: row 3: unknown program_label"):
        hud.read_psh_tracts(path, year=2023, state="09")


def test_read_psh_tracts_rejects_text_in_a_number(tmp_path: Path) -> None:
    def garble(rows: list[list[str]]) -> None:
        rows[4][rows[0].index("hh_income")] = "lots"

    path = edited_csv(tmp_path, PSH_TRACT_CSV, garble)
    with pytest.raises(ValueError, match=r"row 5, column hh_income: non-numeric value 'lots'"):
        hud.read_psh_tracts(path, year=2023, state="09")


def test_read_psh_tracts_requires_core_columns(tmp_path: Path) -> None:
    def drop(rows: list[list[str]]) -> None:
        index = rows[0].index("total_units")
        for row in rows:
            del row[index]

    path = edited_csv(tmp_path, PSH_TRACT_CSV, drop)
    with pytest.raises(ValueError, match="missing columns total_units"):
        hud.read_psh_tracts(path, year=2023, state="09")


def test_read_psh_tracts_absent_optional_column_is_missing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def drop(rows: list[list[str]]) -> None:
        index = rows[0].index("tminority")
        for row in rows:
            del row[index]

    path = edited_csv(tmp_path, PSH_TRACT_CSV, drop)
    table, _ = hud.read_psh_tracts(path, year=2023, state="09")
    assert table["tract_pct_minority"].isna().all()
    assert "no tminority column" in caplog.text


def test_read_psh_projects(tmp_path: Path) -> None:
    path = tmp_path / "PROJECT_2023_2020census.xlsx"
    path.write_bytes(workbook_bytes(PSH_PROJECT_CSV))
    table, missing = hud.read_psh_projects(path, year=2023, state="09")

    assert list(table.columns) == list(hud.PSH_PROJECT_COLUMNS)
    project = table.set_index("project_code")
    assert project.index.tolist() == ["800012345", "800012346", "CT001000001"]
    gardens = project.loc["CT001000001"]
    assert gardens["zip"] == "06106"  # the numeric cell lost its leading zero
    assert gardens["tract_geoid"] == "09110400101"
    assert gardens["longitude"] == pytest.approx(-72.6851)  # negative, not a code
    assert gardens["program_group"] == "public_housing"
    assert project.loc["800012345", "sub_program"] == "Sec 8 NC"
    assert project.loc["800012345", PSH_CHARACTERISTICS].isna().all()  # -4
    assert project.loc["800012346", PSH_CHARACTERISTICS].isna().all()  # -5
    assert pd.isna(project.loc["800012346", "tract_geoid"])
    assert np.isnan(project.loc["800012346", "latitude"])
    assert totals_by_code(missing) == {
        "-4": len(PSH_CHARACTERISTICS),
        "-5": len(PSH_CHARACTERISTICS),
        "unlocated": 1,
    }


# --------------------------------------------------------------------------------------------
# LIHTC
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lihtc_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``lihtcpub.zip`` as HUD ships it: the CSV next to the dictionary and the database."""
    path = tmp_path_factory.mktemp("lihtc") / "lihtcpub_2023.zip"
    path.write_bytes(
        zip_bytes(
            {
                "LIHTC Data Dictionary 2023.pdf": b"%PDF-1.4 synthetic",
                "LIHTCPUB.CSV": LIHTC_CSV.read_bytes(),
                "LIHTCPUB.ACCDB": b"synthetic",
            }
        )
    )
    return path


def test_read_lihtc_keeps_only_precise_coordinates(lihtc_zip: Path) -> None:
    geocoding = hud.read_lihtc_geocoding(LIHTC_EGIS)
    table, missing = hud.read_lihtc_projects(
        lihtc_zip, state="09", vintage=2023, geocoding=geocoding
    )

    assert list(table.columns) == list(hud.LIHTC_COLUMNS)
    assert table["hud_id"].tolist() == [
        "CTA20150001",
        "CTA20160002",
        "CTA20170003",
        "CTA20180004",
        "CTA20190005",
        "CTA20200006",
        "CTA20210008",
    ]
    project = table.set_index("hud_id")
    # LVL2KX R (rooftop) and 4 (ZIP+4): the eGIS coordinates are kept.
    assert project.loc["CTA20150001", ["latitude", "longitude"]].tolist() == pytest.approx(
        [41.763712, -72.685093]
    )
    assert project.loc["CTA20160002", "latitude"] == pytest.approx(41.751)
    assert project["coordinates_precise"].tolist() == [True, True] + [False] * 5
    # Z, B (imprecise), empty (not geocoded), absent from the layer, R without coordinates.
    imprecise = ["CTA20170003", "CTA20180004", "CTA20190005", "CTA20200006", "CTA20210008"]
    assert project.loc[imprecise, ["latitude", "longitude"]].isna().all().all()
    assert project.loc["CTA20170003", "geocode_level"] == "Z"
    assert pd.isna(project.loc["CTA20190005", "geocode_level"])

    counts = missing_counts(missing)
    assert {code: n for (column, code), n in counts.items() if column == "coordinates"} == {
        "Z": 1,
        "B": 1,
        "not_geocoded": 1,
        "not_in_geocoding_layer": 1,
        "precise_without_coordinates": 1,
    }
    # Years: 8888 and 9999 are codes, not years.
    assert pd.isna(project.loc["CTA20160002", "year_placed_in_service"])
    assert pd.isna(project.loc["CTA20180004", "year_placed_in_service"])
    assert pd.isna(project.loc["CTA20170003", "year_allocated"])
    assert project.loc["CTA20150001", "year_placed_in_service"] == 2015
    assert counts[("year_placed_in_service", "8888")] == 1
    assert counts[("year_placed_in_service", "9999")] == 1
    assert counts[("year_allocated", "9999")] == 1
    # Units: "." is missing, not zero.
    assert np.isnan(project.loc["CTA20170003", "n_units"])
    assert project.loc["CTA20170003", "li_units"] == 30
    assert counts[("n_units", ".")] == 1
    # Tracts of the newest vintage, leading zero restored; X and blank are missing.
    assert (table["tract_vintage"] == 2020).all()
    assert project.loc["CTA20160002", "tract_geoid"] == "09110400101"
    assert pd.isna(project.loc["CTA20170003", "tract_geoid"])
    assert pd.isna(project.loc["CTA20200006", "tract_geoid"])
    assert counts[("tract_geoid", "X")] == 1
    assert counts[("tract_geoid", "blank")] == 1
    assert project.loc["CTA20160002", "zip"] == "06106"


def test_read_lihtc_xlsx_release_matches_csv(lihtc_zip: Path, tmp_path: Path) -> None:
    """The 2024 release ships LIHTCPUB.xlsx instead of the CSV; both read the same."""
    xlsx_zip = tmp_path / "lihtcpub_2024.zip"
    xlsx_zip.write_bytes(zip_bytes({"LIHTCPUB.xlsx": workbook_bytes(LIHTC_CSV)}))
    geocoding = hud.read_lihtc_geocoding(LIHTC_EGIS)
    from_csv = hud.read_lihtc_projects(lihtc_zip, state="09", vintage=2023, geocoding=geocoding)
    from_xlsx = hud.read_lihtc_projects(xlsx_zip, state="09", vintage=2023, geocoding=geocoding)
    pd.testing.assert_frame_equal(from_csv.table, from_xlsx.table)
    pd.testing.assert_frame_equal(from_csv.missing, from_xlsx.missing)


def test_read_lihtc_without_geocoding_uses_no_coordinates(lihtc_zip: Path) -> None:
    table, missing = hud.read_lihtc_projects(lihtc_zip, state="09", vintage=2023, geocoding=None)
    assert table[["latitude", "longitude"]].isna().all().all()
    assert not table["coordinates_precise"].any()
    assert missing_counts(missing)[("coordinates", "no_geocoding_layer")] == len(table) == 7


def test_read_lihtc_older_tract_vintage(lihtc_zip: Path) -> None:
    table, _ = hud.read_lihtc_projects(
        lihtc_zip, state="09", vintage=2023, geocoding=None, tract_vintage=2010
    )
    assert (table["tract_vintage"] == 2010).all()
    assert table.set_index("hud_id").loc["CTA20150001", "tract_geoid"] == "09003500100"
    with pytest.raises(ValueError, match="no fips1980 column"):
        hud.read_lihtc_projects(
            lihtc_zip, state="09", vintage=2023, geocoding=None, tract_vintage=1980
        )


def test_read_lihtc_rejects_duplicate_projects(tmp_path: Path) -> None:
    def duplicate(rows: list[list[str]]) -> None:
        rows.append(list(rows[1]))

    path = edited_csv(tmp_path, LIHTC_CSV, duplicate)
    with pytest.raises(ValueError, match="hud_id CTA20150001 appears twice"):
        hud.read_lihtc_projects(path, state="09", vintage=2023, geocoding=None)


# --------------------------------------------------------------------------------------------
# Housing Choice Vouchers by tract
# --------------------------------------------------------------------------------------------


def test_read_hcv_tracts_keeps_suppression_as_missing() -> None:
    table, missing = hud.read_hcv_tracts(HCV_JSON, state="09", vintage=2024)
    assert list(table.columns) == list(hud.HCV_COLUMNS)
    assert table["tract_geoid"].tolist()[:2] == ["09110400101", "09110400102"]
    tract = table.set_index("tract_geoid")
    assert tract.loc["09110400101", "vouchers"] == 58
    assert tract.loc["09110400101", "vouchers_pct_of_renter_units"] == pytest.approx(12.4)
    withheld = ["09110400102", "09120010200"]
    assert tract.loc[withheld, ["vouchers", "vouchers_pct_of_renter_units"]].isna().all().all()
    assert tract["vouchers_suppressed"].sum() == 2
    assert tract.loc[withheld, "vouchers_suppressed"].all()
    assert (table["vouchers"].dropna() > 10).all()  # never a zero in place of the withheld
    assert missing_counts(missing) == {
        ("vouchers", "null"): 2,
        ("vouchers_pct_of_renter_units", "null"): 2,
    }
    assert (table["tract_vintage"] == 2020).all() and (table["vintage"] == 2024).all()


def test_read_hcv_tracts_geojson_and_negative_codes(tmp_path: Path) -> None:
    layer = json.loads(HCV_JSON.read_text())
    features = [{"type": "Feature", "properties": f["attributes"]} for f in layer["features"]]
    features[0]["properties"]["HCV_PUBLIC"] = -4
    features.append({"type": "Feature", "properties": {"GEOID": "25025010100", "HCV_PUBLIC": 90}})
    path = tmp_path / "hcv.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    table, missing = hud.read_hcv_tracts(path, state="09", vintage=2024)
    assert len(table) == 7  # the Massachusetts tract is left out
    first = table.set_index("tract_geoid").loc["09110400101"]
    assert np.isnan(first["vouchers"]) and first["vouchers_suppressed"]
    assert missing_counts(missing)[("vouchers", "-4")] == 1


# --------------------------------------------------------------------------------------------
# Validators
# --------------------------------------------------------------------------------------------


def test_validate_psh_xlsx() -> None:
    body = workbook_bytes(PSH_TRACT_CSV)
    hud.validate_psh_xlsx(body)
    for bad, message in [
        (b"", "bot check"),
        (b"<!DOCTYPE html><html><body>Access denied</body></html>", "looks like HTML"),
        (body[: len(body) // 2], "not a valid zip"),
        (zip_bytes({"readme.txt": b"hello"}), "not an Excel workbook"),
    ]:
        with pytest.raises(ValueError, match=message):
            hud.validate_psh_xlsx(bad)


def test_validate_lihtc_zip(lihtc_zip: Path) -> None:
    body = lihtc_zip.read_bytes()
    hud.validate_lihtc_zip(body)
    with pytest.raises(ValueError, match="not a valid zip"):
        hud.validate_lihtc_zip(body[:-200])
    with pytest.raises(ValueError, match=r"no LIHTCPUB\.CSV or LIHTCPUB\.xlsx"):
        hud.validate_lihtc_zip(zip_bytes({"LIHTCPUB.ACCDB": b"x"}))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"error": {"code": 400, "message": "Invalid query"}}', "ArcGIS error 400: Invalid"),
        (b'{"objectIdFieldName": "OBJECTID"}', "without a features array"),
        (b'{"features": []}', "empty features array"),
        (b'{"features": [{"attributes": {"GEOID": "09110400101"}}]}', "HCV_PUBLIC"),
        (b"<html><body>Service unavailable</body></html>", "looks like HTML"),
        (b'{"features": [', "malformed JSON"),
    ],
)
def test_validate_hcv_json_rejects(body: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        hud.validate_hcv_json(body)


def test_validators_accept_fixtures() -> None:
    hud.validate_hcv_json(HCV_JSON.read_bytes())
    hud.validate_lihtc_geocoding_json(LIHTC_EGIS.read_bytes())


# --------------------------------------------------------------------------------------------
# Downloads from huduser.gov (scripted)
# --------------------------------------------------------------------------------------------


def test_download_psh_writes_workbook_and_record(server: ScriptedServer, tmp_path: Path) -> None:
    body = workbook_bytes(PSH_TRACT_CSV)
    name = "TRACT_AK_MN_2023_2020census.xlsx"
    url = server.script(f"/pictures/files/{name}", Reply(503), Reply(200, body))
    destination = tmp_path / "resources" / hud.psh_layout(2023, "tract", "09")
    record_path = tmp_path / "records" / f"{name}.json"

    record = hud.download_psh(
        2023,
        "tract",
        destination,
        record_path,
        state="09",
        base_url=server.url("/pictures/files"),
        sleep=no_sleep,
    )

    assert record.url == url and record.attempts == 2
    assert destination.read_bytes() == body
    assert record.sha256 == sha256_file(destination)
    assert json.loads(record_path.read_text()) == record.to_dict()
    table, _ = hud.read_psh_tracts(destination, year=2023, state="09")
    assert len(table) == 9


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(200, b"<html><title>Request Rejected</title></html>"), "looks like HTML"),
        (Reply(202, b""), "bot check"),
    ],
)
def test_download_psh_rejects_pages_that_are_not_workbooks(
    server: ScriptedServer, tmp_path: Path, reply: Reply, message: str
) -> None:
    server.script("/pictures/files/PROJECT_2023_2020census.xlsx", reply)
    with pytest.raises(DownloadError, match=message):
        hud.download_psh(
            2023,
            "project",
            tmp_path / "out" / "p.xlsx",
            tmp_path / "out" / "p.json",
            base_url=server.url("/pictures/files"),
            sleep=no_sleep,
        )
    assert listing(tmp_path) == []


def test_download_lihtc_database_rejects_truncated_zip(
    server: ScriptedServer, tmp_path: Path, lihtc_zip: Path
) -> None:
    body = lihtc_zip.read_bytes()
    url = server.script("/lihtc/lihtcpub.zip", Reply(200, body[: len(body) - 300]))
    with pytest.raises(DownloadError, match="not a valid zip"):
        hud.download_lihtc_database(
            tmp_path / "l.zip", tmp_path / "l.json", url=url, sleep=no_sleep
        )
    assert listing(tmp_path) == []

    server.script("/lihtc/lihtcpub.zip", Reply(200, body))
    record = hud.download_lihtc_database(tmp_path / "l.zip", tmp_path / "l.json", url=url)
    assert (tmp_path / "l.zip").read_bytes() == body
    assert json.loads((tmp_path / "l.json").read_text())["sha256"] == record.sha256


# --------------------------------------------------------------------------------------------
# ArcGIS paging (scripted FeatureServer)
# --------------------------------------------------------------------------------------------


def arcgis_responder(layer: dict[str, Any]) -> Callable[[Query], Reply]:
    """Answer like an ArcGIS FeatureServer query: a page of features from ``resultOffset``,
    flagged ``exceededTransferLimit`` while more remain."""
    features = layer["features"]

    def respond(query: Query) -> Reply:
        if query.get("f") != ["json"]:
            return Reply(200, b'{"error": {"code": 400, "message": "Invalid format"}}')
        offset = int(query["resultOffset"][0])
        count = int(query["resultRecordCount"][0])
        page = {key: value for key, value in layer.items() if key != "features"}
        page["features"] = features[offset : offset + count]
        if offset + count < len(features):
            page["exceededTransferLimit"] = True
        return Reply(200, json.dumps(page).encode(), {"Content-Type": "application/json"})

    return respond


@pytest.fixture(scope="module")
def hcv_layer() -> dict[str, Any]:
    return json.loads(HCV_JSON.read_text())


def download_hcv(server: ScriptedServer, tmp_path: Path, **options: Any) -> Any:
    return hud.download_hcv(
        "09",
        tmp_path / "resources" / hud.hcv_layout(2024, "09"),
        tmp_path / "records" / "hcv.json",
        layer_url=server.url(HCV_QUERY_PATH.removesuffix("/query")),
        page_size=3,
        **options,
    )


def test_download_hcv_joins_three_pages(
    server: ScriptedServer, tmp_path: Path, hcv_layer: dict[str, Any]
) -> None:
    responder = arcgis_responder(hcv_layer)
    server.script(HCV_QUERY_PATH, responder)

    record = download_hcv(server, tmp_path, sleep=no_sleep)

    queries = [query for _, query in server.requests]
    assert [q["resultOffset"] for q in queries] == [["0"], ["3"], ["6"]]
    assert all(q["resultRecordCount"] == ["3"] for q in queries)
    assert all(q["where"] == ["STATE = '09'"] and q["orderByFields"] == ["GEOID"] for q in queries)
    written = tmp_path / "resources" / hud.hcv_layout(2024, "09")
    joined = json.loads(written.read_bytes())
    assert joined["features"] == hcv_layer["features"]
    assert "exceededTransferLimit" not in joined
    assert joined["fields"] == hcv_layer["fields"]
    # The record lists every page request, as sent and as received.
    assert len(record.urls) == len(record.responses) == 3
    assert record.url == record.urls[0]
    assert [re.search(r"resultOffset=(\d+)", url)[1] for url in record.urls] == ["0", "3", "6"]
    pages = [responder(query).body for query in queries]
    assert [r["sha256"] for r in record.responses] == [hashlib.sha256(p).hexdigest() for p in pages]
    assert [r["bytes"] for r in record.responses] == [len(p) for p in pages]
    assert record.attempts == 3
    assert record.sha256 == sha256_file(written) and record.bytes == written.stat().st_size
    assert json.loads((tmp_path / "records" / "hcv.json").read_text()) == record.to_dict()
    table, _ = hud.read_hcv_tracts(written, state="09", vintage=2024)
    assert len(table) == 7 and table["vouchers_suppressed"].sum() == 2


def test_arcgis_error_body_fails_without_writing(server: ScriptedServer, tmp_path: Path) -> None:
    error = {
        "error": {
            "code": 400,
            "message": "Cannot perform query. Invalid query parameters.",
            "details": ["'where' parameter is invalid"],
        }
    }
    server.script(HCV_QUERY_PATH, Reply(200, json.dumps(error).encode()))
    with pytest.raises(DownloadError) as excinfo:
        download_hcv(server, tmp_path, sleep=no_sleep)
    message = str(excinfo.value)
    assert "ArcGIS error 400: Cannot perform query. Invalid query parameters." in message
    assert "'where' parameter is invalid" in message
    assert server.count(HCV_QUERY_PATH) == 1  # a client error is not retried
    assert listing(tmp_path) == []


def test_transient_http_500_is_retried(
    server: ScriptedServer, tmp_path: Path, hcv_layer: dict[str, Any]
) -> None:
    server.script(HCV_QUERY_PATH, Reply(500, b"Internal Server Error"), arcgis_responder(hcv_layer))
    sleeps: list[float] = []
    record = download_hcv(server, tmp_path, sleep=sleeps.append, backoff_seconds=0.5)
    assert sleeps == [0.5]
    assert server.count(HCV_QUERY_PATH) == 4
    assert record.attempts == 4 and len(record.urls) == 3
    assert len(json.loads(Path(record.destination).read_bytes())["features"]) == 7


def test_arcgis_5xx_error_body_is_retried(
    server: ScriptedServer, tmp_path: Path, hcv_layer: dict[str, Any]
) -> None:
    busy = b'{"error": {"code": 503, "message": "Service is busy", "details": []}}'
    responder = arcgis_responder(hcv_layer)
    server.script(HCV_QUERY_PATH, responder, Reply(200, busy), responder)
    sleeps: list[float] = []
    record = download_hcv(server, tmp_path, sleep=sleeps.append)
    assert sleeps == [1.0]
    assert record.attempts == 4
    assert [re.search(r"resultOffset=(\d+)", url)[1] for url in record.urls] == ["0", "3", "6"]


def test_arcgis_5xx_error_body_gives_up(server: ScriptedServer, tmp_path: Path) -> None:
    server.script(HCV_QUERY_PATH, Reply(200, b'{"error": {"code": 500, "message": "Error"}}'))
    with pytest.raises(DownloadError, match=r"3 attempts; last problem: ArcGIS error 500: Error"):
        download_hcv(server, tmp_path, sleep=no_sleep, max_attempts=3)
    assert server.count(HCV_QUERY_PATH) == 3
    assert listing(tmp_path) == []


def test_transfer_limit_without_features_fails(server: ScriptedServer, tmp_path: Path) -> None:
    stuck = b'{"features": [], "exceededTransferLimit": true}'
    server.script(HCV_QUERY_PATH, Reply(200, stuck))
    with pytest.raises(DownloadError, match="paging cannot advance"):
        download_hcv(server, tmp_path, sleep=no_sleep)
    assert listing(tmp_path) == []


def test_overlapping_pages_are_refused(
    server: ScriptedServer, tmp_path: Path, hcv_layer: dict[str, Any]
) -> None:
    """A server that ignores resultOffset repeats features; the join refuses them."""
    first = {**hcv_layer, "features": hcv_layer["features"][:3], "exceededTransferLimit": True}
    last = {**hcv_layer, "features": hcv_layer["features"][2:4]}
    server.script(
        HCV_QUERY_PATH,
        Reply(200, json.dumps(first).encode()),
        Reply(200, json.dumps(last).encode()),
    )
    with pytest.raises(DownloadError, match="feature 3 appears on two pages"):
        download_hcv(server, tmp_path, sleep=no_sleep)
    assert listing(tmp_path) == []


def test_joined_file_must_pass_the_validator(server: ScriptedServer, tmp_path: Path) -> None:
    server.script(HCV_QUERY_PATH, Reply(200, b'{"features": []}'))
    with pytest.raises(DownloadError, match="empty features array"):
        download_hcv(server, tmp_path, sleep=no_sleep)
    assert listing(tmp_path) == []


def test_fetch_arcgis_query_checks_its_arguments(tmp_path: Path) -> None:
    url = "http://127.0.0.1:9/query"
    with pytest.raises(ValueError, match="set page by page"):
        fetch_arcgis_query(url, tmp_path / "x.json", params={"resultOffset": "5"})
    with pytest.raises(ValueError, match="f must be one of"):
        fetch_arcgis_query(url, tmp_path / "x.json", params={"f": "pbf"})
    with pytest.raises(ValueError, match="page_size"):
        fetch_arcgis_query(url, tmp_path / "x.json", params={}, page_size=0)


def test_download_lihtc_geocoding_then_read(server: ScriptedServer, tmp_path: Path) -> None:
    layer = json.loads(LIHTC_EGIS.read_text())
    path = "/arcgis/rest/services/LIHTC/FeatureServer/0/query"
    server.script(path, arcgis_responder(layer))
    destination = tmp_path / hud.lihtc_geocoding_layout(2023, "09")
    record = hud.download_lihtc_geocoding(
        "09",
        destination,
        tmp_path / "record.json",
        layer_url=server.url(path.removesuffix("/query")),
        page_size=4,
    )
    assert len(record.urls) == 2
    assert server.requests[0][1]["where"] == ["PROJ_ST = 'CT'"]
    assert server.requests[0][1]["outSR"] == ["4326"]
    geocoding = hud.read_lihtc_geocoding(destination)
    assert geocoding["hud_id"].tolist() == [f["attributes"]["HUD_ID"] for f in layer["features"]]
    assert geocoding.set_index("hud_id").loc["CTA20160002", "geocode_level"] == "4"
