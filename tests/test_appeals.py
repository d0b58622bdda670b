"""The Affordable Housing Appeals List parser: real 2002-2019 workbooks and synthetic ones.

Synthetic workbooks are written with openpyxl as .xlsx into tmp_path (xlwt, which writes .xls,
is not a dependency); every one of them is labelled SYNTHETIC below. The real workbooks are
read in place from ../shared/data and never copied.
"""

from __future__ import annotations

import json
import logging

import openpyxl
import pandas as pd
import pytest

from housing_segregation import appeals
from housing_segregation.appeals import (
    attach_town_geoids,
    percent_check,
    read_appeals_list,
    read_appeals_lists,
    read_town_names,
)

YEARS = list(range(2002, 2020))
LISTS = "ct-housing/affordable-housing-appeals-list"


# --------------------------------------------------------------------------------------------
# Synthetic workbooks
# --------------------------------------------------------------------------------------------

#: SYNTHETIC: a 2014-style header and three made-up towns (figures invented, not the state's).
HEADER = [
    "Town",
    "Total Housing Units 2010 Census",
    "Governmentally Assisted",
    "Tenant Rental Assistance",
    "Single Family CHFA /USDA Mortgages",
    "Deed Restricted Units",
    "Totally Assisted Units",
    "Percent Affordable",
]
TOWNS = [
    ["Hartford", 50000, 9000, 8000, 1500, 0, 18500, 0.37],
    ["Andover", 1000, 10, 5, 20, 0, 35, 0.035],
    ["Union", 400, 0, 0, 6, 0, 6, 0.015],
]
EXPECTED = {  # town -> (units, government, tenant, chfa, deed, total, percent)
    "Hartford": (50000, 9000, 8000, 1500, 0, 18500, 37.0),
    "Andover": (1000, 10, 5, 20, 0, 35, 3.5),
    "Union": (400, 0, 0, 6, 0, 6, 1.5),
}
FIGURES = [
    "housing_units",
    "government_assisted",
    "tenant_rental_assistance",
    "chfa_usda_mortgages",
    "deed_restricted",
    "total_assisted",
    "percent_published",
]


def write_workbook(path, rows, sheet="Sort for Publication"):
    """SYNTHETIC: write rows (None = blank cell) to an .xlsx; floats below 1 in a column
    labelled like a percent get the lists' "0.00%" format."""
    book = openpyxl.Workbook()
    worksheet = book.active
    worksheet.title = sheet
    percent_columns = set()
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if isinstance(value, str) and "percent" in value.lower():
                percent_columns.add(c)
            if value is None:
                continue
            cell = worksheet.cell(row=r, column=c, value=value)
            if c in percent_columns and isinstance(value, float):
                cell.number_format = "0.00%"
    book.save(path)
    return path


def figures_by_town(table):
    return {
        row.town_name: tuple(None if pd.isna(getattr(row, f)) else getattr(row, f) for f in FIGURES)
        for row in table.itertuples()
    }


def assert_expected(table):
    got = figures_by_town(table)
    assert set(got) == set(EXPECTED)
    for town, values in EXPECTED.items():
        assert got[town][:6] == values[:6], town
        assert got[town][6] == pytest.approx(values[6], abs=1e-9), town


def test_synthetic_plain_list_and_dtypes(tmp_path):
    # SYNTHETIC: the 2014 layout as is.
    path = write_workbook(tmp_path / "2014 synthetic.xlsx", [HEADER, *TOWNS])
    table = read_appeals_list(path)
    assert list(table.columns) == list(appeals.OUTPUT_COLUMNS)
    assert_expected(table)
    assert (table["year"] == 2014).all()
    assert table["source_file"].eq("2014 synthetic.xlsx").all()
    assert table.set_index("town_name")["source_row"].to_dict() == {
        "Hartford": 2,
        "Andover": 3,
        "Union": 4,
    }
    dtypes = table.dtypes.astype(str).to_dict()
    assert dtypes["year"] == "int64" and dtypes["source_row"] == "int64"
    assert all(dtypes[c] == "Int64" for c in appeals.COUNT_COLUMNS)
    assert dtypes["percent_published"] == "float64"
    assert dtypes["exempt"] == "boolean"


