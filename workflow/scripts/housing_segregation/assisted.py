"""Connecticut's assisted-housing projects: read, deduplicated to one row per project, placed
in tracts and counted per tract.

The input is CT Data Haven's merged list (``ct-housing/assisted_housing_projects.csv``, from
CT-Data-Haven/ctdoh), which has one row per project *and subsidy*. What the file's columns mean,
as far as the data show:

- ``ProjectID`` identifies a record: one source's listing of a development, one row per
  subsidy. Every row of one ProjectID agrees on town, county, ``ProjectID2`` and (with one
  two-building exception) coordinates. The file holds 3,374 of them.
- ``ProjectID2`` and ``Group Flag`` come from CT Data Haven's matching of records across
  source lists (a name-similarity merge). A development listed by two sources (HUD's HOME
  record and the LIHTC record of one building) shares a ``ProjectID2``, but the matches are
  loose: group ``stamford646`` joins six ProjectIDs at five addresses across Stamford. So
  :func:`projects` joins records only when they share the ``ProjectID2`` *and* the point.
  ``Clean_Proj`` is the normalised name used for that matching.
- ``Total`` is the unit count of the record as its source lists it, which for HUD properties is
  the whole property (market-rate units included); ``UnitLower``/``UnitUpper`` bound the units
  under that row's subsidy. Where the source says how many (HUD, LIHTC, HOME, deed
  restrictions) they are equal; where it does not (state programs, public housing, vouchers) the
  range is ``1 … Total``. ``UnitUpper`` is used as the row's assisted units.
- ``Section_8_Voucher`` rows are of three kinds (``SubsidySubclass``): Housing Choice Voucher
  rows (49; 45 of them named "Section 8 Vouchers") locate a housing authority and count the
  tenant-based vouchers it administers, which are not homes at that point; Project-Based
  Voucher (99) and RAD (7) rows are buildings whose units carry vouchers. Only the first kind
  goes to :func:`voucher_offices`; the other two are projects.
- ``City`` is the town the point lies in (it agrees with the tract's town for every project);
  ``CityOld`` is the city as the source listed it, sometimes a village (Niantic, Winsted) and
  sometimes another town, which is the useful check on geocoding.
"""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

#: The file's columns → the tidy table's names.
COLUMNS = {
    "RowID": "row_id",
    "ProjectID": "project_id",
    "ProjectID2": "merged_project_id",
    "Group Flag": "group_flag",
    "County": "county_name",
    "City": "town",
    "CityOld": "town_as_listed",
    "ProjectName": "project_name",
    "Clean_Proj": "matching_name",
    "SubsidyClass": "subsidy_class",
    "SubsidySubclass": "subsidy_subclass",
    "EndDateList": "subsidy_end_dates",
    "Total": "total_units",
    "UnitLower": "units_lower",
    "UnitUpper": "units_upper",
    "Latitude": "latitude",
    "Longitude": "longitude",
}

#: Subsidy classes → program keys (one boolean column each in :func:`projects`).
SUBSIDY_CLASSES = {
    "Public_Housing": "public_housing",
    "LIHTC": "lihtc",
    "Section_8_NonVoucher": "section_8_project_based",
    "Section_202": "section_202",
    "Section_236": "section_236",
    "FHA_HUD_Multifamily_Mortgages": "fha_insured",
    "SRO": "sro",
    "Other_Federal_Subsidy": "other_federal",
    "HOME_Investment_Partnerships_Program": "home",
    "State_Subsidy": "state_subsidy",
    "Deed": "deed_restricted",
    "Rural_Housing_Loans__Section_515": "usda_section_515",
    "Rural_Housing_Loans__Section_538": "usda_section_538",
}

#: The voucher class is split by subclass; ``None`` marks the tenant-based (office) rows.
VOUCHER_CLASS = "Section_8_Voucher"
VOUCHER_SUBCLASSES = {
    "Section_8.Housing_Choice_Voucher": None,
    "Section_8.Project_Based_Voucher": "project_based_voucher",
    "Section_8.RAD": "project_based_voucher_rad",
}

#: Every program key, in the order of the boolean columns.
PROGRAMS = [
    "public_housing",
    "section_8_project_based",
    "project_based_voucher",
    "project_based_voucher_rad",
    "lihtc",
    "section_202",
    "section_236",
    "fha_insured",
    "sro",
    "other_federal",
    "home",
    "state_subsidy",
    "deed_restricted",
    "usda_section_515",
    "usda_section_538",
]