def test_synthetic_shuffled_columns_title_rows_and_row_numbers(tmp_path):
    # SYNTHETIC: columns in another order, a row-number column, a title and a blank row above
    # the header, and a multi-line label as the tabula conversions have.
    order = [7, 3, 0, 5, 1, 6, 2, 4]
    header = [HEADER[i] for i in order]
    header[order.index(2)] = "Governm\rentally\rAssisted"
    rows = [
        ["2016 Affordable Housing Appeals List"],
        [],
        ["No.", *header],
        *[[n, *[town[i] for i in order]] for n, town in enumerate(TOWNS, start=1)],
    ]
    table = read_appeals_list(write_workbook(tmp_path / "2016 shuffled.xlsx", rows))
    assert_expected(table)
    assert table["source_row"].tolist() == [4, 5, 6]


def test_synthetic_two_row_header(tmp_path):
    # SYNTHETIC: labels stacked over two rows, as on the 2003 "Alphabetical" sheet.
    top = ["", "Total", "Governmentally", "Tenant", "CHFA/USDA", "Deed", "Total", ""]
    bottom = ["Town", "Housing Units", "Assisted", "Rental Assistance", "Mortgages"]
    bottom += ["Restricted", "Assisted", "Percent"]
    table = read_appeals_list(write_workbook(tmp_path / "2003 stacked.xlsx", [top, bottom, *TOWNS]))
    assert_expected(table)


def test_synthetic_notes_totals_and_repeated_header_are_dropped(tmp_path):
    # SYNTHETIC: a footnote, a source note, a labelled total, an unlabelled total (statewide
    # sums, as in 2004-2006) and the header repeated after a page break.
    sums = [sum(t[i] for t in TOWNS) for i in range(1, 7)]
    rows = [
        HEADER,
        TOWNS[0],
        HEADER,
        TOWNS[1],
        ["* includes units developed or assisted by CHFA, DECD, HUD, USDA"],
        TOWNS[2],
        [],
        ["Total - All", *sums, 0.5],
        [None, *sums, 0.5],
        ["Source: Department of Housing, 2016"],
    ]
    table = read_appeals_list(write_workbook(tmp_path / "2016 notes.xlsx", rows))
    assert_expected(table)
    assert table["source_row"].tolist() == [2, 4, 6]


def test_synthetic_figures_without_a_town_that_are_not_a_total_raise(tmp_path):
    # SYNTHETIC: a row with figures but no town name that does not sum the rows above.
    rows = [HEADER, *TOWNS, [None, 123, 1, 1, 1, 0, 3, 0.02]]
    path = write_workbook(tmp_path / "2016 nameless.xlsx", rows)
    with pytest.raises(ValueError, match=r"2016 nameless\.xlsx.*row 5 has figures but no town"):
        read_appeals_list(path)


@pytest.mark.parametrize(
    ("dropped", "message"),
    [
        ("Deed Restricted Units", "no column for deed-restricted units"),
        ("Totally Assisted Units", "no column for total assisted units"),
        ("Percent Affordable", "no column for percent"),
    ],
)
def test_synthetic_missing_required_column_names_file_and_column(tmp_path, dropped, message):
    # SYNTHETIC: the 2014 layout without one required column.
    keep = [i for i, label in enumerate(HEADER) if label != dropped]
    rows = [[HEADER[i] for i in keep], *[[t[i] for i in keep] for t in TOWNS]]
    path = write_workbook(tmp_path / "2014 missing.xlsx", rows)
    with pytest.raises(ValueError, match=r"2014 missing\.xlsx") as error:
        read_appeals_list(path)
    assert message in str(error.value)


def test_synthetic_no_header_at_all(tmp_path):
    # SYNTHETIC: a sheet of figures with no labels.
    path = write_workbook(tmp_path / "2014 bare.xlsx", TOWNS)
    with pytest.raises(ValueError, match=r"2014 bare\.xlsx: no header row found"):
        read_appeals_list(path)


def test_synthetic_ambiguous_column_is_reported(tmp_path):
    # SYNTHETIC: two columns that both look like the percent.
    rows = [[*HEADER, "Percent 2015"], *[[*t, 0.01] for t in TOWNS]]
    path = write_workbook(tmp_path / "2016 twice.xlsx", rows)
    with pytest.raises(ValueError, match=r"percent .* is ambiguous \(columns H, I\)"):
        read_appeals_list(path)


@pytest.mark.parametrize(
    ("value", "column"),
    [("12a", "C"), ("n/a", "C"), ("#REF!", "C"), (12.5, "C"), (-3, "C"), ("ten", "H")],
)
def test_synthetic_unreadable_cell_names_file_row_and_column(tmp_path, value, column):
    # SYNTHETIC: one bad cell in Andover's row (spreadsheet row 3).
    rows = [HEADER, *[list(t) for t in TOWNS]]
    rows[2][2 if column == "C" else 7] = value
    path = write_workbook(tmp_path / "2015 bad cell.xlsx", rows)
    with pytest.raises(ValueError, match=rf"2015 bad cell\.xlsx.*row 3, column {column}"):
        read_appeals_list(path)


def test_synthetic_blanks_dashes_and_numbers_as_text(tmp_path):
    # SYNTHETIC: blanks and a dash are recorded missing, never zero; text numbers are read.
    rows = [HEADER, *[list(t) for t in TOWNS]]
    rows[1][1] = "50,000"  # Hartford's housing units as text with a separator
    rows[1][7] = " 37.00% "  # Hartford's percent as text
    rows[2][5] = None  # Andover's deed-restricted blank
    rows[3][2] = "-"  # Union's government-assisted a dash
    rows[3][3] = "\xa0"  # Union's tenant rental assistance a no-break space
    table = read_appeals_list(write_workbook(tmp_path / "2015 text.xlsx", rows))
    got = table.set_index("town_name")
    assert got.loc["Hartford", "housing_units"] == 50000
    assert got.loc["Hartford", "percent_published"] == pytest.approx(37.0)
    assert pd.isna(got.loc["Andover", "deed_restricted"])
    assert pd.isna(got.loc["Union", "government_assisted"])
    assert pd.isna(got.loc["Union", "tenant_rental_assistance"])
    assert got.loc["Union", "chfa_usda_mortgages"] == 6


def test_synthetic_unformatted_percents(tmp_path):
    # SYNTHETIC: percents as plain numbers: fractions (all <= 1) or already in percent.
    as_fraction = [HEADER, *TOWNS]
    table = read_appeals_list(write_workbook(tmp_path / "2015 a.xlsx", as_fraction))
    assert table["percent_published"].tolist() == pytest.approx([37.0, 3.5, 1.5])
    # openpyxl formats only through write_workbook's "percent" column rule, so rename it.
    header = [*HEADER[:-1], "Pct Affordable %"]
    in_percent = [header, *[[*t[:-1], t[-1] * 100] for t in TOWNS]]
    table = read_appeals_list(write_workbook(tmp_path / "2015 b.xlsx", in_percent))
    assert table["percent_published"].tolist() == pytest.approx([37.0, 3.5, 1.5])


def test_synthetic_format_is_told_by_magic_bytes_not_extension(tmp_path):
    # SYNTHETIC: an .xlsx saved under an .xls name, and a text file under an .xls name.
    disguised = write_workbook(tmp_path / "2013 list.xls", [HEADER, *TOWNS])
    assert_expected(read_appeals_list(disguised))
    fake = tmp_path / "2013 fake.xls"
    fake.write_text("Town,Housing units\n")
    with pytest.raises(ValueError, match=r"2013 fake\.xls: not an Excel workbook"):
        read_appeals_list(fake)


def test_synthetic_year_from_file_name_or_argument(tmp_path):
    # SYNTHETIC
    path = write_workbook(tmp_path / "appeals list.xlsx", [HEADER, *TOWNS])
    with pytest.raises(ValueError, match="does not start with a 4-digit year"):
        read_appeals_list(path)
    assert (read_appeals_list(path, year=2021)["year"] == 2021).all()