#: Program key → program group. The groups follow HUD's programs where HUD has one:
#: HUD's Picture of Subsidized Households reports public housing, project-based Section 8,
#: vouchers (project-based vouchers included) and "other multifamily" (202/811 PRAC, 236,
#: rent supplement); LIHTC is HUD's LIHTC database; USDA's Section 515/538 are rural
#: rental programs. ``state_and_local`` holds what the state or towns fund or require:
#: State of Connecticut programs, HOME (federal money that the state and participating
#: towns allocate, with no HUD unit-level program of its own) and deed restrictions
#: (set-asides under town zoning and CGS §8-30g). FHA mortgage insurance and the SRO rows
#: (most likely HUD's Section 8 Moderate Rehabilitation SRO program) are HUD multifamily
#: but not project-based Section 8, so they count as ``other_multifamily``.
PROGRAM_GROUPS = {
    "public_housing": "public_housing",
    "section_8_project_based": "section_8_project_based",
    "project_based_voucher": "project_based_voucher",
    "project_based_voucher_rad": "project_based_voucher",
    "lihtc": "lihtc",
    "section_202": "other_multifamily",
    "section_236": "other_multifamily",
    "fha_insured": "other_multifamily",
    "sro": "other_multifamily",
    "other_federal": "other_multifamily",
    "home": "state_and_local",
    "state_subsidy": "state_and_local",
    "deed_restricted": "state_and_local",
    "usda_section_515": "usda",
    "usda_section_538": "usda",
}

#: Section 8 "non-voucher" rows that are Section 202/811 rental assistance (PRAC, PAC,
#: 811 PRA) rather than a Section 8 contract: HUD counts them outside project-based
#: Section 8, so their group is ``other_multifamily`` (their program key stays
#: ``section_8_project_based``, after the file's class).
OTHER_MULTIFAMILY_SUBCLASSES = {"PRAC/202", "PRAC/811", "811 PRA DEMO", "202/162 NC"}

#: The program groups, in the order of the ``units_<group>`` and ``assisted_units_<group>``
#: columns.
GROUPS = [
    "public_housing",
    "section_8_project_based",
    "project_based_voucher",
    "lihtc",
    "other_multifamily",
    "state_and_local",
    "usda",
]

#: Ways a project can relate to the tracts (column ``location`` of :func:`assign_tracts`).
LOCATIONS = ["in_tract", "snapped", "outside_tracts", "no_coordinates"]

_MISSING = {"", "nan", "na", "none", "null"}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_END_DATES = re.compile(r"\(\s*(?:'\d{4}-\d{2}-\d{2}'\s*,?\s*)*\)")


def read_assisted_projects(path: str | Path) -> pd.DataFrame:
    """Read the assisted-housing project file as a tidy table, one row per record
    (``ProjectID``) and subsidy, with the names of :data:`COLUMNS`.

    Types: ``row_id`` and the three unit columns are non-negative integers;
    ``latitude``/``longitude`` are WGS84 degrees, NaN where the file has none (both or
    neither); ``subsidy_subclass``, ``group_flag`` and ``town_as_listed`` are missing where
    the file is empty or says ``nan``; ``subsidy_end_dates`` holds the ISO dates of the file's
    tuple, ``;``-joined (empty when none). Anything malformed (a missing column, units that
    are not whole numbers, ``UnitLower`` above ``UnitUpper``, coordinates off the globe or
    only half given, an empty project ID or subsidy class, a repeated RowID) raises a
    ``ValueError`` naming the file, the row (its data-row number and file line) and the
    column.
    """
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot read the assisted-housing file ({error})") from error
    missing = [column for column in COLUMNS if column not in raw.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(map(repr, missing))}")
    raw = raw[list(COLUMNS)].apply(lambda column: column.str.strip())

    def where(position: int, column: str) -> str:
        # Data row n is file line n + 1 (the header is line 1).
        return f"{path}: row {position + 1} (line {position + 2}), column {column!r}"

    table = pd.DataFrame(index=raw.index)
    for column in ("RowID", "Total", "UnitLower", "UnitUpper"):
        table[COLUMNS[column]] = _whole_numbers(raw[column], column, where)
    for column in ("ProjectID", "ProjectID2", "County", "City", "SubsidyClass"):
        empty = raw[column].str.lower().isin(_MISSING)
        if empty.any():
            raise ValueError(f"{where(_first(empty), column)}: empty")
        table[COLUMNS[column]] = raw[column]
    for column in ("ProjectName", "CityOld", "Group Flag", "SubsidySubclass", "Clean_Proj"):
        table[COLUMNS[column]] = raw[column].mask(raw[column].str.lower().isin(_MISSING))
    table["subsidy_end_dates"] = _end_dates(raw["EndDateList"], where)
    latitude = _coordinates(raw["Latitude"], "Latitude", 90.0, where)
    longitude = _coordinates(raw["Longitude"], "Longitude", 180.0, where)
    half = latitude.isna() != longitude.isna()
    if half.any():
        column = "Latitude" if latitude.isna()[_first(half)] else "Longitude"
        raise ValueError(f"{where(_first(half), column)}: empty while the other coordinate is set")
    table["latitude"], table["longitude"] = latitude, longitude

    inverted = table["units_lower"] > table["units_upper"]
    if inverted.any():
        position = _first(inverted)
        raise ValueError(
            f"{where(position, 'UnitLower')}: {table['units_lower'].iloc[position]} is above "
            f"UnitUpper {table['units_upper'].iloc[position]}"
        )
    repeated = table["row_id"].duplicated()
    if repeated.any():
        position = _first(repeated)
        raise ValueError(f"{where(position, 'RowID')}: {table['row_id'].iloc[position]} repeats")
    table = table[list(COLUMNS.values())]
    log.info(
        "%s: %d rows, %d records, %d subsidy classes",
        path,
        len(table),
        table["project_id"].nunique(),
        table["subsidy_class"].nunique(),
    )
    return table


def _first(flags: pd.Series) -> int:
    return int(np.flatnonzero(flags.to_numpy())[0])


def _whole_numbers(values: pd.Series, column: str, where) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() | ~np.isfinite(numbers) | (numbers < 0) | (numbers % 1 != 0)
    if bad.any():
        position = _first(bad)
        raise ValueError(
            f"{where(position, column)}: expected a whole number >= 0, "
            f"found {values.iloc[position]!r}"
        )
    return numbers.astype("int64")


def _coordinates(values: pd.Series, column: str, limit: float, where) -> pd.Series:
    missing = values.str.lower().isin(_MISSING)
    numbers = pd.to_numeric(values.mask(missing), errors="coerce")
    unreadable = numbers.isna() & ~missing
    if unreadable.any():
        position = _first(unreadable)
        raise ValueError(f"{where(position, column)}: not a number: {values.iloc[position]!r}")
    impossible = ~numbers.isna() & ~(numbers.abs() <= limit)
    if impossible.any():
        position = _first(impossible)
        raise ValueError(
            f"{where(position, column)}: impossible coordinate {values.iloc[position]} "
            f"(must lie within ±{limit:g} degrees)"
        )
    return numbers.astype("float64")


def _end_dates(values: pd.Series, where) -> pd.Series:
    missing = values.str.lower().isin(_MISSING)
    malformed = ~missing & ~values.str.fullmatch(_END_DATES)
    if malformed.any():
        position = _first(malformed)
        raise ValueError(
            f"{where(position, 'EndDateList')}: expected a tuple of ISO dates, "
            f"found {values.iloc[position]!r}"
        )
    return values.map(lambda text: ";".join(_DATE.findall(text)))


def _classify(table: pd.DataFrame) -> pd.DataFrame:
    """Add each row's ``program`` key (``None`` for tenant-based voucher rows) and
    ``program_group``; an unknown subsidy class, or voucher subclass, raises naming it."""
    required = {"project_id", "subsidy_class", "subsidy_subclass", "total_units", "units_upper"}
    missing = sorted(required - set(table.columns))
    if missing:
        raise ValueError(f"assisted-housing table: missing column(s) {', '.join(missing)}")
    known = set(SUBSIDY_CLASSES) | {VOUCHER_CLASS}
    unknown = sorted(set(table["subsidy_class"]) - known)
    if unknown:
        first = table.index[table["subsidy_class"] == unknown[0]][0]
        raise ValueError(
            f"unknown subsidy class {unknown[0]!r} (project {table.at[first, 'project_id']}); "
            f"known classes: {', '.join(sorted(known))}"
        )
    vouchers = table["subsidy_class"] == VOUCHER_CLASS
    subclasses = table["subsidy_subclass"].fillna("")
    odd = vouchers & ~subclasses.isin(VOUCHER_SUBCLASSES)
    if odd.any():
        first = table.index[odd.to_numpy()][0]
        raise ValueError(
            f"unknown {VOUCHER_CLASS} subclass {subclasses[first]!r} "
            f"(project {table.at[first, 'project_id']}); "
            f"known: {', '.join(sorted(VOUCHER_SUBCLASSES))}"
        )
    classified = table.copy()
    program = classified["subsidy_class"].map(SUBSIDY_CLASSES)
    program[vouchers] = classified.loc[vouchers, "subsidy_subclass"].map(VOUCHER_SUBCLASSES)
    classified["program"] = program.astype(object).where(program.notna(), None)
    group = classified["program"].map(PROGRAM_GROUPS)
    prac = (classified["program"] == "section_8_project_based") & classified[
        "subsidy_subclass"
    ].isin(OTHER_MULTIFAMILY_SUBCLASSES)
    group[prac] = "other_multifamily"
    classified["program_group"] = group
    return classified