def test_synthetic_exempt_from_headings_order_or_missing(tmp_path):
    # SYNTHETIC: explicit headings (2010), two alphabetical runs (2003-2017), one run (2019).
    hartford, andover, union = TOWNS
    headed = [
        HEADER,
        ["Towns which are exempt under Section 8-30g CGS"],
        hartford,
        ["Towns which are not exempt under Section 8-30g CGS"],
        andover,
        union,
    ]
    table = read_appeals_list(write_workbook(tmp_path / "2010 headed.xlsx", headed))
    assert table.set_index("town_name")["exempt"].to_dict() == {
        "Hartford": True,
        "Andover": False,
        "Union": False,
    }
    two_runs = [HEADER, hartford, andover, union]
    table = read_appeals_list(write_workbook(tmp_path / "2012 runs.xlsx", two_runs))
    assert table["exempt"].tolist() == [True, False, False]
    one_run = [HEADER, andover, hartford, union]
    table = read_appeals_list(write_workbook(tmp_path / "2019 alpha.xlsx", one_run))
    assert table["exempt"].isna().all()


def test_synthetic_town_listed_twice_raises(tmp_path):
    # SYNTHETIC: Andover twice, once spelled in capitals.
    rows = [HEADER, *TOWNS, ["ANDOVER", *TOWNS[1][1:]]]
    path = write_workbook(tmp_path / "2014 twice.xlsx", rows)
    with pytest.raises(ValueError, match=r"2014 twice\.xlsx.*Andover \(rows \[3, 5\]\)"):
        read_appeals_list(path)


def test_synthetic_lists_stack_sorted_and_refuse_a_repeated_town_year(tmp_path):
    # SYNTHETIC: two years stack; a second workbook for 2015 clashes.
    write_workbook(tmp_path / "2015 list.xlsx", [HEADER, *TOWNS])
    write_workbook(tmp_path / "2014 list.xlsx", [HEADER, *TOWNS])
    (tmp_path / "README.txt").write_text("not a list")
    table = read_appeals_lists(tmp_path)
    assert table[["year", "town_name"]].values.tolist() == [
        [year, town] for year in (2014, 2015) for town in ("Andover", "Hartford", "Union")
    ]
    write_workbook(tmp_path / "2015 amended.xlsx", [HEADER, TOWNS[1]])
    with pytest.raises(ValueError, match=r"Andover 2015 \(2015 amended\.xlsx and 2015 list"):
        read_appeals_lists(tmp_path)


def test_synthetic_percent_check_reports_both_checks(tmp_path):
    # SYNTHETIC: Hartford's percent is off by 0.02 points, Union's total by one unit; Andover's
    # percent is printed rounded (3.50 for 3.504) and passes.
    rows = [
        HEADER,
        ["Hartford", 50000, 9000, 8000, 1500, 0, 18500, 0.3702],
        ["Andover", 1000, 10, 5, 20, 0.0, 35.04 - 0.04, 0.035],
        ["Union", 400, 0, 0, 6, 0, 7, 0.0175],
    ]
    table = read_appeals_list(write_workbook(tmp_path / "2016 check.xlsx", rows))
    found = percent_check(table)
    assert found[["town_name", "check"]].values.tolist() == [
        ["Hartford", "percent"],
        ["Union", "total"],
    ]
    hartford = found.iloc[0]
    assert hartford["published"] == pytest.approx(37.02)
    assert hartford["recomputed"] == pytest.approx(37.0)
    assert hartford["difference"] == pytest.approx(0.02)
    assert found.iloc[1][["published", "recomputed", "difference"]].tolist() == [7.0, 6.0, 1.0]
    assert percent_check(table, tolerance=0.05)["check"].tolist() == ["total"]
    with pytest.raises(ValueError, match="lacks column"):
        percent_check(table.drop(columns="total_assisted"))