def _developments(rows: pd.DataFrame) -> pd.Series:
    """Each row's development: the first project ID (in row order) among the records linked
    by sharing a project ID, or a merged project ID *and* a point (to about 0.1 m)."""
    parent: dict[object, object] = {}

    def root(node: object) -> object:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    has_point = rows["latitude"].notna() & rows["longitude"].notna()
    places = zip(
        rows["merged_project_id"],
        rows["latitude"].round(6),
        rows["longitude"].round(6),
        strict=True,
    )
    for project, place, located in zip(rows["project_id"], places, has_point, strict=True):
        if located:
            parent[root(("place", *place))] = root(("project", project))
    first: dict[object, str] = {}
    for project in rows["project_id"]:
        first.setdefault(root(("project", project)), project)
    return rows["project_id"].map(lambda project: first[root(("project", project))])


def _same_program(frame: pd.DataFrame, keys: list[str], units: str, listed: str) -> pd.DataFrame:
    """Units per ``keys`` (ending in ``program``): the sum of ``units``, capped at the listed
    size (never below the largest part) where every part lists the same size."""
    parts = frame.groupby(keys, sort=False).agg(
        summed=(units, "sum"),
        largest=(units, "max"),
        listed=(listed, "max"),
        sizes=(listed, "nunique"),
    )
    cap = parts[["listed", "largest"]].max(axis=1)
    parts["units"] = parts["summed"].where(parts["sizes"] > 1, parts["summed"].clip(upper=cap))
    return parts[["units", "listed"]]


def _deduplicated_units(rows: pd.DataFrame) -> pd.Series:
    """Assisted units per development under the rule of :func:`projects`."""
    if rows.empty:
        return pd.Series(dtype="int64")
    per_record = _same_program(
        rows, ["development", "project_id", "program"], "units_upper", "total_units"
    ).reset_index()
    per_development = _same_program(per_record, ["development", "program"], "units", "listed")
    return per_development.groupby(level="development", sort=False)["units"].max().astype("int64")


def projects(table: pd.DataFrame, *, merge_matched_records: bool = True) -> pd.DataFrame:
    """One row per assisted-housing project, voucher offices left out.

    **What a project is.** A record (``ProjectID``) is one source's listing of a
    development, with one row per subsidy. The same development is often listed by two
    sources under two IDs: HUD's "BIRCH MEADOW APARTMENTS" (HOME, 11 units) and the LIHTC
    "Birch Meadow" (100 units); HUD's "STAMFORD GREEN APARTMENTS" and the state's "Stamford
    Green". The file's own cross-source match (``ProjectID2``) finds these, but alone it is
    too loose (one Stamford group spans five addresses). So records are one project when
    the match joins them *and* they sit at the same point (``merge_matched_records``, the
    default); in the real file that joins 336 records into 163 projects, which otherwise
    count 10,971 units twice. With ``merge_matched_records=False`` a project is a record.

    Columns: ``project_id`` (the first record's ID, in file order), ``project_ids`` (all its
    records' IDs, ``;``-joined), ``source_records``, ``name`` (the distinct names,
    `` / ``-joined), ``town`` (the file's ``City``), ``town_as_listed`` (``CityOld``),
    ``county_name``, ``merged_project_id``, ``latitude``, ``longitude``, ``subsidy_rows``,
    ``programs`` (sorted, ``;``-joined program keys), one boolean per program key of
    :data:`PROGRAMS` (``section_8_project_based`` is the file's ``Section_8_NonVoucher``,
    ``deed_restricted`` its ``Deed``, ``project_based_voucher``/``project_based_voucher_rad``
    its project-based ``Section_8_Voucher`` rows), ``units``, ``units_<group>`` for each of
    :data:`GROUPS`, and ``units_summed_over_rows`` (the naive sum of ``Total``, for
    comparison). Tenant-based voucher rows are left out (see :func:`voucher_offices`); an
    unknown subsidy class raises naming it.

    **The unit rule.** A row's assisted units are its ``UnitUpper`` (what its subsidy
    covers; ``Total`` is the whole property, market-rate units included). Then:

    1. *different programs cover the same homes*: a 100-unit LIHTC building with HOME money
       and a Section 8 contract has 100 units, not 300. A project's units are the largest of
       its programs' counts.
    2. *rows of one program are separate contracts or restrictions on different homes*: two
       Section 8 contracts of 50 and 53 units on the 103-unit Chase Manor II; deed
       restrictions of 20 and 30 years on 11 and 9 homes of Greenwich Shore. A program's
       count adds its rows within a record, then its records within a project, each time
       capped at the listed size where all the parts list the same one: "CT.Elderly" and
       "CT.Congregate" rows of one 42-unit state building are the same 42 homes, and so are
       two state records of the 210-unit Velvet Mill.

    On the real file: 3,152 projects and 86,964 units. Adding every row's ``Total`` gives
    128,371 (172,297 with the voucher offices' 43,926 listed vouchers); adding every row's
    ``UnitUpper``, 111,688; the rule with one project per record, 97,935 (merging records
    removes 10,971); "the largest row", 86,328 (step 2 adds 636 units to 20 projects). 321
    projects have more than one row (163 merged from 336 records, 158 single records with
    several subsidies); the rule counts fewer units than the naive sum for 311 of them (the
    other 10 are rows of one program whose sizes add up: 6 deed, 3 state, 1 LIHTC), and
    differs from it for 146 one-row projects too, whose assisted units are not the
    property's size. ``units_<group>`` applies the same rule to the project's rows of that
    group; a project in two groups counts in both group columns but once in ``units``.

    What it can get wrong: (a) different programs on *different* homes (a HOME-funded
    phase beside a LIHTC phase, Greenwoods Garden's state and public-housing buildings at
    one point) are undercounted by step 1; (b) one program's rows on the *same* homes
    with different listed sizes are overcounted by step 2; two distinct buildings of one
    program and equal size are undercounted by the cap (two 1-unit deed records at one
    Stamford point count as 1); (c) the "largest program" can be FHA mortgage insurance,
    which restricts no rents (Clemens Place: 583 insured units, 173 under Section 8): 4,251
    of the units come from FHA rows alone, in 58 projects, so ``units`` reads "units in
    assisted properties" there; (d) records that the file's match missed, or that it
    placed at different points, still count twice.

    Location: the coordinates of the project's row with the most units (AHEPA 110 in
    Norwich has two buildings at two points).
    """
    classified = _classify(table)
    rows = classified[classified["program"].notna()].copy()
    if "row_id" in rows:
        rows = rows.sort_values("row_id", kind="stable")
    if merge_matched_records:
        missing = sorted({"merged_project_id", "latitude", "longitude"} - set(rows.columns))
        if missing:
            raise ValueError(f"assisted-housing table: missing column(s) {', '.join(missing)}")
        rows["development"] = _developments(rows)
    else:
        rows["development"] = rows["project_id"]
    grouped = rows.groupby("development", sort=False)
    towns = grouped["town"].nunique()
    if (towns > 1).any():
        development = towns.index[towns > 1][0]
        listed = sorted(rows.loc[rows["development"] == development, "town"].unique())
        raise ValueError(f"project {development}: rows disagree on town ({', '.join(listed)})")

    def distinct(values: pd.Series) -> str | None:
        kept = list(dict.fromkeys(values.dropna()))
        return " / ".join(kept) if kept else None

    located = rows.sort_values("units_upper", ascending=False, kind="stable")
    located = located.drop_duplicates("development").set_index("development")
    result = pd.DataFrame(
        {
            "project_ids": grouped["project_id"].agg(lambda ids: ";".join(dict.fromkeys(ids))),
            "source_records": grouped["project_id"].nunique(),
            "name": grouped["project_name"].agg(distinct),
            "town": grouped["town"].first(),
            "town_as_listed": grouped["town_as_listed"].agg(distinct),
            "county_name": grouped["county_name"].first(),
            "merged_project_id": grouped["merged_project_id"].first(),
        }
    )
    result["latitude"] = located["latitude"]
    result["longitude"] = located["longitude"]
    result["subsidy_rows"] = grouped.size()
    result["programs"] = grouped["program"].agg(lambda keys: ";".join(sorted(set(keys))))
    present = pd.crosstab(rows["development"], rows["program"]) > 0
    present = present.reindex(index=result.index, columns=PROGRAMS, fill_value=False)
    result[PROGRAMS] = present.astype(bool)
    result["units"] = _deduplicated_units(rows)
    for group in GROUPS:
        in_group = _deduplicated_units(rows[rows["program_group"] == group])
        result[f"units_{group}"] = in_group.reindex(result.index, fill_value=0).astype("int64")
    result["units_summed_over_rows"] = grouped["total_units"].sum()
    result = result.rename_axis("project_id").reset_index()
    changed = result["units"] != result["units_summed_over_rows"]
    log.info(
        "%d projects from %d records (%d tenant-based voucher rows left out): %d units, %d if "
        "every row's Total were added; the rule changes %d projects",
        len(result),
        int(result["source_records"].sum()),
        int(classified["program"].isna().sum()),
        int(result["units"].sum()),
        int(result["units_summed_over_rows"].sum()),
        int(changed.sum()),
    )
    return result