def test_synthetic_attach_town_geoids_matches_variants_and_lists_unknowns(tmp_path):
    # SYNTHETIC: a towns table of three, and published spellings that differ from it.
    towns = pd.DataFrame(
        {
            "town_geoid": ["0900337070", "0901301080", "0900920810"],
            "town_name": ["Hartford", "Andover", "East Hampton"],
        }
    )
    table = pd.DataFrame(
        {
            "year": [2010, 2011, 2012, 2012],
            "town_name": ["HARTFORD ", "andover*", "E. Hampton", "Chatham"],
            "source_file": ["a.xls", "b.xls", "c.xls", "c.xls"],
        }
    )
    out = attach_town_geoids(table, towns)
    assert out.columns.tolist() == ["year", "town_name", "town_geoid", "source_file"]
    assert out["town_geoid"].tolist() == ["0900337070", "0901301080", "0900920810", "0900920810"]
    unknown = pd.concat(
        [table, pd.DataFrame({"year": [2013, 2014], "town_name": ["Gotham", "Metropolis"],
                              "source_file": ["d.xls", "e.xls"]})],
        ignore_index=True,
    )  # fmt: skip
    with pytest.raises(ValueError) as error:
        attach_town_geoids(unknown, towns)
    assert "'Gotham' (d.xls, 2013)" in str(error.value)
    assert "'Metropolis' (e.xls, 2014)" in str(error.value)


# --------------------------------------------------------------------------------------------
# Real workbooks, 2002-2019
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lists_folder(shared_data):
    return shared_data / LISTS


@pytest.fixture(scope="module")
def appeals_table(lists_folder):
    with_logs = logging.getLogger(appeals.__name__)
    with_logs.disabled = True  # 2017's stray Windham warns; asserted on below
    try:
        return read_appeals_lists(lists_folder)
    finally:
        with_logs.disabled = False


@pytest.fixture(scope="module")
def towns(shared_data):
    return read_town_names(shared_data / "boundaries" / "cb_2020_09_cousub_500k.geojson")


def real_file(lists_folder, year):
    (path,) = sorted(lists_folder.glob(f"{year}*.xls"))
    return path


def test_every_year_parses_with_all_169_towns(appeals_table):
    assert sorted(appeals_table["year"].unique()) == YEARS
    counts = appeals_table.groupby("year")["town_name"].nunique()
    assert counts.eq(169).all(), counts[counts.ne(169)]
    assert appeals_table.groupby("year").size().eq(169).all()
    for year, names in appeals_table.groupby("year")["town_name"]:
        assert set(names) == set(appeals.CT_TOWN_NAMES), year
    assert list(appeals_table.columns) == list(appeals.OUTPUT_COLUMNS)
    ordered = appeals_table.sort_values(["year", "town_name"], ignore_index=True)
    pd.testing.assert_frame_equal(appeals_table, ordered)


def test_town_names_constant_is_the_census_list(towns):
    assert len(towns) == 169
    assert sorted(towns["town_name"]) == sorted(appeals.CT_TOWN_NAMES)


def test_sheets_read_per_year(appeals_table):
    sheets = appeals_table.groupby("year")["source_sheet"].unique().map(list).to_dict()
    assert sheets[2003] == ["Sorted"]
    assert sheets[2011] == ["Sort for publication"]
    assert sheets[2013] == ["Sort for Correct Publication"]
    assert sheets[2016] == ["Sort for Publication"]


def test_missing_cells_are_recorded_not_zeroed(appeals_table):
    # Blank components in the published lists (zeros are printed as 0 from 2006 on).
    blanks = {
        column: appeals_table[appeals_table[column].isna()].groupby("year").size().to_dict()
        for column in appeals.COUNT_COLUMNS
    }
    assert blanks["housing_units"] == {}
    assert blanks["total_assisted"] == {}
    assert blanks["government_assisted"] == {2002: 17, 2003: 10, 2004: 9, 2017: 1}
    assert blanks["chfa_usda_mortgages"] == {2002: 2}
    assert blanks["deed_restricted"] == {2002: 134, 2003: 121, 2004: 119, 2005: 118}
    # No tenant-rental-assistance column before 2011.
    assert blanks["tenant_rental_assistance"] == {year: 169 for year in range(2002, 2011)}
    assert appeals_table["percent_published"].notna().all()


def test_exempt_marking_per_year(appeals_table):
    exempt = appeals_table.groupby("year")["exempt"]
    unmarked = exempt.apply(lambda s: int(s.isna().sum())).to_dict()
    assert {y: n for y, n in unmarked.items() if n} == {2002: 169, 2017: 1, 2018: 169, 2019: 169}
    counts = exempt.apply(lambda s: int(s.eq(True).sum())).to_dict()
    assert counts == {
        2002: 0, 2003: 29, 2004: 30, 2005: 31, 2006: 31, 2007: 31, 2008: 31, 2009: 31,
        2010: 31, 2011: 30, 2012: 31, 2013: 31, 2014: 31, 2015: 31, 2016: 31, 2017: 29,
        2018: 0, 2019: 0,
    }  # fmt: skip
    stray = appeals_table[appeals_table["exempt"].isna() & appeals_table["year"].eq(2017)]
    assert stray[["town_name", "source_row"]].values.tolist() == [["Windham", 170]]
    # Wherever a list marks exemption, the exempt towns are exactly those at 10% or more.
    marked = appeals_table[appeals_table["exempt"].notna()]
    at_ten = marked["percent_published"] >= 10
    assert (marked["exempt"].astype(bool) == at_ten).all()


def test_2010_exempt_comes_from_its_section_headings(appeals_table):
    rows = appeals_table[appeals_table["year"].eq(2010)].groupby("exempt")["source_row"]
    assert rows.min().to_dict() == {False: 38, True: 5}
    assert rows.max().to_dict() == {False: 175, True: 35}


def test_other_sheets_agree_with_the_sheet_read(appeals_table, lists_folder):
    # 2003's "Alphabetical" sheet holds the same figures as "Sorted" but in one run.
    figures = ["town_name", *appeals.COUNT_COLUMNS, "percent_published"]
    sorted_sheet = appeals_table[appeals_table["year"].eq(2003)][figures]
    alphabetical = read_appeals_list(real_file(lists_folder, 2003), sheet="Alphabetical")
    pd.testing.assert_frame_equal(
        sorted_sheet.sort_values("town_name", ignore_index=True),
        alphabetical[figures].sort_values("town_name", ignore_index=True),
    )
    assert alphabetical["exempt"].isna().all()
    # The 2015 on-line sheet says "Exempt" / "Non-Exempt Municipalities" in so many words.
    online = read_appeals_list(real_file(lists_folder, 2015), sheet="Sort for on-line")
    published = appeals_table[appeals_table["year"].eq(2015)]
    pd.testing.assert_series_equal(
        online.set_index("town_name")["exempt"].sort_index(),
        published.set_index("town_name")["exempt"].sort_index(),
    )


def test_cross_check_with_the_tidy_2017_and_2019_tables(appeals_table, shared_data):
    variables = {
        ("Number", "Total Housing Units"): "housing_units",
        ("Number", "Government Assisted"): "government_assisted",
        ("Number", "Tenant Rental Assistance"): "tenant_rental_assistance",
        ("Number", "CHFA/USDA Mortgages"): "chfa_usda_mortgages",
        ("Number", "Deed Restrictions"): "deed_restricted",
        ("Number", "Total Assisted"): "total_assisted",
        ("Percent", "Total Assisted"): "percent_published",
    }
    for edition, years in ((2017, range(2002, 2018)), (2019, range(2002, 2020))):
        tidy = pd.read_csv(
            shared_data / "ct-housing" / f"subsidized-housing-by-type_{edition}.csv",
            dtype={"FIPS": str},
        )
        tidy = tidy[tidy["FIPS"].str.len().eq(10)]  # towns, not counties or the state
        tidy["column"] = [
            variables[k] for k in zip(tidy["Measure Type"], tidy["Variable"], strict=True)
        ]
        wide = tidy.pivot_table(
            index=["Year", "Town/County"], columns="column", values="Value", aggfunc="first"
        )
        wide.index.names = ["year", "town_name"]
        ours = appeals_table[appeals_table["year"].isin(years)].set_index(["year", "town_name"])
        assert sorted(wide.index) == sorted(ours.index), edition
        wide = wide.loc[ours.index]
        # Housing units and totals agree exactly for every town-year.
        for column in ("housing_units", "total_assisted"):
            assert (ours[column].astype(float) == wide[column]).all(), (edition, column)
        # Components agree wherever the list prints a figure; the tidy table writes 0 for the
        # list's blanks and for tenant rental assistance before 2011.
        for column in appeals.COMPONENT_COLUMNS:
            printed = ours[column].notna()
            assert (ours.loc[printed, column].astype(float) == wide.loc[printed, column]).all()
            assert (wide.loc[~printed, column] == 0).all(), (edition, column)
        # The tidy percent is ours rounded to two decimals.
        gap = (ours["percent_published"] - wide["percent_published"]).abs()
        assert gap.max() <= 0.005 + 1e-9, edition