def voucher_offices(table: pd.DataFrame) -> pd.DataFrame:
    """The tenant-based (Housing Choice) voucher rows: where a housing authority is, and how
    many vouchers it administers. The vouchers' households live anywhere, so these rows
    are not homes and stay out of :func:`projects`.

    Columns: ``project_id``, ``name``, ``town``, ``town_as_listed``, ``county_name``,
    ``latitude``, ``longitude``, ``vouchers`` (the file's ``UnitUpper``; ``Total`` agrees
    but for one row), ``row_id`` where the table has it. Four of the 49 rows in the real
    file name a building in New Haven (e.g. "Seabury Cooperative") rather than "Section 8
    Vouchers"; the subclass, not the name, decides.
    """
    classified = _classify(table)
    offices = classified[
        (classified["subsidy_class"] == VOUCHER_CLASS) & classified["program"].isna()
    ]
    columns = {
        "project_id": "project_id",
        "project_name": "name",
        "town": "town",
        "town_as_listed": "town_as_listed",
        "county_name": "county_name",
        "latitude": "latitude",
        "longitude": "longitude",
        "units_upper": "vouchers",
        "row_id": "row_id",
    }
    kept = {old: new for old, new in columns.items() if old in offices}
    return offices[list(kept)].rename(columns=kept).reset_index(drop=True)