def test_hand_checked_cells(appeals_table):
    def row(year, town):
        (found,) = appeals_table[
            appeals_table["year"].eq(year) & appeals_table["town_name"].eq(town)
        ].itertuples()
        return found

    # "2002 APPEALS-LIST_PUBLISHED.xls", Sheet1, row 9: B "Bethany", C 1,792, D blank, E 3,
    # F blank, G 3, H 0.0016741071428571428 (shown 0.17%).
    bethany = row(2002, "Bethany")
    assert (bethany.source_row, bethany.housing_units, bethany.chfa_usda_mortgages) == (9, 1792, 3)
    assert pd.isna(bethany.government_assisted) and pd.isna(bethany.deed_restricted)
    assert bethany.total_assisted == 3
    assert bethany.percent_published == pytest.approx(100 * 0.0016741071428571428)
    # "2007 Appeals List for Publication.xls", Sheet1, row 83: B "Hamden", C 23,464, D 1,499,
    # E 394, F 4, G 1,892 (not 1,897), H 0.08063416297306512.
    hamden = row(2007, "Hamden")
    assert hamden.source_row == 83
    assert (hamden.government_assisted, hamden.chfa_usda_mortgages, hamden.deed_restricted) == (
        1499,
        394,
        4,
    )
    assert (hamden.housing_units, hamden.total_assisted) == (23464, 1892)
    # "2010 Appeals List for Publication.xls", Sheet1, row 5 (under the "exempt" heading of
    # row 4): B "Ansonia", C 7,937, D 1,040, E 109, F 9, G 1,158, H 0.1459.
    ansonia = row(2010, "Ansonia")
    assert ansonia.source_row == 5 and ansonia.exempt
    assert (ansonia.housing_units, ansonia.government_assisted) == (7937, 1040)
    assert (ansonia.chfa_usda_mortgages, ansonia.deed_restricted) == (109, 9)
    assert ansonia.total_assisted == 1158
    assert ansonia.percent_published == pytest.approx(14.59)
    # "2011 Revised Appeals Summary.xls", sheet "Sort for publication", row 2: B "Ansonia",
    # C 8,148, D 372, E 699 ("Rental Assistance"), F 106, G 9, H 1,186, I 0.14555719194894454.
    ansonia = row(2011, "Ansonia")
    assert ansonia.source_row == 2
    assert (ansonia.housing_units, ansonia.government_assisted) == (8148, 372)
    assert (ansonia.tenant_rental_assistance, ansonia.chfa_usda_mortgages) == (699, 106)
    assert (ansonia.deed_restricted, ansonia.total_assisted) == (9, 1186)
    assert ansonia.percent_published == pytest.approx(14.555719194894454)
    # "2017 Amended Final Summary.xls", row 49: A "Chaplin", B 988, C blank, D 0, E 35, F 0,
    # G 35, H 0.0354; row 170: A "Windham", B 9,570, C 1,767, D 609, E 417, F 0, G 2,793,
    # H 0.2918 (printed after Woodstock).
    chaplin = row(2017, "Chaplin")
    assert (chaplin.source_row, chaplin.housing_units, chaplin.total_assisted) == (49, 988, 35)
    assert pd.isna(chaplin.government_assisted) and chaplin.tenant_rental_assistance == 0
    assert chaplin.percent_published == pytest.approx(3.54)
    windham = row(2017, "Windham")
    assert (windham.source_row, windham.housing_units, windham.total_assisted) == (170, 9570, 2793)
    assert (windham.government_assisted, windham.tenant_rental_assistance) == (1767, 609)
    assert windham.percent_published == pytest.approx(29.18) and pd.isna(windham.exempt)
    # "2019 Appeals-List-for-online.xls", row 3: A "Ansonia", B 8,148, C 349, D 752, E 140,
    # F 9, G 1,250, H 0.1534.
    ansonia = row(2019, "Ansonia")
    assert ansonia.source_row == 3
    assert (ansonia.housing_units, ansonia.government_assisted) == (8148, 349)
    assert (ansonia.tenant_rental_assistance, ansonia.chfa_usda_mortgages) == (752, 140)
    assert (ansonia.deed_restricted, ansonia.total_assisted) == (9, 1250)
    assert ansonia.percent_published == pytest.approx(15.34)