def assign_tracts(
    projects: pd.DataFrame, tracts: gpd.GeoDataFrame, *, snap_tolerance_m: float = 200.0
) -> gpd.GeoDataFrame:
    """Place each project's point (WGS84 ``latitude``/``longitude``) in a tract of ``tracts``
    (a projected CRS in metres), adding ``geoid``, ``town_geoid`` and ``tract_town_name``.

    Every project is kept, with ``location`` one of :data:`LOCATIONS`:

    - ``in_tract``: the point lies in (or on the edge of) a tract polygon; on a shared edge
      the lower GEOID wins.
    - ``snapped``: the point is off every polygon but within ``snap_tolerance_m`` of one, and
      takes the nearest tract. Cartographic (1:500k) boundary files generalise the shore, so
      a building at the water's edge can fall a few tens of metres into the Sound; 200 m is
      about a city block, well under a tract's width, and far less than the error of a point
      geocoded to the wrong town.
    - ``outside_tracts``: off every polygon by more than the tolerance (in the water, out of
      state, or wrongly geocoded); no tract.
    - ``no_coordinates``: no point; no tract.

    ``distance_to_tract_m`` is 0 in a tract and the distance to the nearest tract otherwise.
    ``town_matches_tract`` compares the project's ``town`` with the tract's town name, case
    and spacing ignored; ``listed_town_matches_tract`` does the same for ``town_as_listed``
    where that names a town of ``tracts`` (villages such as Niantic cannot be compared and
    stay missing). Both are missing without a tract. The projects with a problem are
    logged (logger ``housing_segregation.assisted``) and listed by
    :func:`location_problems`.
    """
    required = {"project_id", "latitude", "longitude", "town"}
    missing = sorted(required - set(projects.columns))
    if missing:
        raise ValueError(f"projects: missing column(s) {', '.join(missing)}")
    if projects["project_id"].duplicated().any():
        repeated = projects.loc[projects["project_id"].duplicated(), "project_id"].iloc[0]
        raise ValueError(f"projects: project {repeated} appears twice")
    missing = sorted({"geoid", "town_geoid", "town_name", "geometry"} - set(tracts.columns))
    if missing:
        raise ValueError(f"tracts: missing column(s) {', '.join(missing)}")
    if tracts.crs is None or not tracts.crs.is_projected:
        raise ValueError(f"tracts: need a projected CRS in metres, found {tracts.crs}")
    if not math.isfinite(snap_tolerance_m) or snap_tolerance_m < 0:
        raise ValueError(f"snap_tolerance_m must be a distance >= 0, found {snap_tolerance_m}")

    shapes = tracts[["geoid", "town_geoid", "town_name", "geometry"]].rename(
        columns={"town_name": "tract_town_name"}
    )
    shapes = shapes.sort_values("geoid", ignore_index=True)
    has_point = projects["latitude"].notna() & projects["longitude"].notna()
    points = gpd.GeoSeries(
        gpd.points_from_xy(projects["longitude"], projects["latitude"]),
        index=projects.index,
        crs="EPSG:4326",
    ).to_crs(tracts.crs)
    points[~has_point] = None
    assigned = gpd.GeoDataFrame(projects.copy(), geometry=points, crs=tracts.crs)
    for column in ("geoid", "town_geoid", "tract_town_name"):
        assigned[column] = pd.Series(pd.NA, index=assigned.index, dtype=object)
    assigned["location"] = np.where(has_point, "outside_tracts", "no_coordinates")
    assigned["distance_to_tract_m"] = np.nan

    candidates = assigned.loc[has_point, ["geometry"]]
    inside = gpd.sjoin(candidates, shapes, how="inner", predicate="intersects")
    inside = inside.sort_values("geoid", kind="stable")
    inside = inside[~inside.index.duplicated(keep="first")]
    _take(assigned, inside, "in_tract")
    assigned.loc[inside.index, "distance_to_tract_m"] = 0.0

    off = candidates.loc[~candidates.index.isin(inside.index)]
    if not off.empty:
        nearest = gpd.sjoin_nearest(
            off, shapes, how="inner", distance_col="distance_to_tract_m"
        ).sort_values(["distance_to_tract_m", "geoid"], kind="stable")
        nearest = nearest[~nearest.index.duplicated(keep="first")]
        assigned.loc[nearest.index, "distance_to_tract_m"] = nearest["distance_to_tract_m"]
        _take(assigned, nearest[nearest["distance_to_tract_m"] <= snap_tolerance_m], "snapped")

    located = assigned["geoid"].notna()
    tract_town = assigned["tract_town_name"].where(located).map(_town_key, na_action="ignore")
    assigned["town_matches_tract"] = _compare(assigned["town"].map(_town_key), tract_town)
    known_towns = set(shapes["tract_town_name"].map(_town_key))
    if "town_as_listed" in assigned:
        listed = assigned["town_as_listed"].map(_town_key, na_action="ignore")
        listed = listed.where(listed.isin(known_towns))
    else:
        listed = pd.Series(pd.NA, index=assigned.index, dtype=object)
    assigned["listed_town_matches_tract"] = _compare(listed, tract_town)

    problems = location_problems(assigned)
    counts = assigned["location"].value_counts()
    log.info(
        "%d projects: %d in a tract, %d snapped within %g m, %d outside every tract, "
        "%d without coordinates; %d whose town differs from the tract's, %d whose listed "
        "town differs",
        len(assigned),
        counts.get("in_tract", 0),
        counts.get("snapped", 0),
        snap_tolerance_m,
        counts.get("outside_tracts", 0),
        counts.get("no_coordinates", 0),
        int((assigned["town_matches_tract"] == False).sum()),  # noqa: E712 (nullable)
        int((assigned["listed_town_matches_tract"] == False).sum()),  # noqa: E712
    )
    for problem in problems.to_dict("records"):
        log.warning(
            "project %s (%s, %s): %s",
            problem["project_id"],
            problem.get("name"),
            problem["town"],
            problem["problem"],
        )
    return assigned


def _take(assigned: gpd.GeoDataFrame, matches: pd.DataFrame, location: str) -> None:
    for column in ("geoid", "town_geoid", "tract_town_name"):
        assigned.loc[matches.index, column] = matches[column].astype(object)
    assigned.loc[matches.index, "location"] = location


def _town_key(name: str) -> str:
    return " ".join(str(name).split()).casefold()


def _compare(left: pd.Series, right: pd.Series) -> pd.Series:
    both = left.notna() & right.notna()
    return (left == right).astype("boolean").where(both, pd.NA)


def location_problems(assigned: pd.DataFrame) -> pd.DataFrame:
    """The projects of :func:`assign_tracts` worth a look, one row per project and problem:
    ``project_id``, ``name``, ``town``, ``location``, ``geoid``, ``tract_town_name``,
    ``distance_to_tract_m``, ``units`` (where present) and ``problem`` (``no_coordinates``,
    ``outside_tracts``, ``snapped``, ``town_mismatch`` or ``listed_town_mismatch``)."""
    checks = {
        "no_coordinates": assigned["location"] == "no_coordinates",
        "outside_tracts": assigned["location"] == "outside_tracts",
        "snapped": assigned["location"] == "snapped",
        "town_mismatch": assigned["town_matches_tract"].eq(False).fillna(False),
        "listed_town_mismatch": assigned["listed_town_matches_tract"].eq(False).fillna(False),
    }
    columns = [
        c
        for c in (
            "project_id",
            "name",
            "town",
            "town_as_listed",
            "location",
            "geoid",
            "tract_town_name",
            "distance_to_tract_m",
            "units",
        )
        if c in assigned
    ]
    parts = [
        pd.DataFrame(assigned.loc[flags.astype(bool), columns]).assign(problem=problem)
        for problem, flags in checks.items()
    ]
    return pd.concat(parts, ignore_index=True)


#: Projects at one exact point from which the point is more likely an office or a
#: portfolio's address than a building (e.g. nine Bridgeport projects, 1,438 units, at one
#: point): their tract is uncertain.
SHARED_POINT_PROJECTS = 5


def shared_points(projects: pd.DataFrame) -> pd.Series:
    """For each project, how many projects of the table sit at its exact coordinates (1 for
    a point of its own; missing coordinates count as their own point)."""
    key = projects["latitude"].astype(str) + "," + projects["longitude"].astype(str)
    return key.map(key.value_counts()).where(projects["latitude"].notna(), 1).astype(int)


def at_shared_point(projects: pd.DataFrame) -> pd.Series:
    """Whether each project sits at a point shared by :data:`SHARED_POINT_PROJECTS` or more
    projects of the table."""
    return shared_points(projects) >= SHARED_POINT_PROJECTS


def units_by_tract(assigned: pd.DataFrame, tracts: pd.DataFrame, *, year: int) -> pd.DataFrame:
    """Assisted units per tract: one row for every tract of ``tracts``, zero where the file
    lists no project (the file lists every project, so zero is a real zero).

    Columns: ``year``, ``geography_level`` (``"tract"``), ``geoid``, ``assisted_projects``,
    ``assisted_units_total`` (each project's ``units`` once),
    ``assisted_units_at_shared_points`` (the part of that total at points shared by
    :data:`SHARED_POINT_PROJECTS` or more projects: likely office addresses, so their tract
    is uncertain), and ``assisted_units_<group>``
    for each of :data:`GROUPS` (each project's ``units_<group>``). A project in two groups
    (a LIHTC building with a Section 8 contract) counts in both group columns but once in
    the total, so the group columns can add up to more than the total.

    Projects without a tract (``geoid`` missing: no coordinates, or outside every tract) are
    counted nowhere; their number and units are logged. A ``geoid`` that is not in
    ``tracts`` raises naming it.
    """
    unit_columns = ["units", *(f"units_{group}" for group in GROUPS)]
    missing = [c for c in ("project_id", "geoid", *unit_columns) if c not in assigned.columns]
    if missing:
        raise ValueError(f"assigned projects: missing column(s) {', '.join(missing)}")
    if "geoid" not in tracts.columns:
        raise ValueError("tracts: missing column geoid")
    if assigned["project_id"].duplicated().any():
        repeated = assigned.loc[assigned["project_id"].duplicated(), "project_id"].iloc[0]
        raise ValueError(f"assigned projects: project {repeated} appears twice")
    geoids = pd.Index(tracts["geoid"].astype(str)).sort_values()
    if geoids.duplicated().any():
        raise ValueError(f"tracts: duplicate geoid {geoids[geoids.duplicated()][0]}")
    placed = pd.DataFrame(assigned.loc[assigned["geoid"].notna()])
    unknown = sorted(set(placed["geoid"].astype(str)) - set(geoids))
    if unknown:
        raise ValueError(f"assigned projects: tract {unknown[0]} is not among the tracts")
    unplaced = assigned["geoid"].isna()
    if unplaced.any():
        log.warning(
            "%d projects (%d units) have no tract and are not counted",
            int(unplaced.sum()),
            int(assigned.loc[unplaced, "units"].sum()),
        )
    placed["geoid"] = placed["geoid"].astype(str)
    sums = placed.groupby("geoid")[unit_columns].sum()
    counts = placed.groupby("geoid").size()
    result = pd.DataFrame(index=geoids.rename("geoid"))
    result["assisted_projects"] = counts.reindex(geoids, fill_value=0).to_numpy()
    result["assisted_units_total"] = sums["units"].reindex(geoids, fill_value=0).to_numpy()
    stacked = placed[at_shared_point(placed)]
    result["assisted_units_at_shared_points"] = (
        stacked.groupby("geoid")["units"].sum().reindex(geoids, fill_value=0).to_numpy()
    )
    for group in GROUPS:
        result[f"assisted_units_{group}"] = (
            sums[f"units_{group}"].reindex(geoids, fill_value=0).to_numpy()
        )
    result = result.astype("int64").reset_index()
    result.insert(0, "geography_level", "tract")
    result.insert(0, "year", int(year))
    return result