def test_percent_check_on_the_published_lists(appeals_table):
    found = percent_check(appeals_table)
    assert found[["year", "town_name", "check"]].values.tolist() == [
        [2007, "Hamden", "total"],
        [2009, "Montville", "percent"],
        [2010, "New Haven", "percent"],
        [2010, "Stratford", "percent"],
    ]
    assert found["published"].tolist() == pytest.approx([1892, 4.10, 29.00, 5.70])
    # Montville 2009: 278 / 6,805 units; New Haven 2010: 15,356 / 52,941; Stratford 2010:
    # 1,172 / 20,596 (the lists' own counts).
    assert found["recomputed"].tolist() == pytest.approx(
        [1897, 100 * 278 / 6805, 100 * 15356 / 52941, 100 * 1172 / 20596], rel=1e-12
    )
    assert found["difference"].tolist() == pytest.approx([-5, 0.0148, -0.0059, 0.0096], abs=1e-4)
    # A looser tolerance leaves only the total; no tolerance flags every rounded year.
    assert percent_check(appeals_table, tolerance=0.02)["check"].tolist() == ["total"]
    strict = percent_check(appeals_table, tolerance=0)
    assert set(strict.loc[strict["check"].eq("percent"), "year"]) == {
        2005, 2008, 2009, 2010, 2017, 2018, 2019,
    }  # fmt: skip


def test_towns_at_ten_percent_in_2019(appeals_table):
    latest = appeals_table[appeals_table["year"].eq(2019)]
    recomputed = 100 * latest["total_assisted"] / latest["housing_units"]
    assert int((latest["percent_published"] >= 10).sum()) == 30
    assert int((recomputed >= 10).sum()) == 30


def test_every_real_town_year_gets_its_geoid(appeals_table, towns, shared_data):
    out = attach_town_geoids(appeals_table, towns)
    assert out["town_geoid"].str.fullmatch(r"09\d{8}").all()
    assert out.groupby("year")["town_geoid"].nunique().eq(169).all()
    hartford = out.loc[out["town_name"].eq("Hartford"), "town_geoid"].unique().tolist()
    assert hartford == ["0900337070"]  # the boundary file's old county code (09003)
    # The tidy 2019 table's FIPS for the same town-years.
    tidy = pd.read_csv(
        shared_data / "ct-housing" / "subsidized-housing-by-type_2019.csv", dtype={"FIPS": str}
    )
    fips = tidy[tidy["FIPS"].str.len().eq(10)].drop_duplicates(["Year", "Town/County"])
    merged = out.merge(fips, left_on=["year", "town_name"], right_on=["Year", "Town/County"])
    assert len(merged) == len(out)
    assert (merged["town_geoid"] == merged["FIPS"]).all()


def test_read_town_names_checks_its_input(tmp_path):
    # SYNTHETIC: a GeoJSON feature without a GEOID.
    path = tmp_path / "towns.geojson"
    path.write_text(json.dumps({"features": [{"properties": {"NAME": "Andover"}}]}))
    with pytest.raises(ValueError, match="feature 0 lacks the GEOID"):
        read_town_names(path)
